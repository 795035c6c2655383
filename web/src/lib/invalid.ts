// The causes of a 422 Invalid, by field: a form shows each next to its input.
import { ApiError } from './api';

/** Field -> messages; causes without a field go under "". */
export function fieldErrors(e: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(e instanceof ApiError)) return out;
  for (const c of e.status.details?.causes ?? []) {
    const f = c.field ?? '';
    out[f] = out[f] ? `${out[f]}; ${c.message ?? c.reason}` : (c.message ?? c.reason ?? '');
  }
  return out;
}

/** The message of the first cause whose field starts with one of prefixes. */
export function errorFor(errs: Record<string, string>, ...prefixes: string[]): string | undefined {
  for (const [f, m] of Object.entries(errs)) if (prefixes.some((p) => f === p || f.startsWith(`${p}.`) || f.startsWith(`${p}[`))) return m;
  return undefined;
}
