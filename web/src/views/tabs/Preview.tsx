// The Preview tab: the sandbox's ports with their visibility; a grant opens one in a new tab.
import { useState } from 'preact/hooks';
import { RUNTIME, json } from '../../lib/api';
import { nsPath } from '../../lib/project';
import type { PreviewGrant } from '../../lib/types';
import { Empty, ErrorBox, Scroll } from '../../ui';
import type { TabProps } from '../Workspace';

export function PreviewTab(p: TabProps) {
  const ports = p.sb.status?.previewURLs ?? [];
  const [links, setLinks] = useState<Record<string, PreviewGrant>>({});
  const [error, setError] = useState<unknown>();
  const grant = async (port: string) => {
    setError(undefined);
    // the tab is opened now, while the click still counts as one, and pointed at the link once it is made
    const win = window.open('about:blank', '_blank');
    try {
      const g = await json<PreviewGrant>(nsPath(RUNTIME, p.ns, 'previewgrants'), {
        method: 'POST',
        body: { apiVersion: 'runtime.mbox.dev/v1alpha1', kind: 'PreviewGrant', spec: { sandbox: p.sb.metadata.name, port, ttlSeconds: 300 } },
      });
      setLinks((l) => ({ ...l, [port]: g }));
      if (win && g.status?.url) {
        win.opener = null;
        win.location.href = g.status.url;
      }
    } catch (e) {
      win?.close();
      setError(e);
    }
  };
  if (ports.length === 0) return <Empty>This sandbox has no ports. A template or the sandbox lists them under spec.ports.</Empty>;
  return (
    <>
      {error !== undefined && <ErrorBox error={error} what="make a preview link" />}
      <Scroll label="Ports">
      <table>
        <caption class="sr-only">Ports</caption>
        <thead>
          <tr>
            <th scope="col">Port</th>
            <th scope="col">Visibility</th>
            <th scope="col">URL</th>
            <th scope="col">
              <span class="sr-only">Open</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {ports.map((pt) => (
            <tr key={pt.name}>
              <td>
                {pt.name} ({pt.port})
              </td>
              <td>{pt.visibility ?? 'Private'}</td>
              <td>
                <code>{pt.url}</code>
              </td>
              <td>
                <button type="button" disabled={!p.running} onClick={() => grant(pt.name)} aria-label={`Open ${pt.name} through a preview link`}>
                  Open
                </button>
                {links[pt.name]?.status?.url && (
                  <>
                    {' '}
                    <a href={links[pt.name].status!.url} target="_blank" rel="noopener noreferrer">
                      link
                    </a>{' '}
                    <small>until {new Date(links[pt.name].status!.expirationTimestamp ?? '').toLocaleTimeString()}</small>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </Scroll>
      <p class="help">A link is a short-lived grant (5 minutes) for your browser; it sets a cookie for that one preview host.</p>
    </>
  );
}
