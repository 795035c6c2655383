// Tasks: runTask, its output as it comes, its exit code, cancel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dev, runningSandbox } from './env.mjs';

test('runTask: the output of both streams and the exit code', async (t) => {
  const sb = await runningSandbox(t, 'task');
  const h = await dev.runTask(sb.metadata.name, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.match(h.name, new RegExp(`^${sb.metadata.name}-`), 'named after the sandbox');
  const r = await h.collect();
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal(r.phase, 'Failed');
  assert.equal(r.reason, 'NonZeroExitCode');
  assert.equal(r.exitCode, 3);
  assert.equal(h.exitCode, 3);
  const ok = await dev.runTask(sb.metadata.name, ['true'], { name: `${sb.metadata.name}-true` });
  assert.equal((await ok.wait()).exitCode, 0);
  assert.equal(ok.name, `${sb.metadata.name}-true`);
});

test('the output comes while the task runs', async (t) => {
  const sb = await runningSandbox(t, 'slow');
  const h = await dev.runTask(sb.metadata.name, ['sh', '-c', 'echo first; sleep 3; echo second']);
  let text = '';
  for await (const c of h.output()) {
    if (!text) {
      const phase = (await dev.getTask(h.name)).status.phase;
      assert.equal(phase, 'Running', 'the first output arrived while the task ran');
    }
    text += c.data.toString();
  }
  assert.equal(text, 'first\nsecond\n');
  assert.equal((await h.wait()).phase, 'Succeeded');
});

test('cancel kills a running task', async (t) => {
  const sb = await runningSandbox(t, 'cancel');
  const h = await dev.runTask(sb.metadata.name, ['sleep', '60']);
  await dev.waitFor(await dev.tasksPath(), h.name, (x) => x.status?.phase === 'Running', { timeoutMs: 60_000 });
  const start = Date.now();
  await h.cancel();
  const r = await h.wait({ timeoutMs: 60_000 });
  assert.equal(r.phase, 'Canceled');
  assert.equal(r.exitCode, undefined);
  assert.ok(Date.now() - start < 30_000, 'long before the command would have ended');
});

test('an AbortSignal ends a task wait', async (t) => {
  const sb = await runningSandbox(t, 'tabort');
  const h = await dev.runTask(sb.metadata.name, ['sleep', '30']);
  t.after(() => h.cancel().catch(() => undefined));
  await assert.rejects(h.wait({ signal: AbortSignal.timeout(500) }), { name: 'TimeoutError' });
});
