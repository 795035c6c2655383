// The History tab: every state of the sandbox as the history mirror stored it, live, and a diff of two.
import { useState } from 'preact/hooks';
import { RUNTIME } from '../../lib/api';
import { diff } from '../../lib/diff';
import { useWatch } from '../../lib/hooks';
import { nsPath } from '../../lib/project';
import type { ObjectHistory } from '../../lib/types';
import { Empty, ErrorBox, Loading, Phase, Scroll } from '../../ui';
import type { TabProps } from '../Workspace';

const when = (h: ObjectHistory) => h.changedAt ?? h.recordedAt ?? h.metadata.creationTimestamp ?? '';

export function HistoryTab(p: TabProps) {
  const name = p.sb.metadata.name!;
  const live = useWatch<ObjectHistory>(nsPath(RUNTIME, p.ns, 'objecthistories'), { fieldSelector: `object.kind=Sandbox,object.name=${name}` });
  const [pick, setPick] = useState<string[]>([]);
  const states = [...live.items].sort((a, b) => when(a).localeCompare(when(b)) || Number(a.object.resourceVersion ?? 0) - Number(b.object.resourceVersion ?? 0));
  const toggle = (n: string) => setPick((ps) => (ps.includes(n) ? ps.filter((x) => x !== n) : [...ps, n].slice(-2)));
  const [a, b] = pick.map((n) => states.find((s) => s.metadata.name === n)).filter(Boolean) as ObjectHistory[];
  const ordered = a && b && when(a) > when(b) ? [b, a] : [a, b];
  const changes = a && b ? diff(ordered[0].state, ordered[1].state) : [];
  return (
    <div class="split">
      <div>
        {live.error !== undefined && <ErrorBox error={live.error} what="read the history" />}
        {!live.synced && live.error === undefined && <Loading what="history" />}
        {live.synced && states.length === 0 && <Empty>No states stored yet.</Empty>}
        {states.length > 0 && (
          <Scroll label="States">
          <table id="history">
            <caption>
              {states.length} state{states.length === 1 ? '' : 's'}; pick two to compare
            </caption>
            <thead>
              <tr>
                <th scope="col">Compare</th>
                <th scope="col">Change</th>
                <th scope="col">Phase</th>
                <th scope="col">At</th>
              </tr>
            </thead>
            <tbody>
              {states.map((h, i) => (
                <tr key={h.metadata.name}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`State ${i + 1}, ${h.type} at ${when(h)}`}
                      checked={pick.includes(h.metadata.name!)}
                      onChange={() => toggle(h.metadata.name!)}
                    />
                  </td>
                  <td>{h.type}</td>
                  <td>
                    <Phase phase={h.phase} />
                  </td>
                  <td>
                    <time dateTime={when(h)}>{new Date(when(h)).toLocaleString()}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          </Scroll>
        )}
      </div>
      <section aria-label="Difference" class="diff">
        {!(a && b) && <p class="state">Pick two states to see what changed between them.</p>}
        {a && b && changes.length === 0 && <p class="state">The two states are the same.</p>}
        {changes.length > 0 && (
          <Scroll label="What changed">
          <table>
            <caption>What changed</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Before</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {changes.map((c) => (
                <tr key={c.path}>
                  <td>
                    <code>{c.path}</code>
                  </td>
                  <td class="del">{c.before ?? '—'}</td>
                  <td class="ins">{c.after ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          </Scroll>
        )}
      </section>
    </div>
  );
}
