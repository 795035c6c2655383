// The WebSocket framing of pods/exec, protocol v5.channel.k8s.io (also what runtime.mbox.dev's exec and
// terminal speak): each binary message is one channel byte, then its payload.
import type { Status } from './meta.js';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
/** The server's one Status with the exit code. */
export const ERROR = 3;
/** Terminal size, {"Width":W,"Height":H}, client to server. */
export const RESIZE = 4;
/** v5 only: a message [255, ch] closes channel ch (stdin: end of input). */
export const CLOSE = 255;

export const PROTOCOL = 'v5.channel.k8s.io';

/** One message: the channel byte then the payload. */
export function encodeFrame(channel: number, payload: Uint8Array | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  out.set(data, 1);
  return out;
}

/** A message split into its channel and payload; null for an empty message (the server's may be). */
export function decodeFrame(message: Uint8Array): { channel: number; data: Buffer } | null {
  if (message.length === 0) return null;
  const buf = Buffer.isBuffer(message) ? message : Buffer.from(message);
  return { channel: buf[0], data: buf.subarray(1) };
}

/** The resize message for a terminal of columns x rows. */
export function resizeFrame(columns: number, rows: number): Buffer {
  if (!Number.isInteger(columns) || !Number.isInteger(rows) || columns < 1 || rows < 1 || columns > 65535 || rows > 65535)
    throw new RangeError(`a terminal size is two whole numbers from 1 to 65535, not ${columns}x${rows}`);
  return encodeFrame(RESIZE, JSON.stringify({ Width: columns, Height: rows }));
}

/** The v5 message that ends stdin. */
export function closeStdinFrame(): Buffer {
  return Buffer.from([CLOSE, STDIN]);
}

/**
 * The exit code the channel 3 Status carries, as client-go reads it: Success is 0, a Failure with reason
 * NonZeroExitCode has the code in its ExitCode cause. Any other Status is an error: returns it as such.
 */
export function exitCodeFromStatus(status: Status): { exitCode: number } | { error: Status } {
  if (status.status === 'Success') return { exitCode: 0 };
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const n = Number(cause?.message);
    if (cause && Number.isInteger(n) && n >= 0) return { exitCode: n };
  }
  return { error: status };
}
