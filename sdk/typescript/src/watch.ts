// Watches as async iterators: a list, then a watch from the list's resourceVersion, resumed from the last
// version seen when the server ends the stream or the connection drops, and a list again (with the
// difference sent as events) when the server answers 410 Gone. A list is read to its end (the server cuts
// long ones into pages with a continue token, asked for or not).
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { GoneError, MboxApiError, errorFromStatus } from './errors.js';
import type { List, ObjectMeta, Status } from './meta.js';
import type { CallOptions, Transport } from './transport.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change of an object, as the watch saw it (a relist sends what changed meanwhile the same way). */
export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

export interface WatchOptions extends CallOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Start from this version instead of a list (a version too old relists, as after a 410). */
  resourceVersion?: string;
  /** How long the server keeps one watch open before the SDK opens the next one (default 300 s). */
  timeoutSeconds?: number;
  /** Called each time the watch lists again after 410 Gone (what changed meanwhile follows as events). */
  onRelist?: () => void;
}

/** What a watch needs of an object: its metadata. */
export type KubeObject = { metadata: ObjectMeta };

/** A raw event of a watch stream. */
export interface RawWatchEvent {
  type: string;
  object: unknown;
}

/** What the watch does with one raw event (pure). */
export type Step<T> =
  | { kind: 'emit'; event: WatchEvent<T>; resourceVersion: string }
  | { kind: 'bookmark'; resourceVersion: string }
  | { kind: 'relist' }
  | { kind: 'fail'; error: MboxApiError };

export function stepFor<T extends KubeObject>(raw: RawWatchEvent, resourceVersion: string): Step<T> {
  if (raw.type === 'ERROR') {
    const err = errorFromStatus(raw.object as Status);
    return err instanceof GoneError ? { kind: 'relist' } : { kind: 'fail', error: err };
  }
  const obj = raw.object as T;
  const rv = obj?.metadata?.resourceVersion || resourceVersion;
  if (raw.type === 'BOOKMARK') return { kind: 'bookmark', resourceVersion: rv };
  if (raw.type === 'ADDED' || raw.type === 'MODIFIED' || raw.type === 'DELETED')
    return { kind: 'emit', event: { type: raw.type, object: obj }, resourceVersion: rv };
  return { kind: 'fail', error: new MboxApiError({ status: 'Failure', message: `unknown watch event type "${raw.type}"` }) };
}

/** The key of an object in a watch's set of known objects. */
export function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

/**
 * The events that take a watcher from the objects it knew (key -> resourceVersion) to the list's items:
 * ADDED for new ones, MODIFIED for changed ones, DELETED for those gone (pure).
 */
export function relistEvents<T extends KubeObject>(known: Map<string, T>, items: T[]): WatchEvent<T>[] {
  const out: WatchEvent<T>[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const k = keyOf(item);
    seen.add(k);
    const before = known.get(k);
    if (!before) out.push({ type: 'ADDED', object: item });
    else if (before.metadata.resourceVersion !== item.metadata.resourceVersion) out.push({ type: 'MODIFIED', object: item });
  }
  for (const [k, before] of known) if (!seen.has(k)) out.push({ type: 'DELETED', object: before });
  return out;
}

/** How many times a list starts again when its continue token expired (410) before it gives up. */
const MAX_LIST_RESTARTS = 3;

/**
 * Every item of a list, following its continue tokens to the end: the items, and the FIRST page's
 * resourceVersion (every page is that one snapshot; a watch from it gets what changed after). page(token)
 * reads one page (the first without a token). A token that expired meanwhile (410) reads it all again.
 */
export async function listAll<T>(page: (continueToken?: string) => Promise<List<T>>): Promise<{ items: T[]; resourceVersion: string }> {
  for (let restarts = 0; ; restarts++) {
    const first = await page();
    const items = [...(first.items ?? [])];
    let token = first.metadata?.continue;
    try {
      while (token) {
        const next = await page(token);
        items.push(...(next.items ?? []));
        token = next.metadata?.continue;
      }
    } catch (e) {
      if (e instanceof GoneError && restarts < MAX_LIST_RESTARTS) continue;
      throw e;
    }
    return { items, resourceVersion: first.metadata?.resourceVersion ?? '' };
  }
}

/** The newline-delimited JSON events of a watch answer, each line at most maxLine bytes. A character
 * whose bytes two chunks split is decoded whole. */
