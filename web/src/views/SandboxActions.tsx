// Stop, start and delete of one sandbox, each confirmed first.
import { useState } from 'preact/hooks';
import { deleteSandbox, setState } from '../lib/sandbox';
import type { Sandbox } from '../lib/types';
import { Confirm, ErrorBox } from '../ui';

type Action = 'stop' | 'start' | 'delete';

export function SandboxActions(p: { ns: string; sb: Sandbox; onDeleted?: () => void }) {
  const [asking, setAsking] = useState<Action | null>(null);
  const [error, setError] = useState<unknown>();
  const name = p.sb.metadata.name!;
  const stopped = p.sb.spec?.state === 'Stopped';
  const run = async (a: Action) => {
    setError(undefined);
    try {
      if (a === 'delete') {
        await deleteSandbox(p.ns, name);
        p.onDeleted?.();
      } else await setState(p.ns, name, a === 'stop' ? 'Stopped' : 'Running');
    } catch (e) {
      setError(e);
    }
  };
  const text: Record<Action, string> = {
    stop: `Stop ${name}? Its pod goes away; the workspace is kept and a start brings it back.`,
    start: `Start ${name} again?`,
    delete: `Delete ${name} and its workspace? This cannot be undone.`,
  };
  return (
    <span class="actions">
      {stopped ? (
        <button type="button" onClick={() => setAsking('start')} aria-label={`Start ${name}`}>
          Start
        </button>
      ) : (
        <button type="button" onClick={() => setAsking('stop')} aria-label={`Stop ${name}`}>
          Stop
        </button>
      )}
      <button type="button" class="danger" onClick={() => setAsking('delete')} aria-label={`Delete ${name}`}>
        Delete
      </button>
      {asking && (
        <Confirm
          title={`${asking[0].toUpperCase()}${asking.slice(1)} sandbox`}
          body={text[asking]}
          action={asking[0].toUpperCase() + asking.slice(1)}
          danger={asking === 'delete'}
          onConfirm={() => run(asking)}
          onCancel={() => setAsking(null)}
        />
      )}
      {error !== undefined && <ErrorBox error={error} />}
    </span>
  );
}
