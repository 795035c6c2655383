// The decisions of a watch: what an event does, what a relist sends, how the stream is cut into events.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { GoneError, MboxApiError, ndjson, relistEvents, stepFor } from '../../dist/index.js';

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
