// MboxClient: the mbox API of one cluster and one project, for automation clients.
import { KubeConfig } from '@kubernetes/client-node';
import type { Readable } from 'node:stream';
import { PROTOCOL } from './channel.js';
import { ExecSession, Terminal } from './exec.js';
import { ForbiddenError, MboxApiError, NotFoundError } from './errors.js';
import type { EnvironmentTemplate, ExecutionTask, ExecutionTaskSpec, Project, Sandbox, SandboxSpec } from './generated/crds.js';
import type { List, ObjectMeta, Status } from './meta.js';
import type { Artifact, FileList, ObjectHistory, PreviewGrant, Session, TaskOutput } from './runtime.js';
import { TaskHandle } from './task.js';
import { type CallOptions, Transport } from './transport.js';
import { type WatchEvent, type WatchOptions, watchCollection } from './watch.js';

const MBOX = '/apis/mbox.dev/v1alpha1';
const RUNTIME = '/apis/runtime.mbox.dev/v1alpha1';

export interface MboxClientOptions {
  /** A KubeConfig already loaded; by default the usual one (KUBECONFIG, ~/.kube/config, or in-cluster). */
  kubeConfig?: KubeConfig;
  /** A kubeconfig file to load instead of the default. */
  kubeconfigPath?: string;
  /** The context to use instead of the current one. */
  context?: string;
  /** The project to work in: its namespace is read from the Project. */
  project?: string;
  /** The namespace to work in, when no project is given; default: the context's namespace. */
  namespace?: string;
}

export interface ListOptions extends CallOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface CreateSandboxOptions extends CallOptions {
  /** The EnvironmentTemplate; omitted: the project's default template. */
  template?: string;
  /** More of the Sandbox's spec (env, ports, lifetime, ...). */
  spec?: Partial<SandboxSpec>;
  labels?: Record<string, string>;
  /** Returns once the sandbox is Running (a watch); fails when it ends Failed or Expired first. */
  waitUntilRunning?: boolean;
  /** With waitUntilRunning: how long to wait, in milliseconds (default 5 minutes). */
  timeoutMs?: number;
}

export interface WaitOptions extends CallOptions {
  /** How long to wait, in milliseconds (default 5 minutes). */
  timeoutMs?: number;
  /** Watch from this version of the object (one the caller just wrote) instead of listing it first. */
  resourceVersion?: string;
}

export interface RunTaskOptions extends CallOptions {
  /** The task's name; default SANDBOX-<5 random characters>. */
  name?: string;
  env?: Record<string, string>;
  workingDir?: string;
  stdin?: string;
  timeoutSeconds?: number;
  artifacts?: ExecutionTaskSpec['artifacts'];
  metadata?: Record<string, string>;
  ttlSecondsAfterFinished?: number;
}

export interface ExecOptions extends CallOptions {
  /** Keep stdin open for writing (default true). */
  stdin?: boolean;
  /** Run on a terminal (stdout and stderr merged). */
  tty?: boolean;
}

export interface CreateArtifactOptions extends CallOptions {
  /** The artifact's name; default: generated from the sandbox's or the task's name. */
  name?: string;
  /** The file, a workspace:// URI, or an absolute path in the sandbox (made into workspace://PATH). */
  path: string;
  /** The sandbox the file is in (when no task is named). */
  sandbox?: string;
  /** The task that wrote it: the server fills in its uid, sandbox and pod. */
  task?: string;
  /** file (default), report, log, ... */
  kind?: string;
  title?: string;
  contentType?: string;
  labels?: Record<string, string>;
}

export interface HistoryQuery extends ListOptions {
  /** Project, EnvironmentTemplate, Sandbox or ExecutionTask (or Kind.group for another group). */
  kind?: string;
  name?: string;
  /** Changed at or after this time. */
  since?: Date | string;
  /** Changed before this time. */
  until?: Date | string;
}

