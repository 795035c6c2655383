// The Tasks tab: run a command as an ExecutionTask, follow its output, cancel it, see its exit code.
import { useEffect, useState } from 'preact/hooks';
import { MBOX } from '../../lib/api';
import { age, useWatch } from '../../lib/hooks';
import { nsPath } from '../../lib/project';
import { cancelTask, followOutput, isFinal, runTask, type Chunk } from '../../lib/task';
import type { ExecutionTask } from '../../lib/types';
import { Empty, ErrorBox, Loading, Phase } from '../../ui';
import type { TabProps } from '../Workspace';

function Output(p: { ns: string; task: ExecutionTask }) {
  const [chunks, setChunks] = useState<Chunk[]>([]);
  const [error, setError] = useState<unknown>();
  const t = p.task;
  const started = !!t.status?.startTime || isFinal(t);
  const [mode, setMode] = useState<'waiting' | 'following' | 'stored' | 'tails'>(started ? 'following' : 'waiting');
  useEffect(() => {
    if (!started) return;
    const ac = new AbortController();
    setChunks([]);
    setMode('following');
    followOutput(p.ns, t, (c) => setChunks((cs) => [...cs, c]), ac.signal).then(
      (m) => !ac.signal.aborted && setMode(m),
      (e) => !ac.signal.aborted && setError(e),
    );
    return () => ac.abort();
  }, [p.ns, t.metadata.uid, started]);
  const s = t.status ?? {};
  const tails: Chunk[] = mode === 'tails' && isFinal(t) ? [
    ...(s.stdoutTail ? [{ stream: 'stdout' as const, text: s.stdoutTail }] : []),
    ...(s.stderrTail ? [{ stream: 'stderr' as const, text: s.stderrTail }] : []),
  ] : [];
  const shown = mode === 'tails' ? tails : chunks;
  return (
    <section class="task-output" aria-label={`Output of ${t.metadata.name}`}>
      <p class="task-result" data-phase={s.phase}>
        <strong>{t.metadata.name}</strong> <Phase phase={s.phase} />
        {s.exitCode !== undefined && <span class="exit-code"> exit code {s.exitCode}</span>}
        {s.reason && <small> {s.reason}</small>}
        {s.duration && <small> in {s.duration}</small>}
        {!isFinal(t) && (
          <button type="button" onClick={() => cancelTask(p.ns, t.metadata.name!).catch(setError)}>
            Cancel
          </button>
        )}
      </p>
      {s.message && <p class="note">{s.message}</p>}
      {!started && <p class="state">Waiting for the task to start…</p>}
      {mode === 'following' && chunks.length === 0 && (
        <p class="state" role="status">
          Loading the output…
        </p>
      )}
      {error !== undefined && <ErrorBox error={error} what="read the output" />}
      <pre class="output" tabIndex={0} role="log" aria-label="Task output">
        {shown.map((c, i) => (
          <span key={i} class={c.stream}>
            {c.text}
          </span>
        ))}
      </pre>
      {mode === 'tails' && <p class="help">The output's ends as the task's status keeps them (no stored output).</p>}
      {s.outputTruncated && <p class="help">The stored output was cut at its limit.</p>}
    </section>
  );
}

export function TasksTab(p: TabProps) {
  const name = p.sb.metadata.name!;
  const live = useWatch<ExecutionTask>(nsPath(MBOX, p.ns, 'executiontasks'));
  const [script, setScript] = useState('');
  const [selected, setSelected] = useState<string>();
  const [error, setError] = useState<unknown>();
  const tasks = live.items
    .filter((t) => t.spec?.sandboxRef?.name === name)
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || (b.metadata.name ?? '').localeCompare(a.metadata.name ?? ''));
  const current = tasks.find((t) => t.metadata.name === selected) ?? tasks[0];
  return (
    <div class="split">
      <div>
        <form
          class="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            setError(undefined);
            try {
              const t = await runTask(p.ns, name, script);
              setSelected(t.metadata.name);
            } catch (err) {
              setError(err);
            }
          }}
        >
          <label for="task-cmd">Command</label>
          <input id="task-cmd" value={script} placeholder="echo hello" autoComplete="off" spellcheck={false} onInput={(e) => setScript(e.currentTarget.value)} />
          <button type="submit" class="primary" disabled={!script.trim()}>
            Run
          </button>
        </form>
        <p class="help">Runs with sh -c in the sandbox as an ExecutionTask{p.running ? '' : ' (it waits until the sandbox is Running)'}.</p>
        {error !== undefined && <ErrorBox error={error} what="run the task" />}
        {live.error !== undefined && <ErrorBox error={live.error} what="list the tasks" />}
        {!live.synced && live.error === undefined && <Loading what="tasks" />}
        {live.synced && tasks.length === 0 && <Empty>No tasks have run in this sandbox.</Empty>}
        <ul class="list" aria-label="Tasks">
          {tasks.map((t) => (
            <li key={t.metadata.name}>
              <button type="button" class="link" aria-pressed={t === current} onClick={() => setSelected(t.metadata.name)}>
                {t.metadata.name}
              </button>{' '}
              <Phase phase={t.status?.phase} /> <code>{(t.spec?.command ?? []).slice(-1)[0]}</code> <small>{age(t.metadata.creationTimestamp)}</small>
            </li>
          ))}
        </ul>
      </div>
      {current && <Output ns={p.ns} task={current} key={current.metadata.uid} />}
    </div>
  );
}
