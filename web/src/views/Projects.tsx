// The projects the user may see, live: counts, members and a summary of the policy.
import { useState } from 'preact/hooks';
import { ApiError, MBOX } from '../lib/api';
import { navigate, useWatch } from '../lib/hooks';
import { recentProjects } from '../lib/project';
import type { Project } from '../lib/types';
import { Empty, ErrorBox, Link, Loading, Scroll } from '../ui';

export function policySummary(p: Project): string {
  const pol = p.spec?.policy ?? {};
  const parts: string[] = [];
  const net = pol.network;
  parts.push(net?.allowInternet ? 'internet allowed' : 'no internet');
  if (net?.egress?.length) parts.push(`${net.egress.length} egress rule${net.egress.length > 1 ? 's' : ''}`);
  if (pol.allowPublicPreviews) parts.push('public previews');
  if (pol.lifecycle?.idleTimeout) parts.push(`idle stop ${pol.lifecycle.idleTimeout}`);
  if (pol.lifecycle?.maxLifetime) parts.push(`max lifetime ${pol.lifecycle.maxLifetime}`);
  if (pol.credentials?.length) parts.push(`${pol.credentials.length} credential${pol.credentials.length > 1 ? 's' : ''}`);
  return parts.join(' · ');
}

function OpenByName() {
  const [name, setName] = useState('');
  const recent = recentProjects();
  return (
    <section aria-labelledby="open-h">
      <h2 id="open-h">Open a project</h2>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) navigate(`/projects/${encodeURIComponent(name.trim())}`);
        }}
      >
        <label for="open-name">Project name</label>
        <input id="open-name" value={name} onInput={(e) => setName(e.currentTarget.value)} autoComplete="off" />
        <button type="submit" class="primary" disabled={!name.trim()}>
          Open
        </button>
      </form>
      {recent.length > 0 && (
        <p>
          Opened before:{' '}
          {recent.map((r) => (
            <>
              <Link href={`/projects/${encodeURIComponent(r)}`}>{r}</Link>{' '}
            </>
          ))}
        </p>
      )}
    </section>
  );
}

export function Projects() {
  const { items, synced, error } = useWatch<Project>(`${MBOX}/projects`);
  const forbidden = error instanceof ApiError && error.code === 403;
  items.sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  return (
    <>
      <h1>Projects</h1>
      {error !== undefined &&
        (forbidden ? (
          <div class="note" role="status">
            Your role cannot list all projects ({(error as ApiError).message}). Members of a project open it by its name.
          </div>
        ) : (
          <ErrorBox error={error} what="list projects" />
        ))}
      {!synced && error === undefined && <Loading what="projects" />}
      {synced && items.length === 0 && <Empty>No projects yet. A cluster admin creates one with a Project object (kubectl apply).</Empty>}
      {items.length > 0 && (
        <Scroll label="Projects">
          <table>
            <caption class="sr-only">Projects</caption>
            <thead>
              <tr>
                <th scope="col">Project</th>
                <th scope="col">Namespace</th>
                <th scope="col">Sandboxes (running)</th>
                <th scope="col">Templates</th>
                <th scope="col">Members</th>
                <th scope="col">Policy</th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.metadata.name}>
                  <td>
                    <Link href={`/projects/${encodeURIComponent(p.metadata.name!)}`}>{p.spec?.displayName || p.metadata.name}</Link>
                  </td>
                  <td>{p.status?.namespace ?? '—'}</td>
                  <td>
                    {p.status?.sandboxes ?? 0} ({p.status?.runningSandboxes ?? 0})
                  </td>
                  <td>{p.status?.templates ?? 0}</td>
                  <td>
                    {(p.spec?.members ?? []).map((m) => (
                      <span class="chip" key={`${m.kind}/${m.name}`}>
                        {m.name} <small>{m.role}</small>
                      </span>
                    ))}
                  </td>
                  <td>{policySummary(p)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      <OpenByName />
    </>
  );
}
