// A handle on one ExecutionTask: its output as it comes, its end, its cancel.
import type { Readable } from 'node:stream';
import type { MboxClient } from './client.js';
import { MboxApiError } from './errors.js';
import type { ExecutionTask } from './generated/crds.js';
import type { CallOptions } from './transport.js';
import type { TaskOutput } from './runtime.js';

export type TaskPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled' | 'TimedOut';

const FINAL = ['Succeeded', 'Failed', 'Canceled', 'TimedOut'];

/** How a task ended. */
export interface TaskResult {
  phase: TaskPhase;
  /** The command's exit code, when it ran to its end (undefined when it never ran, timed out or was canceled). */
  exitCode?: number;
  reason?: string;
  message?: string;
  task: ExecutionTask;
}

/** One piece of a task's output. */
export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/** Whether the task's phase is final (pure). */
export function isFinal(t: ExecutionTask): boolean {
  return FINAL.includes(t.status?.phase ?? '');
}

/** The result of a finished task (pure). */
export function resultOf(t: ExecutionTask): TaskResult {
  const s = t.status ?? {};
  return { phase: s.phase as TaskPhase, exitCode: s.exitCode, reason: s.reason, message: s.message, task: t };
}

/** How long the output's record may take to appear once the task runs (the operator writes it next). */
const OUTPUT_WAIT_MS = 10_000;

export class TaskHandle {
  readonly name: string;
  readonly uid: string;
  private result?: TaskResult;

  constructor(
    private readonly client: MboxClient,
    readonly created: ExecutionTask,
  ) {
    this.name = created.metadata.name!;
    this.uid = created.metadata.uid!;
  }

  /** The exit code, once wait() has returned and the command ran to its end. */
  get exitCode(): number | undefined {
    return this.result?.exitCode;
  }

  /** Waits (a watch) until the task ends. */
  async wait(o: CallOptions & { timeoutMs?: number } = {}): Promise<TaskResult> {
    if (this.result) return this.result;
    if (isFinal(this.created)) return (this.result = resultOf(this.created));
    // from the version the task was created with: every change since comes as an event, without a list
    const t = await this.client.waitFor<ExecutionTask>(await this.client.tasksPath(o), this.name, isFinal, {
      timeoutMs: o.timeoutMs ?? 24 * 3600_000,
      resourceVersion: this.created.metadata.resourceVersion,
      signal: o.signal,
    });
    this.result = resultOf(t);
    return this.result;
  }

  /** Cancels the task: a waiting one never runs, a running one is killed (it ends Canceled). */
  async cancel(o: CallOptions = {}): Promise<void> {
    await this.client.cancelTask(this.name, o);
  }

  /**
   * The task's output as it comes, stdout and stderr interleaved as they arrive, until the command's output
   * is finished. Without a stored output (no database), the tails of the task's status at its end.
   */
  async *output(o: CallOptions = {}): AsyncGenerator<OutputChunk> {
    const startedOrEnded = (t: ExecutionTask) => isFinal(t) || t.status?.phase === 'Running';
    const started = startedOrEnded(this.created) ? this.created : await this.client.waitFor<ExecutionTask>(
      await this.client.tasksPath(o),
      this.name,
      startedOrEnded,
      { timeoutMs: 24 * 3600_000, resourceVersion: this.created.metadata.resourceVersion, signal: o.signal },
    );
    let stored = !!started.status?.startTime;
    if (stored) {
      try {
        await this.client.waitFor<TaskOutput>(await this.client.taskOutputsPath(o), this.name, (r) => r.status?.taskUID === this.uid, {
          timeoutMs: OUTPUT_WAIT_MS,
          signal: o.signal,
        });
      } catch (e) {
        if (o.signal?.aborted || !(e instanceof MboxApiError) || e.reason !== 'Timeout') throw e;
        stored = false;
      }
    }
    if (stored) {
      const [out, err] = await Promise.all([
        this.client.readTaskLog(this.name, { stream: 'stdout', follow: true, signal: o.signal }),
        this.client.readTaskLog(this.name, { stream: 'stderr', follow: true, signal: o.signal }),
      ]);
      yield* merge([
        { stream: 'stdout', body: out },
        { stream: 'stderr', body: err },
      ]);
      return;
    }
    const end = await this.wait(o);
    const s = end.task.status ?? {};
    if (s.stdoutTail) yield { stream: 'stdout', data: Buffer.from(s.stdoutTail) };
    if (s.stderrTail) yield { stream: 'stderr', data: Buffer.from(s.stderrTail) };
  }

  /** The whole output, collected: stdout and stderr as text, and the result. */
  async collect(o: CallOptions = {}): Promise<TaskResult & { stdout: string; stderr: string }> {
    const parts = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    for await (const c of this.output(o)) parts[c.stream].push(c.data);
    const r = await this.wait(o);
    return { ...r, stdout: Buffer.concat(parts.stdout).toString('utf8'), stderr: Buffer.concat(parts.stderr).toString('utf8') };
  }
}

/** How many chunks the merged output holds for its reader before it pauses the streams it reads. */
const MERGE_CHUNKS = 16;

/** The chunks of several streams, as they arrive. The streams are paused while MERGE_CHUNKS wait for the
 * reader and resumed as it takes them, so a slow reader holds the server back instead of filling memory. */
export async function* merge(sources: Array<{ stream: OutputChunk['stream']; body: Readable }>): AsyncGenerator<OutputChunk> {
  const queue: OutputChunk[] = [];
  let wake: (() => void) | undefined;
  let open = sources.length;
  let failure: unknown;
  for (const s of sources) {
    s.body.on('data', (d: Buffer) => {
      queue.push({ stream: s.stream, data: d });
      if (queue.length >= MERGE_CHUNKS) for (const x of sources) x.body.pause();
      wake?.();
    });
    s.body.on('end', () => {
      open--;
      wake?.();
    });
    s.body.on('error', (e) => {
      failure ??= e;
      open--;
      wake?.();
    });
  }
  try {
    for (;;) {
      while (queue.length) {
        const c = queue.shift()!;
        if (queue.length < MERGE_CHUNKS / 2) for (const x of sources) if (x.body.isPaused()) x.body.resume();
        yield c;
      }
      if (failure) throw failure;
      if (open <= 0) return;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  } finally {
    for (const s of sources) s.body.destroy();
  }
}
