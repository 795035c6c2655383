// The Events tab: the namespace's Events about the sandbox and what mbox made for it, live.
import { useWatch, age } from '../../lib/hooks';
import { nsPath } from '../../lib/project';
import type { KubeEvent } from '../../lib/types';
import { Empty, ErrorBox, Loading, Scroll } from '../../ui';
import type { TabProps } from '../Workspace';

export function EventsTab(p: TabProps) {
  const name = p.sb.metadata.name!;
  const live = useWatch<KubeEvent>(nsPath('/api/v1', p.ns, 'events'));
  const mine = (e: KubeEvent) => {
    const n = e.involvedObject?.name ?? '';
    return n === name || n.startsWith(`${name}-`) || n === p.sb.status?.podName || n === p.sb.status?.claimName || n === p.sb.status?.sandboxName;
  };
  const at = (e: KubeEvent) => e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '';
  const items = live.items.filter(mine).sort((a, b) => at(b).localeCompare(at(a)));
  return (
    <>
      {live.error !== undefined && <ErrorBox error={live.error} what="list the events" />}
      {!live.synced && live.error === undefined && <Loading what="events" />}
      {live.synced && items.length === 0 && <Empty>No events about this sandbox (Events are kept for an hour).</Empty>}
      {items.length > 0 && (
        <Scroll label="Events">
          <table>
            <caption class="sr-only">Events</caption>
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Reason</th>
                <th scope="col">Object</th>
                <th scope="col">Message</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.metadata.name} class={e.type === 'Warning' ? 'warning' : ''}>
                  <td>{e.type}</td>
                  <td>{e.reason}</td>
                  <td>
                    {e.involvedObject?.kind}/{e.involvedObject?.name}
                  </td>
                  <td>
                    {e.message}
                    {(e.count ?? 1) > 1 && <small> ×{e.count}</small>}
                  </td>
                  <td>{age(at(e))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
    </>
  );
}
