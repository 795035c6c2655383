// The Storage tab: the sandbox's workspace volume (its PersistentVolumeClaim) and its size.
import { useWatch } from '../../lib/hooks';
import { nsPath } from '../../lib/project';
import type { Pvc } from '../../lib/types';
import { Empty, ErrorBox, Loading, Scroll } from '../../ui';
import type { TabProps } from '../Workspace';

export function StorageTab(p: TabProps) {
  const live = useWatch<Pvc>(nsPath('/api/v1', p.ns, 'persistentvolumeclaims'));
  const name = p.sb.metadata.name!;
  const pvcs = live.items.filter((c) => {
    const n = c.metadata.name ?? '';
    const l = c.metadata.labels ?? {};
    return n.includes(name) || Object.values(l).includes(name) || (p.sb.status?.claimName && n.includes(p.sb.status.claimName));
  });
  return (
    <>
      {live.error !== undefined && <ErrorBox error={live.error} what="list the volumes" />}
      {!live.synced && live.error === undefined && <Loading what="volumes" />}
      {live.synced && pvcs.length === 0 && <Empty>This sandbox has no persistent workspace (its template sets no storage).</Empty>}
      {pvcs.length > 0 && (
        <Scroll label="Volumes">
        <table>
          <caption class="sr-only">Volumes</caption>
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
