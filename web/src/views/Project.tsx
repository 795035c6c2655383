// One project: its summary and its sandboxes, live, with stop, start and delete.
import { useEffect } from 'preact/hooks';
import { MBOX } from '../lib/api';
import { age, useWatch } from '../lib/hooks';
import { nsPath, rememberProject, useProject } from '../lib/project';
import type { Sandbox } from '../lib/types';
import { Empty, ErrorBox, Link, Loading, Phase, Scroll } from '../ui';
import { policySummary } from './Projects';
import { SandboxActions } from './SandboxActions';

export function ProjectView(p: { project: string }) {
  const info = useProject(p.project);
  const ns = info.data?.namespace;
  const live = useWatch<Sandbox>(ns ? nsPath(MBOX, ns, 'sandboxes') : null);
  useEffect(() => {
    if (live.synced) rememberProject(p.project);
  }, [live.synced, p.project]);
  const proj = info.data?.project;
  const base = `/projects/${encodeURIComponent(p.project)}`;
  const items = [...live.items].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link href="/">Projects</Link> / {p.project}
      </nav>
      <div class="titlebar">
        <h1>{proj?.spec?.displayName || p.project}</h1>
        <Link href={`${base}/templates`} class="button">
          Templates
        </Link>
        <Link href={`${base}/launch`} class="button primary">
          Launch a sandbox
        </Link>
      </div>
      {info.loading && !info.data && <Loading what="the project" />}
      {info.error !== undefined && <ErrorBox error={info.error} what="read the project" />}
      {proj && (
        <dl class="summary">
          <dt>Namespace</dt>
          <dd>{ns}</dd>
          <dt>Sandboxes</dt>
          <dd>
            {proj.status?.sandboxes ?? 0}, {proj.status?.runningSandboxes ?? 0} running
          </dd>
          <dt>Members</dt>
          <dd>{(proj.spec?.members ?? []).map((m) => `${m.name} (${m.role})`).join(', ') || 'none'}</dd>
          <dt>Policy</dt>
          <dd>{policySummary(proj)}</dd>
        </dl>
      )}
      {info.data?.readError !== undefined && <p class="note">Namespace {ns} (your role cannot read the Project itself).</p>}
      <h2>Sandboxes</h2>
      {live.error !== undefined && <ErrorBox error={live.error} what="list the sandboxes" />}
      {ns && !live.synced && live.error === undefined && <Loading what="sandboxes" />}
      {live.synced && items.length === 0 && (
        <Empty>
          No sandboxes in this project. <Link href={`${base}/launch`}>Launch one</Link>.
        </Empty>
      )}
      {items.length > 0 && (
        <Scroll label="Sandboxes">
          <table id="sandboxes">
            <caption class="sr-only">Sandboxes</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Phase</th>
                <th scope="col">Template</th>
                <th scope="col">Age</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((sb) => (
                <tr key={sb.metadata.name} data-sandbox={sb.metadata.name}>
                  <td>
                    <Link href={`${base}/sandboxes/${encodeURIComponent(sb.metadata.name!)}`}>{sb.metadata.name}</Link>
                  </td>
                  <td>
                    <Phase phase={sb.status?.phase} />
                    {sb.status?.reason && <small> {sb.status.reason}</small>}
                  </td>
                  <td>{sb.spec?.templateRef?.name ?? sb.status?.template?.name ?? 'default'}</td>
                  <td>{age(sb.metadata.creationTimestamp)}</td>
                  <td>{ns && <SandboxActions ns={ns} sb={sb} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
    </>
  );
}
