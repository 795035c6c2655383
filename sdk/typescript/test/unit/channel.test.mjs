// The v5.channel.k8s.io framing of exec and terminal sessions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { channel } from '../../dist/index.js';

test('a frame is the channel byte, then the payload', () => {
  assert.deepEqual([...channel.encodeFrame(0, 'ls\n')], [0, 0x6c, 0x73, 0x0a]);
  assert.deepEqual([...channel.encodeFrame(1, new Uint8Array([0, 255]))], [1, 0, 255]);
  const f = channel.decodeFrame(Buffer.from([2, 0x65, 0x72, 0x72]));
  assert.equal(f.channel, 2);
  assert.equal(f.data.toString(), 'err');
  assert.equal(channel.decodeFrame(Buffer.alloc(0)), null);
  assert.equal(channel.decodeFrame(Buffer.from([1])).data.length, 0, 'the ready frame: stdout, empty');
});

test('resize is channel 4 with Width and Height', () => {
  const f = channel.resizeFrame(132, 43);
  assert.equal(f[0], 4);
  assert.deepEqual(JSON.parse(f.subarray(1).toString()), { Width: 132, Height: 43 });
  assert.throws(() => channel.resizeFrame(0, 10), RangeError);
  assert.throws(() => channel.resizeFrame(80.5, 10), RangeError);
});

test('closing stdin is [255, 0]', () => {
  assert.deepEqual([...channel.closeStdinFrame()], [255, 0]);
});

test('the exit code from the channel 3 Status', () => {
  assert.deepEqual(channel.exitCodeFromStatus({ metadata: {}, status: 'Success' }), { exitCode: 0 });
  assert.deepEqual(
    channel.exitCodeFromStatus({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      message: 'command terminated with non-zero exit code: command terminated with exit code 3',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    }),
    { exitCode: 3 },
  );
  const other = { status: 'Failure', reason: 'InternalError', code: 500, message: 'container not running' };
  assert.deepEqual(channel.exitCodeFromStatus(other), { error: other });
  const noCause = { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [] } };
  assert.ok('error' in channel.exitCodeFromStatus(noCause), 'NonZeroExitCode without its cause is an error');
});
