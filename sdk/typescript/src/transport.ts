// Requests to the cluster of a KubeConfig with Node's own http/https and ws: the KubeConfig gives the
// server, its CA, the client certificate or token (exec credential plugins included), nothing else.
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { MboxApiError, errorFromResponse } from './errors.js';

/** What every call takes: an AbortSignal that ends it (the request, the stream or the wait). */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface RequestOptions extends CallOptions {
  method?: string;
  query?: Record<string, string | number | boolean | string[] | undefined>;
  /** A JSON value, or the raw bytes (string, Buffer or a stream) to send. */
  body?: unknown;
  contentType?: string;
  accept?: string;
}

/** Most bytes of an error answer or a JSON answer read into memory. */
const MAX_JSON_BYTES = 64 << 20;

/** How long a WebSocket's upgrade may take. */
const HANDSHAKE_MS = 30_000;

/** The query string of q: arrays repeat the name (command=sh&command=-c), undefined is left out. */
export function queryString(q: RequestOptions['query']): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q ?? {})) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) p.append(k, String(one));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** The TLS options an agent is made from (what a context's cluster and user give, a credential plugin's
 * client certificate included). */
const TLS_FIELDS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

/** What one context's requests share: its agent (whose cache of TLS sessions lets a new connection resume
 * one instead of a full handshake) and the TLS options it was made from. */
interface ContextAgent {
  context: string;
  tls: unknown[];
  agent: http.Agent;
}

export class Transport {
  private cached?: ContextAgent;
  constructor(readonly kubeConfig: KubeConfig) {}

  get server(): URL {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster: set a current context');
    return new URL(cluster.server);
  }

  /**
   * The TLS and credential options of the current context for one request. The KubeConfig makes a new
   * agent each time it applies them; the first one of a context is kept for all its requests (so TLS
   * sessions are resumed) while the credentials (an exec plugin's token, which can change) are read
   * afresh for each; a context switch or new TLS material (a rotated client certificate) keeps the new one.
   */
  private async options(extra: https.RequestOptions & { headers?: http.OutgoingHttpHeaders }): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = { ...extra, headers: { ...extra.headers } };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const context = this.kubeConfig.getCurrentContext();
    const tls = TLS_FIELDS.map((f) => opts[f]);
    const c = this.cached;
    if (c && c.context === context && c.tls.every((v, i) => sameTls(v, tls[i]))) {
      (opts.agent as http.Agent | undefined)?.destroy();
      opts.agent = c.agent;
    } else {
      // the agent of the context before is left to the requests still using it
      this.cached = { context, tls, agent: opts.agent as http.Agent };
    }
    return opts;
  }

  /** Sends one request; resolves with the answer once its status line is in, having turned a failure into
   * its typed error. The caller reads (or discards) the body. */
  async request(path: string, o: RequestOptions = {}): Promise<http.IncomingMessage> {
    o.signal?.throwIfAborted();
    const url = new URL(this.server.pathname.replace(/\/$/, '') + path + queryString(o.query), this.server);
    const headers: http.OutgoingHttpHeaders = { Accept: o.accept ?? 'application/json' };
    let payload: Buffer | string | Readable | undefined;
    if (o.body !== undefined) {
      if (typeof o.body === 'string' || Buffer.isBuffer(o.body) || o.body instanceof Readable) payload = o.body as Buffer | string | Readable;
      else if (o.body instanceof Uint8Array) payload = Buffer.from(o.body);
      else payload = JSON.stringify(o.body);
      headers['Content-Type'] = o.contentType ?? 'application/json';
      if (!(payload instanceof Readable)) headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const opts = await this.options({ method: o.method ?? 'GET', headers, signal: o.signal });
    const mod = url.protocol === 'http:' ? http : https;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = mod.request(url, opts, resolve);
      req.on('error', (e) => reject(o.signal?.aborted ? o.signal.reason : e));
      if (payload instanceof Readable) {
        payload.on('error', (e) => req.destroy(e));
        payload.pipe(req);
      } else req.end(payload);
    });
    const code = res.statusCode ?? 0;
    if (code >= 200 && code < 300) return res;
    const body = await readText(res, 1 << 20).catch((e) => {
      throw o.signal?.aborted ? o.signal.reason : e;
    });
    throw errorFromResponse(code, body, res.headers['retry-after'] as string | undefined);
  }

  /** A request whose answer is JSON, parsed. */
  async json<T>(path: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.request(path, o);
    try {
      return JSON.parse(await readText(res, MAX_JSON_BYTES)) as T;
    } catch (e) {
      throw o.signal?.aborted ? o.signal.reason : e;
    }
  }

  /**
   * Opens a WebSocket on path with the given subprotocols; a refusal before the upgrade is its typed error.
   * attach(ws, session) runs in the 'open' event itself, so its listeners see every frame, even those that
   * came in the same packet as the 101 (session: the 101's Mbox-Session header, the session's record).
   */
  async websocket<T>(
    path: string,
    query: RequestOptions['query'],
    protocols: string[],
    signal: AbortSignal | undefined,
    attach: (ws: WebSocket, session?: string) => T,
  ): Promise<T> {
    signal?.throwIfAborted();
    const base = this.server;
    const url = new URL(base.pathname.replace(/\/$/, '') + path + queryString(query), base);
    url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
    const opts = await this.options({ headers: {} });
    const ws = new WebSocket(url, protocols, { ...(opts as WebSocket.ClientOptions), perMessageDeflate: false, handshakeTimeout: HANDSHAKE_MS });
    ws.binaryType = 'nodebuffer';
    let session: string | undefined;
    ws.once('upgrade', (res) => {
      session = res.headers['mbox-session'] as string | undefined;
    });
    return new Promise((resolve, reject) => {
      // a socket given up before it opened: torn down, its late 'error' heard by nobody else
      const teardown = () => {
        ws.on('error', () => undefined);
        ws.terminate();
      };
      const onAbort = () => {
        teardown();
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      ws.once('open', () => {
        done();
        try {
          resolve(attach(ws, session));
        } catch (e) {
          teardown();
          reject(e);
        }
      });
      ws.once('unexpected-response', (_req, res) => {
        done();
        readText(res, 1 << 20).then(
          (body) => {
            teardown();
            reject(errorFromResponse(res.statusCode ?? 0, body, res.headers['retry-after'] as string | undefined));
          },
          (e) => {
            teardown();
            reject(e);
          },
        );
      });
      ws.once('error', (e) => {
        done();
        reject(e);
      });
    });
  }
}

/** Whether two values of a TLS option are the same (buffers by their bytes). */
function sameTls(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

/** The body of res as text, at most max bytes (an error beyond). */
export async function readText(res: Readable, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    n += (chunk as Buffer).length;
    if (n > max) {
      res.destroy();
      throw new MboxApiError({ status: 'Failure', message: `the answer is larger than ${max} bytes` });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
