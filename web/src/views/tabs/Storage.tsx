// The Storage tab: the workspace the sandbox's template declares, and its PersistentVolumeClaim (size,
// capacity, class, phase) for roles that may read claims.
import { ApiError, MBOX, json } from '../../lib/api';
import { useLoad, useWatch } from '../../lib/hooks';
import { nsPath } from '../../lib/project';
import type { EnvironmentTemplate, Pvc } from '../../lib/types';
import { Empty, ErrorBox, Loading, Scroll } from '../../ui';
import type { TabProps } from '../Workspace';

function Declared(p: TabProps) {
  const ref = p.sb.status?.template ?? p.sb.spec?.templateRef;
  const tpl = useLoad(
    (signal) => (ref?.name ? json<EnvironmentTemplate>(nsPath(MBOX, ref.namespace || p.ns, 'environmenttemplates', ref.name), { signal }) : Promise.resolve(undefined)),
    [p.ns, ref?.name, ref?.namespace],
  );
  if (tpl.loading) return <Loading what="the template's storage" />;
  if (tpl.error !== undefined) return <ErrorBox error={tpl.error} what="read the template" />;
  const st = tpl.data?.spec?.storage;
  if (!st) return <Empty>This sandbox has no persistent workspace (its template {ref?.name ?? ''} declares no storage).</Empty>;
  return (
    <dl class="summary">
      <dt>Workspace</dt>
      <dd>
        {String(st.size)} at {st.mountPath ?? '/workspace'}
      </dd>
      <dt>Storage class</dt>
      <dd>{st.storageClassName ?? 'the cluster default'}</dd>
      <dt>Kept</dt>
      <dd>across stops and starts; removed with the sandbox</dd>
    </dl>
  );
}

export function StorageTab(p: TabProps) {
  const live = useWatch<Pvc>(nsPath('/api/v1', p.ns, 'persistentvolumeclaims'));
  const name = p.sb.metadata.name!;
  const pvcs = live.items.filter((c) => {
    const n = c.metadata.name ?? '';
    const l = c.metadata.labels ?? {};
    // agent-sandbox names a workspace claim <volume>-<its Sandbox>, and the pod after that Sandbox
    const pod = p.sb.status?.podName;
    return n.includes(name) || Object.values(l).includes(name) || (p.sb.status?.claimName && n.includes(p.sb.status.claimName)) || (pod && n.endsWith(`-${pod}`));
  });
  const forbidden = live.error instanceof ApiError && live.error.code === 403;
  return (
    <>
      <Declared {...p} />
      <h2>Volume claims</h2>
      {forbidden && <p class="note">Your role cannot read PersistentVolumeClaims, so only the declared workspace is shown ({(live.error as ApiError).message}).</p>}
      {live.error !== undefined && !forbidden && <ErrorBox error={live.error} what="list the volume claims" />}
      {!live.synced && live.error === undefined && <Loading what="volume claims" />}
      {live.synced && pvcs.length === 0 && <Empty>No volume claim of this sandbox.</Empty>}
      {pvcs.length > 0 && (
        <Scroll label="Volume claims">
          <table>
            <caption class="sr-only">Volume claims</caption>
            <thead>
              <tr>
                <th scope="col">Claim</th>
                <th scope="col">Requested</th>
                <th scope="col">Capacity</th>
                <th scope="col">Class</th>
                <th scope="col">Phase</th>
              </tr>
            </thead>
            <tbody>
              {pvcs.map((c) => (
                <tr key={c.metadata.name}>
                  <td>{c.metadata.name}</td>
                  <td>{c.spec?.resources?.requests?.storage ?? '—'}</td>
                  <td>{c.status?.capacity?.storage ?? '—'}</td>
                  <td>{c.spec?.storageClassName ?? 'default'}</td>
                  <td>{c.status?.phase}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
    </>
  );
}