/** What watchHistory takes: the selectors of a history query, and a watch's options. */
export type WatchHistoryQuery = Pick<HistoryQuery, 'kind' | 'name'> & WatchOptions;

function enc(s: string): string {
  return encodeURIComponent(s);
}

function iso(t: Date | string | undefined): string | undefined {
  return t instanceof Date ? t.toISOString().replace(/\.\d{3}Z$/, 'Z') : t;
}

/** A deadline signal: the caller's signal or a timeout, whichever comes first. */
function within(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const t = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, t]) : t;
}

export class MboxClient {
  readonly transport: Transport;
  private readonly project?: string;
  private ns?: Promise<string>;

  constructor(o: MboxClientOptions = {}) {
    let kc = o.kubeConfig;
    if (!kc) {
      kc = new KubeConfig();
      if (o.kubeconfigPath) kc.loadFromFile(o.kubeconfigPath);
      else kc.loadFromDefault();
    }
    if (o.context) kc.setCurrentContext(o.context);
    this.transport = new Transport(kc);
    this.project = o.project;
    if (o.namespace) this.ns = Promise.resolve(o.namespace);
    else if (!o.project) {
      const ctx = kc.getContextObject(kc.getCurrentContext());
      this.ns = Promise.resolve(ctx?.namespace || 'default');
    }
  }

  /**
   * The namespace the client works in: the project's (status.namespace, else spec.namespace, else
   * mbox-NAME). Project members whose role does not let them read the cluster-scoped Project get the
   * default, mbox-NAME; a project with another namespace is then given with the namespace option.
   */
  namespace(o: CallOptions = {}): Promise<string> {
    this.ns ??= this.getProject(this.project!, o).then(
      (p) => p.status?.namespace || p.spec?.namespace || `mbox-${p.metadata.name}`,
      (e) => {
        if (e instanceof ForbiddenError) return `mbox-${this.project}`;
        this.ns = undefined;
        throw e;
      },
    );
    return this.ns;
  }

  private async nsPath(group: string, plural: string, name?: string, sub?: string, o: CallOptions = {}): Promise<string> {
    const ns = await this.namespace(o);
    return `${group}/namespaces/${enc(ns)}/${plural}${name !== undefined ? `/${enc(name)}` : ''}${sub ? `/${sub}` : ''}`;
  }

  private list<T>(path: string, o: ListOptions): Promise<List<T>> {
    return this.transport.json<List<T>>(path, {
      query: { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector, limit: o.limit, continue: o.continue },
      signal: o.signal,
    });
  }

  // ---- projects (cluster-scoped) ----

  listProjects(o: ListOptions = {}): Promise<List<Project>> {
    return this.list(`${MBOX}/projects`, o);
  }
  getProject(name: string, o: CallOptions = {}): Promise<Project> {
    return this.transport.json(`${MBOX}/projects/${enc(name)}`, { signal: o.signal });
  }
  createProject(project: Project, o: CallOptions = {}): Promise<Project> {
    return this.transport.json(`${MBOX}/projects`, { method: 'POST', body: { apiVersion: 'mbox.dev/v1alpha1', kind: 'Project', ...project }, signal: o.signal });
  }
  deleteProject(name: string, o: CallOptions = {}): Promise<unknown> {
    return this.transport.json(`${MBOX}/projects/${enc(name)}`, { method: 'DELETE', signal: o.signal });
  }
  watchProjects(o: WatchOptions = {}): AsyncGenerator<WatchEvent<Project>> {
    return watchCollection<Project>(this.transport, `${MBOX}/projects`, o);
  }

  // ---- templates ----

  async listTemplates(o: ListOptions = {}): Promise<List<EnvironmentTemplate>> {
    return this.list(await this.nsPath(MBOX, 'environmenttemplates', undefined, undefined, o), o);
  }
  async getTemplate(name: string, o: CallOptions = {}): Promise<EnvironmentTemplate> {
    return this.transport.json(await this.nsPath(MBOX, 'environmenttemplates', name, undefined, o), { signal: o.signal });
  }

