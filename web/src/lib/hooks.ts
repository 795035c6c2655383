// Hooks the views share: a live collection (a watch), a one-off load, and the route.
import { useEffect, useState } from 'preact/hooks';
import { keyOf, watchCollection, type KubeObject } from './watch';

export interface Live<T> {
  items: T[];
  /** The first list is in. */
  synced: boolean;
  error?: unknown;
}

/** The objects of collection path, kept current by a watch (null path: nothing). Events that come in one
 * burst (a list of 500) are applied in one render. */
export function useWatch<T extends KubeObject>(path: string | null, sel: { labelSelector?: string; fieldSelector?: string } = {}): Live<T> {
  const [state, setState] = useState<Live<T>>({ items: [], synced: false });
  useEffect(() => {
    setState({ items: [], synced: false });
    if (!path) return;
    const ac = new AbortController();
    const map = new Map<string, T>();
    let synced = false;
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (synced) setState({ items: [...map.values()], synced: true });
    };
    const schedule = () => {
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(flush);
      }
    };
    (async () => {
      try {
        for await (const ev of watchCollection<T>(path, {
          ...sel,
          signal: ac.signal,
          onSynced: () => {
            synced = true;
            schedule();
          },
        })) {
          if (ev.type === 'DELETED') map.delete(keyOf(ev.object));
          else map.set(keyOf(ev.object), ev.object);
          schedule();
        }
      } catch (e) {
        if (!ac.signal.aborted) setState({ items: [...map.values()], synced, error: e });
      }
    })();
    return () => ac.abort();
  }, [path, sel.labelSelector, sel.fieldSelector]);
  return state;
}

export interface Loaded<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  reload: () => void;
}

/** The result of load(), run again when deps change or reload() is called. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [n, setN] = useState(0);
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  useEffect(() => {
    const ac = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(ac.signal).then(
      (data) => !ac.signal.aborted && setState({ data, loading: false }),
      (error) => !ac.signal.aborted && setState({ error, loading: false }),
    );
    return () => ac.abort();
  }, [...deps, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

/** The current path; navigate() changes it without a reload. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const f = () => setPath(location.pathname);
    addEventListener('popstate', f);
    return () => removeEventListener('popstate', f);
  }, []);
  return path;
}

export function navigate(to: string): void {
  if (to === location.pathname) return;
  history.pushState(null, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
  window.scrollTo(0, 0);
}

/** When ISO time t was, as people say it: "5s ago", "3m ago", "2h ago", "4d ago". */
export function age(t?: string): string {
  if (!t) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
