// Files of a sandbox: write, read and list, as streams; a terminal typed into and resized.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { NotFoundError } from '../../dist/index.js';
import { dev, runningSandbox, text, viewer, workdir } from './env.mjs';

test('writeFile, readFile and listFiles', async (t) => {
  const sb = await runningSandbox(t, 'files');
  const name = sb.metadata.name;
  const dir = await workdir(name);
  const created = await dev.writeFile(name, `${dir}/a.txt`, 'hello\n', { mode: '0640' });
  assert.equal(created.code, 201, 'a new file');
  assert.equal(await text(await dev.readFile(name, `${dir}/a.txt`)), 'hello\n');
  const big = Buffer.alloc(300_000, 'x');
  await dev.writeFile(name, `${dir}/b.bin`, Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]));
  assert.equal((await text(await dev.readFile(name, `${dir}/b.bin`))).length, big.length, 'a file written from a stream');
  const list = await viewer.listFiles(name, dir);
  const a = list.items.find((i) => i.name === 'a.txt');
  assert.deepEqual([a.type, a.size, a.mode], ['file', 6, '0640']);
  assert.ok(list.items.some((i) => i.name === 'b.bin' && i.size === big.length));
  await assert.rejects(dev.readFile(name, `${dir}/nope`), (e) => e instanceof NotFoundError && /not found in sandbox/.test(e.message));
  await dev.deleteFile(name, `${dir}/a.txt`);
  assert.ok(!(await dev.listFiles(name, dir)).items.some((i) => i.name === 'a.txt'), 'removed');
});

/** Reads from the terminal until its output matches re (the shell echoes what is typed, and its prompt
 * may come before an answer on the same line). */
function until(term, re) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      term.off('data', onData);
      reject(new Error(`timed out waiting for ${re}; the terminal showed: ${JSON.stringify(seen)}`));
    }, 20_000);
    const onData = (d) => {
      seen += d.toString();
      if (re.test(seen)) {
        clearTimeout(timer);
        term.off('data', onData);
        resolve(seen);
      }
    };
    term.on('data', onData);
  });
}

test('openTerminal: a command typed and its output; resize; the shell exit code', async (t) => {
  const sb = await runningSandbox(t, 'term');
  const term = await dev.openTerminal(sb.metadata.name, { columns: 80, rows: 24 });
  t.after(() => term.close());
  term.write('echo $((6*7))\n');
  await until(term, /(^|\s)42\r?\n/);
  term.write('stty size\n');
  await until(term, /(^|\s)24 80\r?\n/);
  await term.resize(100, 40);
  term.write('stty size\n');
  await until(term, /(^|\s)40 100\r?\n/);
  term.write('exit 5\n');
  assert.equal(await term.exitCode, 5);
});

/** p, or a failure naming what did not happen within 20 s. */
function within(p, what) {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), 20_000)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

test('openTerminal: abort, close and destroy end it without an error event', async (t) => {
  const sb = await runningSandbox(t, 'termend');
  const name = sb.metadata.name;
  const errors = [];
  const ac = new AbortController();
  const term = await dev.openTerminal(name, { signal: ac.signal });
  term.on('error', (e) => errors.push(e));
  term.write('echo $((6*7))\n');
  await until(term, /(^|\s)42\r?\n/);
  const reason = new Error('user left');
  ac.abort(reason);
  await within(assert.rejects(term.exitCode, (e) => e === reason), 'exitCode after the abort');
  // no listener for 'error' on these two: an error event would end this process
  const closed = await dev.openTerminal(name);
  closed.resume();
  closed.close();
  await within(assert.rejects(closed.exitCode, (e) => e.reason === 'ClientClosed'), 'exitCode after close()');
  const destroyed = await dev.openTerminal(name);
  destroyed.destroy();
  await within(assert.rejects(destroyed.exitCode, (e) => e.reason === 'ClientClosed'), 'exitCode after destroy()');
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(errors, [], 'no error event');
});

test("openTerminal: end() closes the terminal's input, not the session", async (t) => {
  const sb = await runningSandbox(t, 'termeof');
  const term = await dev.openTerminal(sb.metadata.name);
  t.after(() => term.close());
  term.write('echo $((6*7))\n');
  term.end();
  // what was typed before the end still runs, and its output still comes
  await until(term, /(^|\s)42\r?\n/);
  // a shell on a TTY reads no end of input from it (that is Ctrl-D): the session stays open
  const settled = await Promise.race([term.exitCode.then((c) => `exit ${c}`, (e) => `rejected ${e.reason}`), new Promise((r) => setTimeout(() => r('open'), 2000))]);
  assert.equal(settled, 'open');
  term.close();
  await within(assert.rejects(term.exitCode, (e) => e.reason === 'ClientClosed'), 'exitCode after close()');
});
