// The console's pure functions under node --test: test/*.test.ts are bundled with esbuild (each with the
// sources it imports) into a temporary directory and run there.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'mbox-web-test-'));
try {
  const tests = readdirSync(here).filter((f) => f.endsWith('.test.ts'));
  await build({ entryPoints: tests.map((f) => join(here, f)), outdir: out, bundle: true, platform: 'node', format: 'esm', outExtension: { '.js': '.mjs' }, logLevel: 'warning' });
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=dot', ...tests.map((f) => join(out, f.replace(/\.ts$/, '.mjs')))], { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
