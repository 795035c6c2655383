// The kinds of runtime.mbox.dev/v1alpha1 that mbox-apiserver serves (docs/apiserver.md, docs/sessions.md,
// docs/previews.md), typed by hand: they have no CRD to generate them from.
import type { ObjectMeta } from './meta.js';

/** The full output of an ExecutionTask as stored (taskoutputs; read-only). Named like the task. */
export interface TaskOutput {
  apiVersion?: 'runtime.mbox.dev/v1alpha1';
  kind?: 'TaskOutput';
  metadata: ObjectMeta;
  status?: {
    /** The uid of the task run this output is of. */
    taskUID?: string;
    stdoutBytes?: number;
    stderrBytes?: number;
    /** Whether the output is finished and stored whole. */
    complete?: boolean;
    error?: string;
    /** The most of the output that is stored. */
    limitBytes?: number;
    truncated?: boolean;
    droppedBytes?: number;
    startedAt?: string;
    finishedAt?: string;
  };
}

/** A reference to a file, what it is and where it came from (artifacts). */
export interface Artifact {
  apiVersion?: 'runtime.mbox.dev/v1alpha1';
  kind?: 'Artifact';
  metadata: ObjectMeta;
  spec: {
    /** A DNS label: file (default), report, log, ... */
    kind?: string;
    /** A name for people. */
    name?: string;
    /** workspace:///ABSOLUTE/PATH, or another scheme://... (required). */
    uri: string;
    /** A workspace URI's path, filled in by the server. */
    path?: string;
    contentType?: string;
    sizeBytes?: number;
    /** sha256:HEX or sha512:HEX. */
    digest?: string;
    /** The task that wrote it: the server fills in its uid, sandbox and pod. */
    task?: { name?: string; uid?: string };
    sandbox?: string;
    pod?: string;
  };
  status?: {
    /** Task (recorded by mbox-operator) or Registered (created through the API). */
    source?: 'Task' | 'Registered';
    registeredBy?: string;
  };
}

/** One state of an mbox object as the history mirror stored it (objecthistories; read-only). */
export interface ObjectHistory {
  apiVersion?: 'runtime.mbox.dev/v1alpha1';
  kind?: 'ObjectHistory';
  metadata: ObjectMeta;
  object: { apiVersion: string; kind: string; name: string; uid: string; resourceVersion?: string };
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The object's status.phase in that state. */
  phase?: string;
  changedAt?: string;
  recordedAt?: string;
  /** The whole object as it was, without managedFields. */
  state?: { [key: string]: unknown };
}

/** One exec or terminal session opened on a Sandbox (sessions; read-only). */
export interface Session {
  apiVersion?: 'runtime.mbox.dev/v1alpha1';
  kind?: 'Session';
  metadata: ObjectMeta;
  spec: {
    sandbox: string;
    pod?: string;
    kind: 'exec' | 'terminal';
    command?: string[];
    tty?: boolean;
    user?: { name?: string; uid?: string; groups?: string[] };
  };
  status?: {
    phase?: 'Active' | 'Ended';
    startedAt?: string;
    endedAt?: string;
    bytesIn?: number;
    bytesOut?: number;
    exitCode?: number;
    /** Exited, ClientClosed, IdleTimeout, SandboxClosed, SandboxStopped, ServerShutdown, Limit, Error. */
    reason?: string;
  };
}

/** A short-lived signed link to one port of a Sandbox (previewgrants; create only). */
export interface PreviewGrant {
  apiVersion?: 'runtime.mbox.dev/v1alpha1';
  kind?: 'PreviewGrant';
  metadata?: ObjectMeta;
  spec: {
    sandbox: string;
    /** The name of one of its ports (status.previewURLs[].name). */
    port: string;
    /** 60 to 3600, default 300. */
    ttlSeconds?: number;
  };
  status?: { url?: string; expirationTimestamp?: string };
}

/** The access log of previews, one port, minute and user or grant (previewaccesses; read-only). */
export interface PreviewAccess {
  apiVersion?: 'runtime.mbox.dev/v1alpha1';
  kind?: 'PreviewAccess';
  metadata: ObjectMeta;
  spec: {
    sandbox: string;
    sandboxUID?: string;
    port: number | string;
    user?: string;
    grant?: string;
    via?: 'Gateway' | 'Proxy';
    window?: { start?: string; end?: string };
  };
  status?: {
    requests?: number;
    responses?: { [klass: string]: number };
    bytesIn?: number;
    bytesOut?: number;
    firstRequestAt?: string;
    lastRequestAt?: string;
    maxDurationMicroseconds?: number;
  };
}

/** One entry of a directory listing of sandboxes/NAME/files. */
export interface FileEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  /** Permission bits in octal, for example "0644". */
  mode: string;
  modTime?: string;
  /** What a symlink points to. */
  target?: string;
}

/** A directory listing of sandboxes/NAME/files. */
export interface FileList {
  kind: 'FileList';
  apiVersion: 'runtime.mbox.dev/v1alpha1';
  path: string;
  items: FileEntry[];
}
