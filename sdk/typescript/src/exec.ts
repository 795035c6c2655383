// Exec and terminal sessions on runtime.mbox.dev sandboxes/NAME/exec and /terminal: the pods/exec
// WebSocket protocol v5.channel.k8s.io, as Node streams.
import { Duplex, PassThrough, Writable } from 'node:stream';
import type WebSocket from 'ws';
import * as ch from './channel.js';
import { MboxApiError, errorFromStatus } from './errors.js';
import type { Status } from './meta.js';

/** How long the server has to answer a close the client sent before the socket is cut. */
const CLOSE_GRACE_MS = 2000;

/** The error of a session the client closed (close(), or a terminal's destroy()) without an abort. */
function clientClosed(): MboxApiError {
  return new MboxApiError({ status: 'Failure', reason: 'ClientClosed', message: 'the session was closed by the client before the command ended' });
}

/**
 * Relays one WebSocket session: resolves exitCode from the channel 3 Status. Its listeners are attached
 * in the constructor, which runs in the socket's 'open' event (Transport.websocket), so no frame is missed.
 * A session the client closed (close(), or the signal's abort) ends without an error event: onEnd() with
 * nothing, and exitCode rejects with the signal's reason or a ClientClosed error.
 */
class Session {
  readonly exitCode: Promise<number>;
  private closedBy?: unknown;
  private finish!: (err?: unknown, code?: number) => void;
  private readonly onAbort = () => this.close(this.signal?.reason);
  constructor(
    private readonly ws: WebSocket,
    onData: (channel: number, data: Buffer) => void,
    onEnd: (err?: Error) => void,
    private readonly signal?: AbortSignal,
  ) {
    this.exitCode = new Promise<number>((resolve, reject) => {
      let status: Status | undefined;
      let ended = false;
      const end = (this.finish = (err?: unknown, code?: number) => {
        if (ended) return;
        ended = true;
        signal?.removeEventListener('abort', this.onAbort);
        if (err === undefined) {
          onEnd();
          resolve(code!);
          return;
        }
        onEnd(this.closedBy !== undefined ? undefined : (err as Error));
        reject(err);
      });
      ws.on('message', (msg: Buffer, isBinary: boolean) => {
        // after a close by the client the streams have ended: what still comes is dropped
        if (!isBinary || ended) return;
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
        clearTimeout(this.grace);
        if (!status) {
          end(this.closedBy ?? new MboxApiError({ status: 'Failure', reason: 'SandboxClosed', message: 'the session ended without an exit status' }));
          return;
        }
        const r = ch.exitCodeFromStatus(status);
        if ('exitCode' in r) end(undefined, r.exitCode);
        else end(errorFromStatus(r.error));
      });
      ws.on('error', (e) => end(this.closedBy ?? e));
    });
    // an exit code nobody awaits must not end the process as an unhandled rejection
    this.exitCode.catch(() => undefined);
    if (signal?.aborted) this.onAbort();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  send(frame: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(frame, { binary: true }, (e) => (e ? reject(e) : resolve())));
  }

  private grace?: NodeJS.Timeout;

  /** Ends the session at once (the command is not waited for): the streams end and exitCode rejects with
   * reason now; the socket is closed, and cut if the server has not answered the close within 2 s. */
  close(reason: unknown = clientClosed()): void {
    if (this.closedBy !== undefined) return;
    this.closedBy = reason;
    this.finish(reason);
    this.ws.close(1000);
    this.grace = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    this.grace.unref();
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
  /** The command's exit code; rejects with the Status's error when the command could not run, with the
   * signal's reason after an abort, and with a ClientClosed error after close(). */
  readonly exitCode: Promise<number>;
  private readonly session: Session;
  /** sessionName: the session's record (runtime.mbox.dev sessions), from the answer's Mbox-Session header;
   * signal: closes the session when it aborts. */
  constructor(ws: WebSocket, readonly sessionName?: string, signal?: AbortSignal) {
    this.stdin = new Writable({
      write: (chunk: Buffer, _enc, cb) => this.session.send(ch.encodeFrame(ch.STDIN, chunk)).then(() => cb(), cb),
      final: (cb) => this.session.send(ch.closeStdinFrame()).then(() => cb(), cb),
    });
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
      () => {
        this.stdout.end();
        this.stderr.end();
        // the command is gone: what is still written to stdin goes nowhere (and raises no error event)
        this.stdin.destroy();
      },
      signal,
    );
    this.exitCode = this.session.exitCode;
  }
  /** Ends the session at once: stdout and stderr end, exitCode rejects with a ClientClosed error. */
  close(): void {
    this.session.close();
  }
}

/**
 * A terminal: a duplex stream of what is typed and what the terminal shows, with resize(). end() closes
 * its input as an exec's stdin.end() does (the v5 close message), which a shell on a TTY does not read as
 * its end (that is Ctrl-D): the session stays open until the shell exits. close() or destroy() ends it at
 * once. However it ends, the readable side ends (no error event); how it ended is exitCode.
 */
export class Terminal extends Duplex {
  /** The shell's exit code once it ends; rejects as an ExecSession's does. */
  readonly exitCode: Promise<number>;
  private readonly session: Session;
  private readonly ws: WebSocket;
  constructor(ws: WebSocket, readonly sessionName?: string, signal?: AbortSignal) {
    super();
    this.ws = ws;
    this.session = new Session(
      ws,
      (c, d) => {
        // a reader that falls behind pauses the socket until it reads again
        if (c === ch.STDOUT && !this.push(d)) ws.pause();
      },
      () => this.push(null),
      signal,
    );
    this.exitCode = this.session.exitCode;
  }
  _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }
  _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.session.send(ch.encodeFrame(ch.STDIN, chunk)).then(() => cb(), cb);
  }
  _final(cb: (e?: Error | null) => void): void {
    this.session.send(ch.closeStdinFrame()).then(() => cb(), cb);
  }
  _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.session.close();
    cb(err);
  }
  /** Tells the terminal its size in columns and rows (channel 4). */
  resize(columns: number, rows: number): Promise<void> {
    return this.session.send(ch.resizeFrame(columns, rows));
  }
  /** Ends the session at once: the output ends, exitCode rejects with a ClientClosed error. */
  close(): void {
    this.session.close();
  }
}
