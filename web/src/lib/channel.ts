// The WebSocket framing of pods/exec, protocol v5.channel.k8s.io, which runtime.mbox.dev's terminal speaks:
// each binary message is one channel byte, then its payload (ported from the SDK's channel.ts).
import type { Status } from './types';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;
export const PROTOCOL = 'v5.channel.k8s.io';

const utf8 = new TextEncoder();

export function encodeFrame(channel: number, payload: Uint8Array | string): Uint8Array {
  const data = typeof payload === 'string' ? utf8.encode(payload) : payload;
  const out = new Uint8Array(data.length + 1);
  out[0] = channel;
  out.set(data, 1);
  return out;
}

export function decodeFrame(message: ArrayBuffer): { channel: number; data: Uint8Array } | null {
  const b = new Uint8Array(message);
  return b.length ? { channel: b[0], data: b.subarray(1) } : null;
}

export function resizeFrame(columns: number, rows: number): Uint8Array {
  return encodeFrame(RESIZE, JSON.stringify({ Width: columns, Height: rows }));
}

/** The exit code the channel 3 Status carries (Success is 0; NonZeroExitCode has it in a cause). */
export function exitCodeFromStatus(status: Status): { exitCode: number } | { error: Status } {
  if (status.status === 'Success') return { exitCode: 0 };
  if (status.reason === 'NonZeroExitCode') {
    const n = Number(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message);
    if (Number.isInteger(n) && n >= 0) return { exitCode: n };
  }
  return { error: status };
}

/** The WebSocket URL of an API path on this origin (the console listener relays it). */
export function wsUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}
