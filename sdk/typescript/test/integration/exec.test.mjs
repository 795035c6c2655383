// exec: a command in a sandbox over the exec subresource (v5 channels), and the typed errors of the API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError } from '../../dist/index.js';
import { dev, runningSandbox, text, uniqueName, viewer } from './env.mjs';

test('exec: stdout, stderr and the exit code apart; stdin to its end', async (t) => {
  const sb = await runningSandbox(t, 'exec');
  const name = sb.metadata.name;
  const s = await dev.exec(name, ['sh', '-c', 'echo out; echo err >&2; exit 3'], { stdin: false });
  const [out, err, code] = await Promise.all([text(s.stdout), text(s.stderr), s.exitCode]);
  assert.equal(out, 'out\n');
  assert.equal(err, 'err\n');
  assert.equal(code, 3);
  assert.match(s.sessionName ?? '', new RegExp(`^${name}-`), "the session's record");
  const echo = await dev.exec(name, ['echo', 'hello'], { stdin: false });
  assert.deepEqual(await Promise.all([text(echo.stdout), echo.exitCode]), ['hello\n', 0]);
  const cat = await dev.exec(name, ['cat']);
  cat.stdin.end('typed\nlines');
  assert.deepEqual(await Promise.all([text(cat.stdout), cat.exitCode]), ['typed\nlines', 0]);
  // a reader that starts late gets every byte (the socket waits for it)
  const big = await dev.exec(name, ['head', '-c', '3000000', '/dev/zero'], { stdin: false });
  await new Promise((r) => setTimeout(r, 1000));
  let n = 0;
  for await (const c of big.stdout) n += c.length;
  assert.equal(n, 3000000);
  assert.equal(await big.exitCode, 0);
  // the sessions are recorded
  const sessions = await dev.listSessions({ fieldSelector: `spec.sandbox=${name}` });
  assert.ok(sessions.items.length >= 3, `${sessions.items.length} sessions recorded`);
  assert.ok(sessions.items.some((x) => x.spec.kind === 'exec' && x.spec.command?.[0] === 'cat'));
});

test('exec: a fast command always gets its output and exit code (frames sent with the 101)', async (t) => {
  const sb = await runningSandbox(t, 'fast');
  const name = sb.metadata.name;
  for (let i = 0; i < 30; i++) {
    const s = await dev.exec(name, ['echo', 'hello'], { stdin: false });
    assert.deepEqual(await Promise.all([text(s.stdout), s.exitCode]), ['hello\n', 0], `exec ${i + 1} of 30`);
  }
});

test('exec: abort and close end the session; exitCode rejects with the reason; no listener is left', async (t) => {
  const sb = await runningSandbox(t, 'abort');
  const name = sb.metadata.name;
  const ac = new AbortController();
  const s = await dev.exec(name, ['sleep', '30'], { signal: ac.signal });
  const reason = new Error('enough');
  ac.abort(reason);
  await assert.rejects(s.exitCode, (e) => e === reason);
  assert.equal(await text(s.stdout), '', 'stdout ends');
  const c = await dev.exec(name, ['sleep', '30']);
  c.close();
  await assert.rejects(c.exitCode, (e) => e.reason === 'ClientClosed');
  c.stdin.write('after the end goes nowhere');
  // a signal that outlives many sessions keeps no listener of theirs
  const long = new AbortController();
  for (let i = 0; i < 3; i++) {
    const e = await dev.exec(name, ['true'], { stdin: false, signal: long.signal });
    assert.equal(await e.exitCode, 0);
  }
  const { getEventListeners } = await import('node:events');
  assert.equal(getEventListeners(long.signal, 'abort').length, 0, 'the ended sessions removed their abort listeners');
});

test('typed errors: NotFound, Forbidden, Invalid with causes, Conflict', async (t) => {
  await assert.rejects(dev.getSandbox('no-such-sandbox'), (e) => {
    assert.ok(e instanceof NotFoundError, e.name);
    assert.equal(e.code, 404);
    assert.equal(e.reason, 'NotFound');
    return true;
  });
  await assert.rejects(dev.exec('no-such-sandbox', ['true']), NotFoundError);
  await assert.rejects(viewer.createSandbox(uniqueName('viewer')), (e) => {
    assert.ok(e instanceof ForbiddenError, e.name);
    assert.match(e.message, /cannot create resource "sandboxes"/);
    return true;
  });
  await assert.rejects(dev.createSandbox(uniqueName('bad'), { spec: { state: 'Sleeping' } }), (e) => {
    assert.ok(e instanceof InvalidError, e.name);
    assert.equal(e.code, 422);
    assert.ok(e.causes.some((c) => c.field === 'spec.state'), JSON.stringify(e.causes));
    return true;
  });
  const name = uniqueName('twice');
  t.after(() => dev.deleteSandbox(name).catch(() => undefined));
  await dev.createSandbox(name);
  await assert.rejects(dev.createSandbox(name), (e) => e instanceof ConflictError && e.reason === 'AlreadyExists');
  // the viewer reads what the developer made
  assert.equal((await viewer.getSandbox(name)).metadata.name, name);
});
