// The pure functions of src/lib: watch relists, state diffs, exec channel frames, field errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../src/lib/api';
import { decodeFrame, encodeFrame, exitCodeFromStatus, resizeFrame } from '../src/lib/channel';
import { diff } from '../src/lib/diff';
import { errorFor, fieldErrors } from '../src/lib/invalid';
import { relistEvents } from '../src/lib/watch';

const obj = (name: string, rv: string) => ({ metadata: { namespace: 'ns', name, resourceVersion: rv } });

test('a relist sends what changed meanwhile as events', () => {
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
});

test('a diff names each leaf that changed, was added or removed', () => {
  const a = { spec: { state: 'Running', ports: [{ name: 'web' }] }, status: { phase: 'Running', podName: 'p' } };
  const b = { spec: { state: 'Stopped', ports: [] }, status: { phase: 'Stopped', stoppedAt: 't' } };
  assert.deepEqual(diff(a, b), [
    { path: 'spec.ports', after: '[]' },
    { path: 'spec.ports[0].name', before: '"web"', after: undefined },
    { path: 'spec.state', before: '"Running"', after: '"Stopped"' },
    { path: 'status.phase', before: '"Running"', after: '"Stopped"' },
    { path: 'status.podName', before: '"p"', after: undefined },
    { path: 'status.stoppedAt', after: '"t"' },
  ]);
  assert.deepEqual(diff(a, a), []);
});

test('frames carry their channel first; resize is JSON on channel 4', () => {
  assert.deepEqual([...encodeFrame(0, 'hi')], [0, 104, 105]);
  const f = decodeFrame(new Uint8Array([1, 52, 50]).buffer);
  assert.equal(f?.channel, 1);
  assert.equal(new TextDecoder().decode(f?.data), '42');
  assert.equal(decodeFrame(new ArrayBuffer(0)), null);
  assert.equal(new TextDecoder().decode(resizeFrame(80, 24).subarray(1)), '{"Width":80,"Height":24}');
});

test('the exit code of the status channel', () => {
  assert.deepEqual(exitCodeFromStatus({ status: 'Success' }), { exitCode: 0 });
  assert.deepEqual(
    exitCodeFromStatus({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } }),
    { exitCode: 3 },
  );
  const err = { status: 'Failure' as const, reason: 'InternalError', message: 'boom' };
  assert.deepEqual(exitCodeFromStatus(err), { error: err });
});

test('an Invalid Status is read field by field', () => {
  const e = new ApiError({
    status: 'Failure',
    code: 422,
    reason: 'Invalid',
    details: { causes: [{ field: 'spec.image', message: 'required' }, { field: 'spec.lifecycle.idleTimeout', message: 'bad duration' }, { message: 'general' }] },
  });
  const errs = fieldErrors(e);
  assert.equal(errorFor(errs, 'spec.image'), 'required');
  assert.equal(errorFor(errs, 'spec.lifecycle'), 'bad duration');
  assert.equal(errorFor(errs, 'spec.ports'), undefined);
  assert.equal(errs[''], 'general');
  assert.deepEqual(fieldErrors(new Error('x')), {});
});
