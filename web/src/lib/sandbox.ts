// Actions on sandboxes: spec.state by a merge patch, delete.
import { MBOX, json, patchMerge } from './api';
import { nsPath } from './project';

export const setState = (ns: string, name: string, state: 'Running' | 'Stopped') => patchMerge(nsPath(MBOX, ns, 'sandboxes', name), { spec: { state } });
export const deleteSandbox = (ns: string, name: string) => json(nsPath(MBOX, ns, 'sandboxes', name), { method: 'DELETE' });
