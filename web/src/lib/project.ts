// A project's namespace, and the projects this browser opened before (names only: a member whose role
// cannot list the cluster-scoped Projects still finds theirs again).
import { ApiError, MBOX, enc, json } from './api';
import { useLoad } from './hooks';
import type { Project } from './types';

export interface ProjectInfo {
  /** The Project, when the user may read it. */
  project?: Project;
  namespace: string;
  /** Why the Project could not be read (a member of it still works in its namespace). */
  readError?: unknown;
}

export function namespaceOf(p: Project): string {
  return p.status?.namespace || p.spec?.namespace || `mbox-${p.metadata.name}`;
}

export async function loadProject(name: string, signal?: AbortSignal): Promise<ProjectInfo> {
  try {
    const project = await json<Project>(`${MBOX}/projects/${enc(name)}`, { signal });
    return { project, namespace: namespaceOf(project) };
  } catch (e) {
    if (e instanceof ApiError && e.code === 403) return { namespace: `mbox-${name}`, readError: e };
    throw e;
  }
}

export function useProject(name: string) {
  return useLoad((s) => loadProject(name, s), [name]);
}

const RECENT = 'mbox.console.recentProjects';

export function recentProjects(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(RECENT) ?? '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string').slice(0, 10) : [];
  } catch {
    return [];
  }
}

export function rememberProject(name: string): void {
  const list = [name, ...recentProjects().filter((x) => x !== name)].slice(0, 10);
  try {
    localStorage.setItem(RECENT, JSON.stringify(list));
  } catch {
    // storage may be off: the list is a convenience
  }
}

/** The path of a namespaced collection (or one object, or its subresource). */
export function nsPath(group: string, ns: string, plural: string, name?: string, sub?: string): string {
  return `${group}/namespaces/${enc(ns)}/${plural}${name ? `/${enc(name)}` : ''}${sub ? `/${sub}` : ''}`;
}
