// The Terminal tab: xterm.js (loaded only here, as its own chunk) over sandboxes/NAME/terminal.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { TabProps } from '../Workspace';

type State = { kind: 'loading' } | { kind: 'open' } | { kind: 'ended'; text: string } | { kind: 'error'; text: string };

export function TerminalTab(p: TabProps) {
  const host = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const name = p.sb.metadata.name!;
  useEffect(() => {
    if (!p.running || !host.current) return;
    let dispose: (() => void) | undefined;
    let cancelled = false;
    setState({ kind: 'loading' });
    import('../../terminal').then(
      (m) => {
        if (cancelled) return;
        dispose = m.openTerminal(host.current!, p.ns, name, {
          onOpen: () => setState({ kind: 'open' }),
          onEnd: (text, error) => setState(error ? { kind: 'error', text } : { kind: 'ended', text }),
        });
      },
      (e) => setState({ kind: 'error', text: `the terminal could not load: ${(e as Error).message}` }),
    );
    return () => {
      cancelled = true;
      dispose?.();
    };
  }, [p.running, p.ns, name, attempt]);
  if (!p.running) return <p class="state">The terminal opens once the sandbox is Running.</p>;
  return (
    <div class="terminal-tab">
      <p class="status-line" role="status" aria-live="polite">
        {state.kind === 'loading' && 'Connecting…'}
        {state.kind === 'open' && 'Connected. Keys go to the shell, Tab included; Ctrl+] leaves the terminal.'}
        {state.kind === 'ended' && `Session ended: ${state.text}`}
        {state.kind === 'error' && <span class="error-text">{state.text}</span>}
        {(state.kind === 'ended' || state.kind === 'error') && (
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
            Reconnect
          </button>
        )}
      </p>
      <div ref={host} class="xterm-host" aria-label={`Terminal of ${name}`} />
    </div>
  );
}