  // ---- sandboxes ----

  async listSandboxes(o: ListOptions = {}): Promise<List<Sandbox>> {
    return this.list(await this.nsPath(MBOX, 'sandboxes', undefined, undefined, o), o);
  }
  async getSandbox(name: string, o: CallOptions = {}): Promise<Sandbox> {
    return this.transport.json(await this.nsPath(MBOX, 'sandboxes', name, undefined, o), { signal: o.signal });
  }
  async *watchSandboxes(o: WatchOptions = {}): AsyncGenerator<WatchEvent<Sandbox>> {
    yield* watchCollection<Sandbox>(this.transport, await this.nsPath(MBOX, 'sandboxes', undefined, undefined, o), o);
  }

  /** The path of the project's Sandboxes, for waitFor(). */
  async sandboxesPath(o: CallOptions = {}): Promise<string> {
    return this.nsPath(MBOX, 'sandboxes', undefined, undefined, o);
  }

  /** Creates a sandbox (from the project's default template unless o.template names one). */
  async createSandbox(name: string, o: CreateSandboxOptions = {}): Promise<Sandbox> {
    const spec: SandboxSpec = { ...o.spec };
    if (o.template) spec.templateRef = { name: o.template };
    const body = { apiVersion: 'mbox.dev/v1alpha1', kind: 'Sandbox', metadata: { name, labels: o.labels }, spec };
    const created = await this.transport.json<Sandbox>(await this.nsPath(MBOX, 'sandboxes', undefined, undefined, o), {
      method: 'POST',
      body,
      signal: o.signal,
    });
    if (!o.waitUntilRunning) return created;
    return this.waitForSandboxPhase(name, 'Running', { ...o, resourceVersion: created.metadata.resourceVersion });
  }

  /**
   * Waits (a watch) until the sandbox is in phase (and status.observedGeneration has caught up with the
   * spec); fails at once when it is Failed or Expired, or deleted, and otherwise at the timeout.
   */
  async waitForSandboxPhase(name: string, phase: 'Running' | 'Stopped', o: WaitOptions = {}): Promise<Sandbox> {
    const dead = ['Failed', 'Expired'];
    return this.waitFor<Sandbox>(
      await this.nsPath(MBOX, 'sandboxes', undefined, undefined, o),
      name,
      (sb) => {
        const p = sb.status?.phase;
        if (p === phase && (sb.status?.observedGeneration ?? 0) >= (sb.metadata.generation ?? 0)) return true;
        if (p && dead.includes(p))
          throw new MboxApiError({ status: 'Failure', reason: p, message: `sandbox "${name}" is ${p}${sb.status?.reason ? ` (${sb.status.reason})` : ''}: ${sb.status?.message ?? ''}` });
        return false;
      },
      o,
    );
  }

  /** Sets spec.state (a merge patch); with wait, returns once the sandbox is in that phase. */
  async stopSandbox(name: string, o: WaitOptions & { wait?: boolean } = {}): Promise<Sandbox> {
    return this.setState(name, 'Stopped', o);
  }
  async startSandbox(name: string, o: WaitOptions & { wait?: boolean } = {}): Promise<Sandbox> {
    return this.setState(name, 'Running', o);
  }
  private async setState(name: string, state: 'Running' | 'Stopped', o: WaitOptions & { wait?: boolean }): Promise<Sandbox> {
    const sb = await this.transport.json<Sandbox>(await this.nsPath(MBOX, 'sandboxes', name, undefined, o), {
      method: 'PATCH',
      body: { spec: { state } },
      contentType: 'application/merge-patch+json',
      signal: o.signal,
    });
    if (!o.wait) return sb;
    const done = (x: Sandbox) => x.status?.phase === state && (x.status?.observedGeneration ?? 0) >= (x.metadata.generation ?? 0);
    return done(sb) ? sb : this.waitForSandboxPhase(name, state, { ...o, resourceVersion: sb.metadata.resourceVersion });
  }

