// The API's types, shared with the SDK: type-only imports, so none of the SDK's (Node) code is bundled.
export type { EnvironmentTemplate, ExecutionTask, Project, Sandbox } from '../../../sdk/typescript/src/generated/crds';
export type { List, ObjectMeta, Status, StatusCause } from '../../../sdk/typescript/src/meta';
export type { Artifact, ObjectHistory, PreviewGrant, Session, TaskOutput } from '../../../sdk/typescript/src/runtime';

/** A core/v1 Event, the fields the console shows. */
export interface KubeEvent {
  metadata: import('../../../sdk/typescript/src/meta').ObjectMeta;
  involvedObject?: { kind?: string; name?: string; uid?: string };
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  source?: { component?: string };
  reportingComponent?: string;
}

/** A core/v1 PersistentVolumeClaim, the fields the console shows. */
export interface Pvc {
  metadata: import('../../../sdk/typescript/src/meta').ObjectMeta;
  spec?: { resources?: { requests?: { storage?: string } }; storageClassName?: string; accessModes?: string[] };
  status?: { phase?: string; capacity?: { storage?: string } };
}
