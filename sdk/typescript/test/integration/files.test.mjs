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