  /** Deletes a sandbox with its workspace; with wait, returns once it is gone. */
  async deleteSandbox(name: string, o: WaitOptions & { wait?: boolean } = {}): Promise<void> {
    const coll = await this.nsPath(MBOX, 'sandboxes', undefined, undefined, o);
    await this.transport.json(`${coll}/${enc(name)}`, { method: 'DELETE', signal: o.signal });
    if (o.wait) await this.waitGone(coll, name, o);
  }

  // ---- waiting on one object, by a watch ----

  /** Waits until done(object) for the object name of collection path: a list (unless o.resourceVersion
   * is given), then a watch. */
  async waitFor<T extends { metadata: { name?: string } }>(path: string, name: string, done: (o: T) => boolean, o: WaitOptions = {}): Promise<T> {
    const signal = within(o.signal, o.timeoutMs ?? 300_000);
    try {
      const w = { fieldSelector: `metadata.name=${name}`, resourceVersion: o.resourceVersion, signal };
      for await (const ev of watchCollection<T>(this.transport, path, w)) {
        if (ev.type === 'DELETED') throw new NotFoundError({ status: 'Failure', reason: 'NotFound', code: 404, message: `"${name}" was deleted while waiting for it` });
        if (done(ev.object)) return ev.object;
      }
    } catch (e) {
      if (o.signal?.aborted) throw o.signal.reason;
      if (signal.aborted) throw new MboxApiError({ status: 'Failure', reason: 'Timeout', message: `timed out waiting for "${name}"` });
      throw e;
    }
    throw new MboxApiError({ status: 'Failure', message: `the watch of "${name}" ended` });
  }

  /** Waits until the object is gone: its DELETED event, watched from the version a GET read (a list
   * after the GET could already miss the object, and then no event would ever come). */
  private async waitGone(path: string, name: string, o: WaitOptions): Promise<void> {
    let rv: string | undefined;
    try {
      rv = (await this.transport.json<{ metadata: ObjectMeta }>(`${path}/${enc(name)}`, { signal: o.signal })).metadata.resourceVersion;
    } catch (e) {
      if (e instanceof NotFoundError) return;
      throw e;
    }
    try {
      await this.waitFor(path, name, () => false, { ...o, resourceVersion: rv });
    } catch (e) {
      if (e instanceof NotFoundError) return;
      throw e;
    }
  }

  // ---- tasks ----

  /** Runs command in the sandbox as an ExecutionTask; the handle follows its output and waits for its end. */
  async runTask(sandbox: string, command: string[], o: RunTaskOptions = {}): Promise<TaskHandle> {
    const spec: ExecutionTaskSpec = { sandboxRef: { name: sandbox }, command };
    if (o.env) spec.env = Object.entries(o.env).map(([name, value]) => ({ name, value }));
    if (o.workingDir) spec.workingDir = o.workingDir;
    if (o.stdin !== undefined) spec.stdin = o.stdin;
    if (o.timeoutSeconds) spec.timeoutSeconds = o.timeoutSeconds;
    if (o.artifacts) spec.artifacts = o.artifacts;
    if (o.metadata) spec.metadata = o.metadata;
    if (o.ttlSecondsAfterFinished !== undefined) spec.ttlSecondsAfterFinished = o.ttlSecondsAfterFinished;
    const metadata = o.name ? { name: o.name } : { generateName: `${sandbox.slice(0, 57)}-` };
    const task = await this.transport.json<ExecutionTask>(await this.nsPath(MBOX, 'executiontasks', undefined, undefined, o), {
      method: 'POST',
      body: { apiVersion: 'mbox.dev/v1alpha1', kind: 'ExecutionTask', metadata, spec },
      signal: o.signal,
    });
    return new TaskHandle(this, task);
  }

