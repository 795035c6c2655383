// Sandboxes through the SDK: create and wait (a watch), stop, start, delete; watches that resume and
// relist; a wait that an AbortSignal ends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dev, runningSandbox, uniqueName } from './env.mjs';

test('createSandbox with waitUntilRunning returns it Running; stop, start and delete wait too', async (t) => {
  const sb = await runningSandbox(t, 'life');
  const name = sb.metadata.name;
  assert.equal(sb.status.phase, 'Running');
  assert.ok(sb.status.podName, 'a pod');
  assert.equal(sb.status.template.name, 'box', "the project's default template");
  const stopped = await dev.stopSandbox(name, { wait: true, timeoutMs: 60_000 });
  assert.equal(stopped.status.phase, 'Stopped');
  const started = await dev.startSandbox(name, { wait: true, timeoutMs: 60_000 });
  assert.equal(started.status.phase, 'Running');
  await dev.deleteSandbox(name, { wait: true, timeoutMs: 60_000 });
  const names = (await dev.listSandboxes()).items.map((s) => s.metadata.name);
  assert.ok(!names.includes(name), 'gone from the list');
});

test('deleteSandbox with wait returns once each is gone, however fast it goes', async (t) => {
  const names = await Promise.all([1, 2, 3, 4, 5].map(async () => (await runningSandbox(t, 'gone')).metadata.name));
  await Promise.all(names.map((n) => dev.deleteSandbox(n, { wait: true, timeoutMs: 30_000 })));
  const left = (await dev.listSandboxes()).items.map((s) => s.metadata.name);
  assert.deepEqual(names.filter((n) => left.includes(n)), [], 'all gone');
});

test('an AbortSignal ends a wait at once', async (t) => {
  const sb = await runningSandbox(t, 'abort');
  const ac = new AbortController();
  const start = Date.now();
  setTimeout(() => ac.abort(), 300);
  await assert.rejects(dev.waitForSandboxPhase(sb.metadata.name, 'Stopped', { signal: ac.signal }), { name: 'AbortError' });
  assert.ok(Date.now() - start < 5000, `the wait ended ${Date.now() - start} ms after it started`);
  // a signal aborted before the call: nothing is sent
  await assert.rejects(dev.getSandbox(sb.metadata.name, { signal: AbortSignal.abort() }), { name: 'AbortError' });
});

test('a watch from a version too old lists again (410 Gone) and goes on', async (t) => {
  const first = await runningSandbox(t, 'w1');
  const ac = new AbortController();
  t.after(() => ac.abort());
  let relists = 0;
  const events = dev.watchSandboxes({ resourceVersion: '1', signal: ac.signal, onRelist: () => relists++ });
  const seen = [];
  const second = uniqueName('w2');
  for await (const ev of events) {
    seen.push(`${ev.type} ${ev.object.metadata.name}`);
    if (ev.object.metadata.name === first.metadata.name && seen.length === 1) {
      assert.equal(ev.type, 'ADDED', 'after the relist, the sandboxes there are come as ADDED');
      t.after(() => dev.deleteSandbox(second).catch(() => undefined));
      await dev.createSandbox(second);
    }
    if (ev.object.metadata.name === second) break;
  }
  assert.equal(relists, 1, 'one relist, for the 410');
  assert.ok(seen.includes(`ADDED ${second}`), `the sandbox created after the relist: ${seen.join(', ')}`);
});

test('a watch the server ends resumes from the last version it saw', async (t) => {
  const ac = new AbortController();
  t.after(() => ac.abort());
  let relists = 0;
  const name = uniqueName('resume');
  // only this test's sandbox: the others' come and go meanwhile
  const events = dev.watchSandboxes({ labelSelector: `sdk-test=${name}`, timeoutSeconds: 1, signal: ac.signal, onRelist: () => relists++ });
  // the server ends each watch after a second: the sandbox is created after two of them have ended
  setTimeout(() => dev.createSandbox(name, { labels: { 'sdk-test': name } }).catch(() => undefined), 2500);
  t.after(() => dev.deleteSandbox(name).catch(() => undefined));
  const seen = [];
  for await (const ev of events) {
    seen.push(ev.type);
    if (ev.object.metadata.name === name && ev.type === 'ADDED') break;
  }
  assert.equal(relists, 0, 'resumed, not listed again');
  assert.deepEqual(seen, ['ADDED'], 'nothing before it, and it once');
});
