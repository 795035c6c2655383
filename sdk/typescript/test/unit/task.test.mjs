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

test("a task's merged output reads its streams no faster than its reader takes the chunks", async () => {
  const { Readable } = await import('node:stream');
  const { merge } = await import('../../dist/task.js');
  const pulled = { stdout: 0, stderr: 0 };
  const source = (stream, n) =>
    // a small buffer of its own, as a socket's is small beside what a server can send
    new Readable({
      highWaterMark: 64,
      read() {
        if (pulled[stream] === n) return this.push(null);
        pulled[stream]++;
        this.push(Buffer.from(`${stream} ${pulled[stream]}\n`));
      },
    });
  const it = merge([
    { stream: 'stdout', body: source('stdout', 5000) },
    { stream: 'stderr', body: source('stderr', 5000) },
  ]);
  const first = await it.next();
  assert.equal(first.done, false);
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  const held = pulled.stdout + pulled.stderr;
  assert.ok(held < 100, `${held} chunks read for a reader that took one`);
  // and all of it comes as the reader takes it, in each stream's order
  const seen = { stdout: [first.value.data.toString()].filter(() => first.value.stream === 'stdout'), stderr: [first.value.data.toString()].filter(() => first.value.stream === 'stderr') };
  for await (const c of it) seen[c.stream].push(c.data.toString());
  assert.equal(seen.stdout.length, 5000);
  assert.equal(seen.stderr.length, 5000);
  assert.equal(seen.stdout[4999], 'stdout 5000\n');
});