  /** A handle on a task that exists. */
  async task(name: string, o: CallOptions = {}): Promise<TaskHandle> {
    return new TaskHandle(this, await this.getTask(name, o));
  }
  async getTask(name: string, o: CallOptions = {}): Promise<ExecutionTask> {
    return this.transport.json(await this.nsPath(MBOX, 'executiontasks', name, undefined, o), { signal: o.signal });
  }
  async listTasks(o: ListOptions = {}): Promise<List<ExecutionTask>> {
    return this.list(await this.nsPath(MBOX, 'executiontasks', undefined, undefined, o), o);
  }
  async *watchTasks(o: WatchOptions = {}): AsyncGenerator<WatchEvent<ExecutionTask>> {
    yield* watchCollection<ExecutionTask>(this.transport, await this.nsPath(MBOX, 'executiontasks', undefined, undefined, o), o);
  }
  /** Sets the task's spec.cancel: a waiting task never runs, a running one is killed. */
  async cancelTask(name: string, o: CallOptions = {}): Promise<ExecutionTask> {
    return this.transport.json(await this.nsPath(MBOX, 'executiontasks', name, undefined, o), {
      method: 'PATCH',
      body: { spec: { cancel: true } },
      contentType: 'application/merge-patch+json',
      signal: o.signal,
    });
  }
  async deleteTask(name: string, o: CallOptions = {}): Promise<void> {
    await this.transport.json(await this.nsPath(MBOX, 'executiontasks', name, undefined, o), { method: 'DELETE', signal: o.signal });
  }
  async getTaskOutput(name: string, o: CallOptions = {}): Promise<TaskOutput> {
    return this.transport.json(await this.nsPath(RUNTIME, 'taskoutputs', name, undefined, o), { signal: o.signal });
  }
  /** The path of the project's TaskOutputs, for waitFor(). */
  async taskOutputsPath(o: CallOptions = {}): Promise<string> {
    return this.nsPath(RUNTIME, 'taskoutputs', undefined, undefined, o);
  }
  /** The stored output of a task, one stream, as a byte stream; follow: until the output is finished. */
  async readTaskLog(name: string, o: CallOptions & { stream?: 'stdout' | 'stderr'; follow?: boolean; limitBytes?: number } = {}): Promise<Readable> {
    return this.transport.request(await this.nsPath(RUNTIME, 'taskoutputs', name, 'log', o), {
      query: { stream: o.stream ?? 'stdout', follow: o.follow ? 'true' : undefined, limitBytes: o.limitBytes },
      accept: '*/*',
      signal: o.signal,
    });
  }
  /** The path of the project's ExecutionTasks, for waitFor(). */
  async tasksPath(o: CallOptions = {}): Promise<string> {
    return this.nsPath(MBOX, 'executiontasks', undefined, undefined, o);
  }

  // ---- exec, terminal, log, files ----

  /** Runs command in the sandbox's main container over the exec subresource (WebSocket, v5 channels). */
  async exec(sandbox: string, command: string[], o: ExecOptions = {}): Promise<ExecSession> {
    if (!command.length) throw new TypeError('exec needs a command');
    const stdin = o.stdin ?? true;
    return this.transport.websocket(
      await this.nsPath(RUNTIME, 'sandboxes', sandbox, 'exec', o),
      { command, stdin, stdout: true, stderr: !o.tty, tty: !!o.tty },
      [PROTOCOL],
      o.signal,
      (ws, session) => new ExecSession(ws, session, o.signal),
    );
  }

  /** Opens the sandbox's terminal (its template's Terminal entrypoint, else a login shell) on a TTY. */
  async openTerminal(sandbox: string, o: CallOptions & { columns?: number; rows?: number } = {}): Promise<Terminal> {
    const path = await this.nsPath(RUNTIME, 'sandboxes', sandbox, 'terminal', o);
    const t = await this.transport.websocket(path, {}, [PROTOCOL], o.signal, (ws, session) => new Terminal(ws, session, o.signal));
    if (o.columns && o.rows) await t.resize(o.columns, o.rows);
    return t;
  }

