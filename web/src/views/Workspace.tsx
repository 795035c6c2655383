// The runtime workspace of one sandbox: a starting panel until it runs, then its tabs.
import { MBOX } from '../lib/api';
import { navigate, useWatch } from '../lib/hooks';
import { nsPath, useProject } from '../lib/project';
import type { Sandbox } from '../lib/types';
import { ErrorBox, Link, Loading, Phase } from '../ui';
import { SandboxActions } from './SandboxActions';
import { TerminalTab } from './tabs/Terminal';
import { TasksTab } from './tabs/Tasks';
import { HistoryTab } from './tabs/History';
import { EventsTab } from './tabs/Events';
import { LogsTab } from './tabs/Logs';
import { PreviewTab } from './tabs/Preview';
import { StorageTab } from './tabs/Storage';
import { ArtifactsTab, SessionsTab } from './tabs/Records';

export interface TabProps {
  ns: string;
  sb: Sandbox;
  running: boolean;
}

const TABS: Array<[string, string, (p: TabProps) => preact.JSX.Element]> = [
  ['terminal', 'Terminal', TerminalTab],
  ['tasks', 'Tasks', TasksTab],
  ['history', 'History', HistoryTab],
  ['events', 'Events', EventsTab],
  ['logs', 'Logs', LogsTab],
  ['preview', 'Preview', PreviewTab],
  ['storage', 'Storage', StorageTab],
  ['artifacts', 'Artifacts', ArtifactsTab],
  ['sessions', 'Sessions', SessionsTab],
];

function Starting(p: { sb: Sandbox }) {
  const s = p.sb.status ?? {};
  const stopped = p.sb.spec?.state === 'Stopped';
  return (
    <section class="starting" aria-live="polite" aria-label="Sandbox state">
      <h2>{stopped ? 'The sandbox is stopped' : s.phase === 'Failed' || s.phase === 'Expired' ? `The sandbox is ${s.phase}` : 'Starting the sandbox…'}</h2>
      <p>
        Phase <Phase phase={s.phase} />
        {s.reason && <> — {s.reason}</>}
        {s.message && <>: {s.message}</>}
      </p>
      {(s.conditions ?? []).length > 0 && (
        <ul class="conditions">
          {(s.conditions ?? []).map((c) => (
            <li key={c.type}>
              {c.type}: {c.status}
              {c.reason ? ` (${c.reason})` : ''} {c.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function Workspace(p: { project: string; name: string; tab: string }) {
  const info = useProject(p.project);
  const ns = info.data?.namespace;
  const live = useWatch<Sandbox>(ns ? nsPath(MBOX, ns, 'sandboxes') : null, { fieldSelector: `metadata.name=${p.name}` });
  const sb = live.items[0];
  const base = `/projects/${encodeURIComponent(p.project)}`;
  const here = `${base}/sandboxes/${encodeURIComponent(p.name)}`;
  const running = sb?.status?.phase === 'Running';
  const tab = TABS.find((t) => t[0] === p.tab) ?? TABS[0];
  const Tab = tab[2];
  const onKey = (e: KeyboardEvent) => {
    const i = TABS.indexOf(tab);
    const j = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : -2;
    if (j === -2) return;
    e.preventDefault();
    const next = TABS[(j + TABS.length) % TABS.length];
    navigate(`${here}/${next[0]}`);
    requestAnimationFrame(() => document.getElementById(`tab-${next[0]}`)?.focus());
  };
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link href="/">Projects</Link> / <Link href={base}>{p.project}</Link> / {p.name}
      </nav>
      <div class="titlebar">
        <h1>{p.name}</h1>
        {sb && <Phase phase={sb.status?.phase} />}
        {sb && ns && <SandboxActions ns={ns} sb={sb} onDeleted={() => navigate(base)} />}
      </div>
      {info.error !== undefined && <ErrorBox error={info.error} what="read the project" />}
      {live.error !== undefined && <ErrorBox error={live.error} what="watch the sandbox" />}
      {(!ns || !live.synced) && live.error === undefined && info.error === undefined && <Loading what="the sandbox" />}
      {live.synced && !sb && (
        <div class="error" role="alert">
          There is no sandbox {p.name} in {ns}. <Link href={base}>Back to the project</Link>
        </div>
      )}
      {sb && ns && (
        <>
          {!running && <Starting sb={sb} />}
          <div role="tablist" aria-label="Workspace" class="tabs" onKeyDown={onKey}>
            {TABS.map(([id, label]) => (
              <a
                role="tab"
                id={`tab-${id}`}
                key={id}
                href={`${here}/${id}`}
                aria-selected={id === tab[0]}
                aria-controls="tabpanel"
                tabIndex={id === tab[0] ? 0 : -1}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(`${here}/${id}`);
                }}
              >
                {label}
              </a>
            ))}
          </div>
          <section role="tabpanel" id="tabpanel" aria-labelledby={`tab-${tab[0]}`} class="tabpanel">
            <Tab ns={ns} sb={sb} running={running} key={`${tab[0]}/${sb.metadata.uid}`} />
          </section>
        </>
      )}
    </>
  );
}
