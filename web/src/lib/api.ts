// Same-origin calls to the console listener: /console/* and the Kubernetes API it proxies with the
// signed-in user's token (an HttpOnly cookie the page never sees). Failures are ApiErrors made from the
// metav1.Status the server answered with.
import type { Status } from './types';

export const MBOX = '/apis/mbox.dev/v1alpha1';
export const RUNTIME = '/apis/runtime.mbox.dev/v1alpha1';

/** A refused or failed request: the Status's code, reason and message. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(readonly status: Status) {
    super(status.message || status.reason || `request failed with HTTP ${status.code ?? 0}`);
    this.code = status.code ?? 0;
    this.reason = status.reason ?? '';
  }
}

/** Called when the server answers 401: the session ended (set by the app). */
let onUnauthorized: () => void = () => undefined;
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

export interface RequestOptions {
  method?: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  accept?: string;
}

export function enc(s: string): string {
  return encodeURIComponent(s);
}

export function withQuery(path: string, query?: RequestOptions['query']): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** The ApiError of a failed answer: its Status, or one made from the HTTP status when it sent none. */
async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let st: Status | undefined;
  try {
    const j = JSON.parse(text) as Status;
    if (j && j.kind === 'Status') st = j;
  } catch {
    // not JSON
  }
  return new ApiError({ status: 'Failure', code: res.status, ...st, message: st?.message || text.slice(0, 300) || `${res.status} ${res.statusText}` });
}

/** One request; the answer when it is 2xx, else an ApiError. State-changing requests carry X-Mbox-Console. */
export async function request(path: string, o: RequestOptions = {}): Promise<Response> {
  const method = o.method ?? 'GET';
  const headers: Record<string, string> = { Accept: o.accept ?? 'application/json' };
  if (!['GET', 'HEAD', 'OPTIONS'].includes(method)) headers['X-Mbox-Console'] = '1';
  let body: BodyInit | undefined;
  if (o.body !== undefined) {
    headers['Content-Type'] = o.contentType ?? 'application/json';
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  }
  let res: Response;
  try {
    res = await fetch(withQuery(path, o.query), { method, headers, body, signal: o.signal, credentials: 'same-origin' });
  } catch (e) {
    if (o.signal?.aborted) throw e;
    throw new ApiError({ status: 'Failure', code: 0, reason: 'NetworkError', message: `the console server did not answer: ${(e as Error).message}` });
  }
  if (res.ok) return res;
  const err = await errorOf(res);
  if (res.status === 401 && !path.startsWith('/console/')) onUnauthorized();
  throw err;
}

export async function json<T>(path: string, o: RequestOptions = {}): Promise<T> {
  const res = await request(path, o);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const patchMerge = (path: string, body: unknown) => json(path, { method: 'PATCH', body, contentType: 'application/merge-patch+json' });

export interface Identity {
  username: string;
  groups?: string[];
}

export const whoami = () => json<Identity>('/console/whoami');
export const signin = (token: string) => json<Identity>('/console/signin', { method: 'POST', body: { token } });
export const signout = () => request('/console/signout', { method: 'POST' });

/** What a refusal means for a person: a 403 names what the role lacks (the server's message says which). */
export function describe(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 403) return `Your role does not allow this: ${e.message}`;
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
