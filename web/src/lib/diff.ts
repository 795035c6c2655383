// A diff of two states of an object: each leaf path whose value differs (pure).

export type Change = { path: string; before?: string; after?: string };

function flatten(v: unknown, path: string, out: Map<string, string>): void {
  if (v !== null && typeof v === 'object') {
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) out.set(path, Array.isArray(v) ? '[]' : '{}');
    for (const [k, x] of entries) flatten(x, Array.isArray(v) ? `${path}[${k}]` : path ? `${path}.${k}` : k, out);
  } else out.set(path, JSON.stringify(v));
}

export function diff(a: unknown, b: unknown): Change[] {
  const fa = new Map<string, string>();
  const fb = new Map<string, string>();
  flatten(a ?? {}, '', fa);
  flatten(b ?? {}, '', fb);
  const out: Change[] = [];
  for (const [p, v] of fa) if (fb.get(p) !== v) out.push({ path: p, before: v, after: fb.get(p) });
  for (const [p, v] of fb) if (!fa.has(p)) out.push({ path: p, after: v });
  return out.sort((x, y) => x.path.localeCompare(y.path));
}