export async function* ndjson(stream: Readable, maxLine = 16 << 20): AsyncGenerator<RawWatchEvent> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of stream) {
    pending += decoder.write(chunk as Buffer);
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield JSON.parse(line) as RawWatchEvent;
    }
    if (pending.length > maxLine) throw new MboxApiError({ status: 'Failure', message: `a watch event is longer than ${maxLine} bytes` });
  }
  pending += decoder.end();
  if (pending.trim()) yield JSON.parse(pending) as RawWatchEvent;
}

/** Consecutive failed connections after which a watch gives up. */
const MAX_RETRIES = 5;

/** A watch stream that ends within this many milliseconds with nothing in it ended "at once". */
const QUICK_END_MS = 1000;

/** How long to wait before the next attempt after n failures (or n streams in a row that ended at once):
 * 500 ms, doubling, at most 5 s (pure). */
export function backoffMs(n: number): number {
  return n <= 0 ? 0 : Math.min(250 * 2 ** n, 5000);
}

/**
 * The pace of a watch's streams: a stream the server ends at once with no event (not even a bookmark)
 * makes the next wait longer and longer, so a server that keeps doing that is not asked in a hot loop;
 * any other stream starts over (pure).
 */
export class StreamPace {
  private quick = 0;
  /** The delay before the next stream, after one that lasted ms and held events events. */
  ended(events: number, ms: number): number {
    this.quick = events === 0 && ms < QUICK_END_MS ? this.quick + 1 : 0;
    return backoffMs(this.quick);
  }
}

/** The watch of collection path (…/sandboxes), as an async iterator of its events. */
export async function* watchCollection<T extends KubeObject>(t: Transport, path: string, o: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
  try {
    yield* watchLoop<T>(t, path, o);
  } catch (e) {
    // a connection the signal cut ends with the signal's reason (an AbortError or TimeoutError), not a reset
    if (o.signal?.aborted) throw o.signal.reason;
    throw e;
  }
}

async function* watchLoop<T extends KubeObject>(t: Transport, path: string, o: WatchOptions): AsyncGenerator<WatchEvent<T>> {
  const known = new Map<string, T>();
  let rv = o.resourceVersion ?? '';
  let needList = !rv;
  let failures = 0;
  const pace = new StreamPace();
  const selectors = { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector };
  for (;;) {
    o.signal?.throwIfAborted();
    if (needList) {
      const list = await listAll((token) => t.json<List<T>>(path, { query: { ...selectors, continue: token }, signal: o.signal }));
      for (const ev of relistEvents(known, list.items)) {
        if (ev.type === 'DELETED') known.delete(keyOf(ev.object));
        else known.set(keyOf(ev.object), ev.object);
        yield ev;
      }
      rv = list.resourceVersion;
      needList = false;
    }
    let res: Readable;
    try {
      res = await t.request(path, {
        query: { ...selectors, watch: 'true', resourceVersion: rv, allowWatchBookmarks: 'true', timeoutSeconds: o.timeoutSeconds ?? 300 },
        signal: o.signal,
      });
    } catch (e) {
      if (e instanceof GoneError) {
        needList = true;
        o.onRelist?.();
        continue;
      }
      if (e instanceof MboxApiError || o.signal?.aborted || ++failures > MAX_RETRIES) throw e;
      await sleep(backoffMs(failures), o.signal);
      continue;
    }
    failures = 0;
    const opened = Date.now();
    let events = 0;
    try {
      for await (const raw of ndjson(res)) {
        events++;
        const step = stepFor<T>(raw, rv);
        if (step.kind === 'relist') {
          needList = true;
          o.onRelist?.();
          break;
        }
        if (step.kind === 'fail') throw step.error;
        rv = step.resourceVersion;
        if (step.kind === 'bookmark') continue;
        if (step.event.type === 'DELETED') known.delete(keyOf(step.event.object));
        else known.set(keyOf(step.event.object), step.event.object);
        yield step.event;
      }
    } catch (e) {
      if (e instanceof MboxApiError || o.signal?.aborted) throw e;
      // the connection dropped: resume from rv
    } finally {
      res.destroy();
    }
    const delay = pace.ended(events, Date.now() - opened);
    if (delay) await sleep(delay, o.signal);
  }
}

/** Resolves after ms; rejects with the signal's reason when it aborts first (and leaves no listener). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
