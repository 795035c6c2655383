// The decisions of a watch: what an event does, what a relist sends, how the stream is cut into events.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { GoneError, MboxApiError, ndjson, relistEvents, stepFor } from '../../dist/index.js';
import { StreamPace, listAll } from '../../dist/watch.js';

const obj = (name, rv) => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

test('an event is emitted and moves the version on', () => {
  assert.deepEqual(stepFor({ type: 'MODIFIED', object: obj('a', '12') }, '10'), {
    kind: 'emit',
    event: { type: 'MODIFIED', object: obj('a', '12') },
    resourceVersion: '12',
  });
});

test('a bookmark moves the version on without an event', () => {
  assert.deepEqual(stepFor({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '40' } } }, '10'), { kind: 'bookmark', resourceVersion: '40' });
});

test('410 Gone, as a code or as a reason, relists', () => {
  assert.deepEqual(stepFor({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' } }, '1'), { kind: 'relist' });
  assert.deepEqual(stepFor({ type: 'ERROR', object: { status: 'Failure', reason: 'Gone' } }, '1'), { kind: 'relist' });
  assert.ok(new GoneError({}) instanceof MboxApiError);
});

test('another error ends the watch with its typed error', () => {
  const s = stepFor({ type: 'ERROR', object: { status: 'Failure', code: 403, reason: 'Forbidden', message: 'no' } }, '1');
  assert.equal(s.kind, 'fail');
  assert.equal(s.error.code, 403);
  assert.equal(stepFor({ type: 'WHAT', object: {} }, '1').kind, 'fail');
});

test('a relist sends what changed since the objects known', () => {
  const known = new Map([
    ['ns/a', obj('a', '1')],
    ['ns/b', obj('b', '2')],
    ['ns/c', obj('c', '3')],
  ]);
  const evs = relistEvents(known, [obj('a', '1'), obj('b', '5'), obj('d', '6')]);
  assert.deepEqual(
    evs.map((e) => `${e.type} ${e.object.metadata.name}`),
    ['MODIFIED b', 'ADDED d', 'DELETED c'],
  );
  assert.equal(evs[2].object.metadata.resourceVersion, '3', 'a deletion carries the object as last known');
  assert.deepEqual(
    relistEvents(new Map(), [obj('x', '1')]).map((e) => e.type),
    ['ADDED'],
    'the first list: everything is ADDED',
  );
});

test('a watch answer is cut into events at newlines, whatever the chunks', async () => {
  const text = '{"type":"ADDED","object":{"a":1}}\n{"type":"DELE' + 'TED","object":{"a":2}}\n\n{"type":"MODIFIED","object":{"a":3}}';
  const chunks = [text.slice(0, 5), text.slice(5, 40), text.slice(40)];
  const got = [];
  for await (const ev of ndjson(Readable.from(chunks.map((c) => Buffer.from(c))))) got.push(ev.type);
  assert.deepEqual(got, ['ADDED', 'DELETED', 'MODIFIED']);
  await assert.rejects(async () => {
    for await (const _ of ndjson(Readable.from([Buffer.from('x'.repeat(100))]), 10));
  }, /longer than 10 bytes/);
});

test('a character whose bytes two chunks split is decoded whole', async () => {
  const line = Buffer.from('{"type":"ADDED","object":{"name":"héllo – 世界 🙂"}}\n');
  // cut inside each multi-byte character in turn
  for (const cut of [line.indexOf(0xc3) + 1, line.indexOf(0xe2) + 1, line.indexOf(0xe4) + 2, line.indexOf(0xf0) + 3]) {
    const got = [];
    for await (const ev of ndjson(Readable.from([line.subarray(0, cut), line.subarray(cut)]))) got.push(ev.object.name);
    assert.deepEqual(got, ['héllo – 世界 🙂'], `cut at byte ${cut}`);
  }
});

test("a list is read to its end, page by page, with the first page's version", async () => {
  const pages = {
    '': { metadata: { resourceVersion: '100', continue: 'p2' }, items: [obj('a', '1'), obj('b', '2')] },
    p2: { metadata: { resourceVersion: '100', continue: 'p3' }, items: [obj('c', '3')] },
    p3: { metadata: { resourceVersion: '105' }, items: [obj('d', '4')] },
  };
  const asked = [];
  const got = await listAll(async (token) => {
    asked.push(token ?? '');
    return pages[token ?? ''];
  });
  assert.deepEqual(asked, ['', 'p2', 'p3']);
  assert.deepEqual(got.items.map((i) => i.metadata.name), ['a', 'b', 'c', 'd']);
  assert.equal(got.resourceVersion, '100', "the first page's version: the snapshot every page is of");
  // the relist difference is against the whole list, not its first page
  const known = new Map([['ns/d', obj('d', '4')], ['ns/e', obj('e', '5')]]);
  assert.deepEqual(relistEvents(known, got.items).map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED a', 'ADDED b', 'ADDED c', 'DELETED e']);
});

test('a list whose continue token expired is read again from its first page; other errors end it', async () => {
  let firsts = 0;
  let expired = false;
  const got = await listAll(async (token) => {
    if (!token) {
      firsts++;
      return { metadata: { resourceVersion: String(firsts * 10), continue: 'next' }, items: [obj('a', '1')] };
    }
    if (!expired) {
      expired = true;
      throw new GoneError({ status: 'Failure', code: 410, reason: 'Expired', message: 'the continue token expired' });
    }
    return { metadata: {}, items: [obj('b', '2')] };
  });
  assert.equal(firsts, 2);
  assert.deepEqual([got.resourceVersion, got.items.length], ['20', 2]);
  await assert.rejects(
    listAll(async (token) => {
      if (token) throw new MboxApiError({ status: 'Failure', code: 500, message: 'boom' });
      return { metadata: { continue: 'x' }, items: [] };
    }),
    /boom/,
  );
  await assert.rejects(
    listAll(async (token) => {
      if (token) throw new GoneError({ status: 'Failure', code: 410, message: 'always' });
      return { metadata: { continue: 'x' }, items: [] };
    }),
    GoneError,
    'a token that keeps expiring ends the list',
  );
});

test('streams the server ends at once with nothing in them are waited for longer and longer', () => {
  const pace = new StreamPace();
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => pace.ended(0, 5)), [500, 1000, 2000, 4000, 5000, 5000]);
  assert.equal(pace.ended(1, 5), 0, 'a stream with an event (a bookmark too) starts over');
  assert.equal(pace.ended(0, 5), 500);
  assert.equal(pace.ended(0, 300_000), 0, 'a stream that lasted (its timeout) is no quick end');
});
