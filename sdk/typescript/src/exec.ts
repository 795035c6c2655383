// Exec and terminal sessions on runtime.mbox.dev sandboxes/NAME/exec and /terminal: the pods/exec
// WebSocket protocol v5.channel.k8s.io, as Node streams.
import { Duplex, PassThrough, Writable } from 'node:stream';
import type WebSocket from 'ws';
import * as ch from './channel.js';
import { MboxApiError, errorFromStatus } from './errors.js';
import type { Status } from './meta.js';

/** Relays one WebSocket session: resolves exitCode from the channel 3 Status. */
class Session {
  readonly exitCode: Promise<number>;
  constructor(
    private readonly ws: WebSocket,
    onData: (channel: number, data: Buffer) => void,
    onEnd: (err?: Error) => void,
  ) {
    this.exitCode = new Promise<number>((resolve, reject) => {
      let status: Status | undefined;
      ws.on('message', (msg: Buffer, isBinary: boolean) => {
        if (!isBinary) return;
        const f = ch.decodeFrame(msg);
        if (!f) return;
        if (f.channel === ch.ERROR) {
          try {
            status = JSON.parse(f.data.toString('utf8')) as Status;
          } catch {
            status = { status: 'Failure', message: `the status channel sent what is not JSON: ${f.data.toString('utf8').slice(0, 200)}` };
          }
        } else if (f.data.length) onData(f.channel, f.data);
      });
      ws.on('close', () => {
        if (!status) {
          const err = new MboxApiError({ status: 'Failure', reason: 'SandboxClosed', message: 'the session ended without an exit status' });
          onEnd(err);
          reject(err);
          return;
        }
        const r = ch.exitCodeFromStatus(status);
        if ('exitCode' in r) {
          onEnd();
          resolve(r.exitCode);
        } else {
          const err = errorFromStatus(r.error);
          onEnd(err);
          reject(err);
        }
      });
      ws.on('error', (e) => {
        onEnd(e);
        reject(e);
      });
    });
    // an exit code nobody awaits must not end the process as an unhandled rejection
    this.exitCode.catch(() => undefined);
  }

  send(frame: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(frame, { binary: true }, (e) => (e ? reject(e) : resolve())));
  }

  /** Ends the session at once (the command is not waited for). */
  close(): void {
    this.ws.close(1000);
  }
}

/** How much of stdout or stderr waits for its reader before the socket, and so the command, waits too. */
const BUFFER_BYTES = 1 << 20;

/**
 * A command running in a sandbox: stdin to write (end() closes it), stdout and stderr to read, exitCode.
 * Read both streams (or resume() the one you do not need): when one holds 1 MiB nobody read, the session
 * waits for its reader, as a child process's pipes do.
 */
export class ExecSession {
  readonly stdout = new PassThrough({ highWaterMark: BUFFER_BYTES });
  readonly stderr = new PassThrough({ highWaterMark: BUFFER_BYTES });
  readonly stdin: Writable;
  /** The command's exit code; rejects with the Status's error when the command could not run. */
  readonly exitCode: Promise<number>;
  private readonly session: Session;
  /** sessionName: the session's record (runtime.mbox.dev sessions), from the answer's Mbox-Session header. */
  constructor(ws: WebSocket, readonly sessionName?: string) {
    // a reader that falls behind pauses the socket (and so the command), instead of filling memory
    const resume = () => {
      if (!this.stdout.writableNeedDrain && !this.stderr.writableNeedDrain) ws.resume();
    };
    this.stdout.on('drain', resume);
    this.stderr.on('drain', resume);
    this.session = new Session(
      ws,
      (c, d) => {
        const out = c === ch.STDOUT ? this.stdout : c === ch.STDERR ? this.stderr : null;
        if (out && !out.write(d)) ws.pause();
      },
      (e) => {
        this.stdout.end();
        this.stderr.end();
        if (e) this.stdin.destroy();
      },
    );
    this.exitCode = this.session.exitCode;
    this.stdin = new Writable({
      write: (chunk: Buffer, _enc, cb) => this.session.send(ch.encodeFrame(ch.STDIN, chunk)).then(() => cb(), cb),
      final: (cb) => this.session.send(ch.closeStdinFrame()).then(() => cb(), cb),
    });
  }
  /** Ends the session at once. */
  close(): void {
    this.session.close();
  }
}

/** A terminal: a duplex stream of what is typed and what the terminal shows, with resize(). */
export class Terminal extends Duplex {
  /** The shell's exit code once it ends. */
  readonly exitCode: Promise<number>;
  private readonly session: Session;
  constructor(ws: WebSocket, readonly sessionName?: string) {
    super();
    this.ws = ws;
    this.session = new Session(
      ws,
      (c, d) => {
        // a reader that falls behind pauses the socket until it reads again
        if (c === ch.STDOUT && !this.push(d)) ws.pause();
      },
      (e) => (e ? this.destroy(e) : this.push(null)),
    );
    this.exitCode = this.session.exitCode;
  }
  private readonly ws: WebSocket;
  _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }
  _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.session.send(ch.encodeFrame(ch.STDIN, chunk)).then(() => cb(), cb);
  }
  _final(cb: (e?: Error | null) => void): void {
    this.session.close();
    cb();
  }
  /** Tells the terminal its size in columns and rows (channel 4). */
  resize(columns: number, rows: number): Promise<void> {
    return this.session.send(ch.resizeFrame(columns, rows));
  }
  /** Ends the session. */
  close(): void {
    this.session.close();
  }
}