  /** The log of the sandbox's main container, as a byte stream; follow: go on as it grows. */
  async readSandboxLog(sandbox: string, o: CallOptions & { follow?: boolean; tailLines?: number; sinceSeconds?: number; timestamps?: boolean } = {}): Promise<Readable> {
    return this.transport.request(await this.nsPath(RUNTIME, 'sandboxes', sandbox, 'log', o), {
      query: { follow: o.follow ? 'true' : undefined, tailLines: o.tailLines, sinceSeconds: o.sinceSeconds, timestamps: o.timestamps ? 'true' : undefined },
      accept: '*/*',
      signal: o.signal,
    });
  }

  /** The entries of a directory of the sandbox. */
  async listFiles(sandbox: string, path: string, o: CallOptions = {}): Promise<FileList> {
    const list = await this.transport.json<FileList>(await this.nsPath(RUNTIME, 'sandboxes', sandbox, 'files', o), { query: { path }, signal: o.signal });
    if (list.kind !== 'FileList') throw new MboxApiError({ status: 'Failure', reason: 'BadRequest', code: 400, message: `${path} is not a directory in sandbox ${sandbox}` });
    return list;
  }
  /** A file of the sandbox, as a byte stream. */
  async readFile(sandbox: string, path: string, o: CallOptions = {}): Promise<Readable> {
    return this.transport.request(await this.nsPath(RUNTIME, 'sandboxes', sandbox, 'files', o), { query: { path }, accept: 'application/octet-stream', signal: o.signal });
  }
  /** Writes data (bytes, text or a stream; at most 1 MiB) as the file at path; mode like "0644". */
  async writeFile(sandbox: string, path: string, data: Readable | Buffer | Uint8Array | string, o: CallOptions & { mode?: string } = {}): Promise<Status> {
    return this.transport.json<Status>(await this.nsPath(RUNTIME, 'sandboxes', sandbox, 'files', o), {
      method: 'PUT',
      query: { path, mode: o.mode },
      body: data,
      contentType: 'application/octet-stream',
      signal: o.signal,
    });
  }
  /** Removes a file, a symlink or an empty directory (recursive: a directory with what it holds). */
  async deleteFile(sandbox: string, path: string, o: CallOptions & { recursive?: boolean } = {}): Promise<Status> {
    return this.transport.json<Status>(await this.nsPath(RUNTIME, 'sandboxes', sandbox, 'files', o), {
      method: 'DELETE',
      query: { path, recursive: o.recursive ? 'true' : undefined },
      signal: o.signal,
    });
  }

  // ---- previews ----

  /** A signed link to one port of the sandbox for a browser (a PreviewGrant); ttlSeconds 60..3600. */
  async createPreviewGrant(sandbox: string, port: string, o: CallOptions & { ttlSeconds?: number } = {}): Promise<PreviewGrant> {
    return this.transport.json<PreviewGrant>(await this.nsPath(RUNTIME, 'previewgrants', undefined, undefined, o), {
      method: 'POST',
      body: { apiVersion: 'runtime.mbox.dev/v1alpha1', kind: 'PreviewGrant', spec: { sandbox, port, ttlSeconds: o.ttlSeconds } },
      signal: o.signal,
    });
  }
  /** The URL a browser opens for the port: the grant's link. */
  async previewUrl(sandbox: string, port: string, o: CallOptions & { ttlSeconds?: number } = {}): Promise<string> {
    const g = await this.createPreviewGrant(sandbox, port, o);
    if (!g.status?.url) throw new MboxApiError({ status: 'Failure', message: 'the preview grant came back without a URL' });
    return g.status.url;
  }

  // ---- artifacts ----

