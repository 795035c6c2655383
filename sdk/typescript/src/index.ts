// @mbox/sdk: the TypeScript SDK of mbox.
export { MboxClient } from './client.js';
export type { MboxClientOptions, ListOptions, CreateSandboxOptions, WaitOptions, RunTaskOptions, ExecOptions, CreateArtifactOptions, HistoryQuery, WatchHistoryQuery } from './client.js';
export { TaskHandle, isFinal, resultOf } from './task.js';
export type { TaskResult, TaskPhase, OutputChunk } from './task.js';
export { ExecSession, Terminal } from './exec.js';
export * as channel from './channel.js';
export {
  MboxApiError,
  NotFoundError,
  ConflictError,
  ForbiddenError,
  UnauthorizedError,
  InvalidError,
  GoneError,
  TooManyRequestsError,
  errorFromStatus,
  errorFromResponse,
} from './errors.js';
export { watchCollection, stepFor, relistEvents, ndjson } from './watch.js';
export type { WatchEvent, WatchEventType, WatchOptions, Step, RawWatchEvent, KubeObject } from './watch.js';
export { Transport } from './transport.js';
export type { CallOptions, RequestOptions } from './transport.js';
export type * from './generated/crds.js';
export { crdResources } from './generated/crds.js';
export type * from './runtime.js';
export type * from './meta.js';
export { KubeConfig } from '@kubernetes/client-node';
