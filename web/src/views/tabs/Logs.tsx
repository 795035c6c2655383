// The Logs tab: the sandbox's main container log, followed as it grows.
import { useEffect, useRef, useState } from 'preact/hooks';
import { RUNTIME, request } from '../../lib/api';
import { nsPath } from '../../lib/project';
import { ErrorBox } from '../../ui';
import type { TabProps } from '../Workspace';

const MAX_CHARS = 1 << 20;

export function LogsTab(p: TabProps) {
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>();
  const [state, setState] = useState<'loading' | 'following' | 'ended'>('loading');
  const pre = useRef<HTMLPreElement>(null);
  const name = p.sb.metadata.name!;
  useEffect(() => {
    if (!p.running) return;
    const ac = new AbortController();
    setText('');
    setError(undefined);
    setState('loading');
    (async () => {
      const res = await request(nsPath(RUNTIME, p.ns, 'sandboxes', name, 'log'), { query: { follow: 'true', tailLines: 1000 }, accept: '*/*', signal: ac.signal });
      setState('following');
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        // the page keeps the last MiB: a chatty process does not fill the browser's memory
        setText((t) => (t + value).slice(-MAX_CHARS));
      }
      setState('ended');
    })().catch((e) => !ac.signal.aborted && setError(e));
    return () => ac.abort();
  }, [p.running, p.ns, name]);
  useEffect(() => {
    const el = pre.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [text]);
  if (!p.running) return <p class="state">The log is followed while the sandbox is Running.</p>;
  return (
    <>
      <p class="status-line" role="status">
        {state === 'loading' ? 'Opening the log…' : state === 'following' ? 'Following the log.' : 'The log ended (the container stopped).'}
      </p>
      {error !== undefined && <ErrorBox error={error} what="read the log" />}
      <pre ref={pre} class="output tall" tabIndex={0} role="log" aria-label="Container log">
        {text || (state === 'following' ? '(nothing logged yet)' : '')}
      </pre>
    </>
  );
}
