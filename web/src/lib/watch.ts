// Watches as the SDK's (sdk/typescript/src/watch.ts) do them, on fetch: a list (read to its end), then a
// watch from the list's resourceVersion, resumed from the last version seen when the stream ends or drops,
// and a list again when the server answers 410 Gone (what changed meanwhile comes as events).
import { ApiError, json, request } from './api';
import type { List, ObjectMeta, Status } from './types';

export type KubeObject = { metadata: ObjectMeta };
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface WatchEvent<T> {
  type: EventType;
  object: T;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  signal: AbortSignal;
  /** Called once the first list is in (and again after each relist). */
  onSynced?: () => void;
}

export function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

/** The events that take a watcher from the objects it knew to the list's items (pure). */
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

const isGone = (e: unknown) => e instanceof ApiError && (e.code === 410 || e.reason === 'Expired' || e.reason === 'Gone');

/** Every item of a list, following continue tokens; the first page's resourceVersion. */
async function listAll<T>(path: string, sel: Record<string, string | undefined>, signal: AbortSignal): Promise<{ items: T[]; rv: string }> {
  for (let restarts = 0; ; restarts++) {
    const first = await json<List<T>>(path, { query: { ...sel, limit: 500 }, signal });
    const items = [...(first.items ?? [])];
    let token = first.metadata?.continue;
    try {
      while (token) {
        const next = await json<List<T>>(path, { query: { ...sel, limit: 500, continue: token }, signal });
        items.push(...(next.items ?? []));
        token = next.metadata?.continue;
      }
    } catch (e) {
      if (isGone(e) && restarts < 3) continue;
      throw e;
    }
    return { items, rv: first.metadata?.resourceVersion ?? '' };
  }
}

/** The lines of a streamed answer, as they come. */
export async function* lines(res: Response): AsyncGenerator<string> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += value;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        yield pending.slice(0, nl);
        pending = pending.slice(nl + 1);
      }
      if (pending.length > 16 << 20) throw new ApiError({ status: 'Failure', message: 'a watch event is longer than 16 MiB' });
    }
    if (pending) yield pending;
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

/** The events of collection path until the signal aborts; throws on a refusal (403, 404, ...). */
export async function* watchCollection<T extends KubeObject>(path: string, o: WatchOptions): AsyncGenerator<WatchEvent<T>> {
  const known = new Map<string, T>();
  const sel = { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector };
  let rv = '';
  let needList = true;
  let failures = 0;
  for (;;) {
    o.signal.throwIfAborted();
    if (needList) {
      const list = await listAll<T>(path, sel, o.signal);
      for (const ev of relistEvents(known, list.items)) {
        if (ev.type === 'DELETED') known.delete(keyOf(ev.object));
        else known.set(keyOf(ev.object), ev.object);
        yield ev;
      }
      rv = list.rv;
      needList = false;
      o.onSynced?.();
    }
    let res: Response;
    try {
      res = await request(path, { query: { ...sel, watch: 'true', resourceVersion: rv, allowWatchBookmarks: 'true', timeoutSeconds: 300 }, signal: o.signal });
    } catch (e) {
      if (isGone(e)) {
        needList = true;
        continue;
      }
      if (o.signal.aborted || (e instanceof ApiError && e.code !== 0) || ++failures > 5) throw e;
      await sleep(Math.min(250 * 2 ** failures, 5000), o.signal);
      continue;
    }
    failures = 0;
    const opened = Date.now();
    let events = 0;
    try {
      for await (const line of lines(res)) {
        if (!line.trim()) continue;
        events++;
        const raw = JSON.parse(line) as { type: string; object: T & Status };
        if (raw.type === 'ERROR') {
          const st = raw.object as Status;
          if (st.code === 410 || st.reason === 'Expired' || st.reason === 'Gone') {
            needList = true;
            break;
          }
          throw new ApiError(st);
        }
        rv = raw.object?.metadata?.resourceVersion || rv;
        if (raw.type === 'BOOKMARK') continue;
        const ev = { type: raw.type as EventType, object: raw.object as T };
        if (ev.type === 'DELETED') known.delete(keyOf(ev.object));
        else known.set(keyOf(ev.object), ev.object);
        yield ev;
      }
    } catch (e) {
      if (e instanceof ApiError || o.signal.aborted) throw e;
      // the connection dropped: resume from rv
    }
    // a server that ends streams at once with nothing in them is not asked again in a hot loop
    if (events === 0 && Date.now() - opened < 1000) await sleep(1000, o.signal);
  }
}
