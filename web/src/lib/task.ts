// Following an ExecutionTask's output as the SDK's TaskHandle.output() does: once the task has started,
// wait (a watch) for its TaskOutput record, then follow stdout and stderr (log?follow=true) together.
// Without a stored output (no database) the task's status tails are what there is.
import { ApiError, MBOX, RUNTIME, json, patchMerge, request } from './api';
import { nsPath } from './project';
import type { ExecutionTask, TaskOutput } from './types';
import { watchCollection } from './watch';

export const FINAL = ['Succeeded', 'Failed', 'Canceled', 'TimedOut'];
export const isFinal = (t: ExecutionTask) => FINAL.includes(t.status?.phase ?? '');

export type Chunk = { stream: 'stdout' | 'stderr'; text: string };

async function waitForOutput(ns: string, t: ExecutionTask, signal: AbortSignal): Promise<boolean> {
  const s = AbortSignal.any([signal, AbortSignal.timeout(10_000)]);
  try {
    for await (const ev of watchCollection<TaskOutput>(nsPath(RUNTIME, ns, 'taskoutputs'), { fieldSelector: `metadata.name=${t.metadata.name}`, signal: s }))
      if (ev.type !== 'DELETED' && ev.object.status?.taskUID === t.metadata.uid) return true;
  } catch (e) {
    if (signal.aborted) throw e;
    if (e instanceof ApiError && e.code !== 404 && e.code !== 0) throw e;
  }
  return false;
}

async function follow(ns: string, name: string, stream: Chunk['stream'], onChunk: (c: Chunk) => void, signal: AbortSignal): Promise<void> {
  const res = await request(nsPath(RUNTIME, ns, 'taskoutputs', name, 'log'), { query: { stream, follow: 'true' }, accept: '*/*', signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      if (value) onChunk({ stream, text: value });
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/** The output of task t (which has started) to onChunk, until it is finished. */
export async function followOutput(ns: string, t: ExecutionTask, onChunk: (c: Chunk) => void, signal: AbortSignal): Promise<'stored' | 'tails'> {
  if (t.status?.startTime && (await waitForOutput(ns, t, signal))) {
    await Promise.all([follow(ns, t.metadata.name!, 'stdout', onChunk, signal), follow(ns, t.metadata.name!, 'stderr', onChunk, signal)]);
    return 'stored';
  }
  return 'tails';
}

export function runTask(ns: string, sandbox: string, script: string): Promise<ExecutionTask> {
  const body = {
    apiVersion: 'mbox.dev/v1alpha1',
    kind: 'ExecutionTask',
    metadata: { generateName: `${sandbox.slice(0, 57)}-` },
    spec: { sandboxRef: { name: sandbox }, command: ['sh', '-c', script] },
  };
  return json<ExecutionTask>(nsPath(MBOX, ns, 'executiontasks'), { method: 'POST', body });
}

export const cancelTask = (ns: string, name: string) => patchMerge(nsPath(MBOX, ns, 'executiontasks', name), { spec: { cancel: true } });
