// A task's end and its exit code, from its status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFinal, resultOf } from '../../dist/index.js';

const task = (status) => ({ metadata: { name: 't' }, spec: { sandboxRef: { name: 'b' }, command: ['true'] }, status });

test('the final phases', () => {
  for (const p of ['Succeeded', 'Failed', 'Canceled', 'TimedOut']) assert.ok(isFinal(task({ phase: p })), p);
  for (const p of ['Pending', 'Running', undefined]) assert.ok(!isFinal(task({ phase: p })), String(p));
  assert.ok(!isFinal(task(undefined)));
});

test('the result keeps the exit code and the reason', () => {
  const r = resultOf(task({ phase: 'Failed', reason: 'NonZeroExitCode', exitCode: 3, message: 'exit code 3' }));
  assert.equal(r.phase, 'Failed');
  assert.equal(r.exitCode, 3);
  assert.equal(r.reason, 'NonZeroExitCode');
  assert.equal(resultOf(task({ phase: 'Canceled' })).exitCode, undefined);
});
