// The checked-in types are what scripts/gen-types.mjs makes from the CRDs now.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

test('src/generated/crds.ts is current with crds/*.yaml', () => {
  const script = fileURLToPath(new URL('../../scripts/gen-types.mjs', import.meta.url));
  const out = execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  assert.match(out, /current/);
});
