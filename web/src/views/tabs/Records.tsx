// The Artifacts and Sessions tabs: runtime.mbox.dev records of the sandbox, live.
import { RUNTIME } from '../../lib/api';
import { age, useWatch } from '../../lib/hooks';
import { nsPath } from '../../lib/project';
import type { Artifact, Session } from '../../lib/types';
import { Empty, ErrorBox, Loading, Phase, Scroll } from '../../ui';
import type { TabProps } from '../Workspace';

function size(n?: number): string {
  if (n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

export function ArtifactsTab(p: TabProps) {
  const name = p.sb.metadata.name!;
  const live = useWatch<Artifact>(nsPath(RUNTIME, p.ns, 'artifacts'));
  const items = live.items.filter((a) => a.spec?.sandbox === name);
  return (
    <>
      {live.error !== undefined && <ErrorBox error={live.error} what="list the artifacts" />}
      {!live.synced && live.error === undefined && <Loading what="artifacts" />}
      {live.synced && items.length === 0 && <Empty>No artifacts. A task's spec.artifacts, or mbox artifact create, registers files.</Empty>}
      {items.length > 0 && (
        <Scroll label="Artifacts">
        <table>
          <caption class="sr-only">Artifacts</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Path</th>
              <th scope="col">Size</th>
              <th scope="col">From</th>
              <th scope="col">
                <span class="sr-only">Download</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <tr key={a.metadata.name}>
                <td>{a.spec.name || a.metadata.name}</td>
                <td>{a.spec.kind ?? 'file'}</td>
                <td>
                  <code>{a.spec.path ?? a.spec.uri}</code>
                </td>
                <td>{size(a.spec.sizeBytes)}</td>
                <td>{a.spec.task?.name ? `task ${a.spec.task.name}` : (a.status?.registeredBy ?? a.status?.source)}</td>
                <td>
                  {a.spec.uri.startsWith('workspace://') && (
                    <a href={nsPath(RUNTIME, p.ns, 'artifacts', a.metadata.name, 'content')} download={(a.spec.path ?? a.metadata.name ?? '').split('/').pop()}>
                      Download
                    </a>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </Scroll>
      )}
    </>
  );
}

export function SessionsTab(p: TabProps) {
  const name = p.sb.metadata.name!;
  const live = useWatch<Session>(nsPath(RUNTIME, p.ns, 'sessions'));
  const items = live.items.filter((s) => s.spec?.sandbox === name).sort((a, b) => (b.status?.startedAt ?? '').localeCompare(a.status?.startedAt ?? ''));
  return (
    <>
      {live.error !== undefined && <ErrorBox error={live.error} what="list the sessions" />}
      {!live.synced && live.error === undefined && <Loading what="sessions" />}
      {live.synced && items.length === 0 && <Empty>No exec or terminal sessions yet.</Empty>}
      {items.length > 0 && (
        <Scroll label="Sessions">
          <table>
            <caption class="sr-only">Sessions</caption>
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">Kind</th>
                <th scope="col">User</th>
                <th scope="col">Command</th>
                <th scope="col">Phase</th>
                <th scope="col">Exit</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.metadata.name}>
                  <td>{s.metadata.name}</td>
                  <td>{s.spec.kind}</td>
                  <td>{s.spec.user?.name}</td>
                  <td>
                    <code>{(s.spec.command ?? []).join(' ')}</code>
                  </td>
                  <td>
                    <Phase phase={s.status?.phase} /> {s.status?.reason && <small>{s.status.reason}</small>}
                  </td>
                  <td>{s.status?.exitCode ?? ''}</td>
                  <td>{age(s.status?.startedAt)} ago</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
    </>
  );
}