  /** Registers a file of a sandbox (or one a task wrote) as an Artifact. */
  async createArtifact(o: CreateArtifactOptions): Promise<Artifact> {
    const uri = o.path.includes('://') ? o.path : `workspace://${o.path}`;
    const spec: Artifact['spec'] = { uri };
    if (o.kind) spec.kind = o.kind;
    if (o.title) spec.name = o.title;
    if (o.contentType) spec.contentType = o.contentType;
    if (o.task) spec.task = { name: o.task };
    if (o.sandbox) spec.sandbox = o.sandbox;
    const prefix = `${(o.task ?? o.sandbox ?? 'artifact').slice(0, 57)}-`;
    const metadata = { ...(o.name ? { name: o.name } : { generateName: prefix }), labels: o.labels };
    return this.transport.json<Artifact>(await this.nsPath(RUNTIME, 'artifacts', undefined, undefined, o), {
      method: 'POST',
      body: { apiVersion: 'runtime.mbox.dev/v1alpha1', kind: 'Artifact', metadata, spec },
      signal: o.signal,
    });
  }
  async getArtifact(name: string, o: CallOptions = {}): Promise<Artifact> {
    return this.transport.json(await this.nsPath(RUNTIME, 'artifacts', name, undefined, o), { signal: o.signal });
  }
  async listArtifacts(o: ListOptions = {}): Promise<List<Artifact>> {
    return this.list(await this.nsPath(RUNTIME, 'artifacts', undefined, undefined, o), o);
  }
  async *watchArtifacts(o: WatchOptions = {}): AsyncGenerator<WatchEvent<Artifact>> {
    yield* watchCollection<Artifact>(this.transport, await this.nsPath(RUNTIME, 'artifacts', undefined, undefined, o), o);
  }
  async deleteArtifact(name: string, o: CallOptions = {}): Promise<void> {
    await this.transport.json(await this.nsPath(RUNTIME, 'artifacts', name, undefined, o), { method: 'DELETE', signal: o.signal });
  }
  /** The bytes of a workspace:// artifact, read from its running sandbox, as a stream. */
  async downloadArtifact(name: string, o: CallOptions = {}): Promise<Readable> {
    return this.transport.request(await this.nsPath(RUNTIME, 'artifacts', name, 'content', o), { accept: '*/*', signal: o.signal });
  }

  // ---- history and sessions ----

  private historySelectors(q: HistoryQuery): string | undefined {
    const parts = [q.fieldSelector, q.kind && `object.kind=${q.kind}`, q.name && `object.name=${q.name}`].filter(Boolean);
    return parts.length ? parts.join(',') : undefined;
  }
  /** The states objects went through, oldest first (objecthistories). */
  async listHistory(q: HistoryQuery = {}): Promise<List<ObjectHistory>> {
    return this.transport.json<List<ObjectHistory>>(await this.nsPath(RUNTIME, 'objecthistories', undefined, undefined, q), {
      query: { fieldSelector: this.historySelectors(q), labelSelector: q.labelSelector, since: iso(q.since), until: iso(q.until), limit: q.limit, continue: q.continue },
      signal: q.signal,
    });
  }
  /** The states so far (a list), then each new one as it is stored. A watch takes no time range (since,
   * until) nor paging (limit, continue): list with listHistory for those. */
  async *watchHistory(q: WatchHistoryQuery = {}): AsyncGenerator<WatchEvent<ObjectHistory>> {
    const path = await this.nsPath(RUNTIME, 'objecthistories', undefined, undefined, q);
    yield* watchCollection<ObjectHistory>(this.transport, path, { ...q, fieldSelector: this.historySelectors(q) });
  }
  async listSessions(o: ListOptions = {}): Promise<List<Session>> {
    return this.list(await this.nsPath(RUNTIME, 'sessions', undefined, undefined, o), o);
  }
  async getSession(name: string, o: CallOptions = {}): Promise<Session> {
    return this.transport.json(await this.nsPath(RUNTIME, 'sessions', name, undefined, o), { signal: o.signal });
  }
  async *watchSessions(o: WatchOptions = {}): AsyncGenerator<WatchEvent<Session>> {
    yield* watchCollection<Session>(this.transport, await this.nsPath(RUNTIME, 'sessions', undefined, undefined, o), o);
  }
}
