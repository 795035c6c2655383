// The template library of a project (live), and creating or editing a template with the server's
// validation errors shown on the field they are about.
import { useEffect, useState } from 'preact/hooks';
import { MBOX, json } from '../lib/api';
import { navigate, useLoad, useWatch } from '../lib/hooks';
import { errorFor, fieldErrors } from '../lib/invalid';
import { nsPath, useProject } from '../lib/project';
import type { EnvironmentTemplate } from '../lib/types';
import { Empty, ErrorBox, Link, Loading, Scroll } from '../ui';

function Validation(p: { t: EnvironmentTemplate }) {
  const v = p.t.status?.validation;
  const st = v?.status ?? 'NotTested';
  return (
    <details class="validation">
      <summary>
        <span class={`phase phase-${st.toLowerCase()}`}>{st}</span>
      </summary>
      {v?.message && <p>{v.message}</p>}
      {v?.output && <pre class="output">{v.output}</pre>}
      {!v?.message && !v?.output && <p>No validation output.</p>}
    </details>
  );
}

export function Templates(p: { project: string }) {
  const info = useProject(p.project);
  const ns = info.data?.namespace;
  const live = useWatch<EnvironmentTemplate>(ns ? nsPath(MBOX, ns, 'environmenttemplates') : null);
  const base = `/projects/${encodeURIComponent(p.project)}`;
  const items = [...live.items].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link href="/">Projects</Link> / <Link href={base}>{p.project}</Link> / templates
      </nav>
      <div class="titlebar">
        <h1>Templates</h1>
        <Link href={`${base}/templates/_new`} class="button primary">
          New template
        </Link>
      </div>
      {info.error !== undefined && <ErrorBox error={info.error} what="read the project" />}
      {live.error !== undefined && <ErrorBox error={live.error} what="list the templates" />}
      {ns && !live.synced && live.error === undefined && <Loading what="templates" />}
      {live.synced && items.length === 0 && <Empty>No templates in this project yet.</Empty>}
      {items.length > 0 && (
        <Scroll label="Templates">
          <table>
            <caption class="sr-only">Templates</caption>
            <thead>
              <tr>
                <th scope="col">Template</th>
                <th scope="col">Runtime</th>
                <th scope="col">Use case</th>
                <th scope="col">Entrypoints</th>
                <th scope="col">Preset</th>
                <th scope="col">Validation</th>
                <th scope="col">Warm pool</th>
              </tr>
            </thead>
            <tbody>
              {items.map((t) => (
                <tr key={t.metadata.name}>
                  <td>
                    <Link href={`${base}/templates/${encodeURIComponent(t.metadata.name!)}`}>{t.spec?.displayName || t.metadata.name}</Link>
                    <br />
                    <small>
                      <code>{t.spec?.image}</code>
                    </small>
                  </td>
                  <td>{t.spec?.runtimeType ?? '—'}</td>
                  <td>{t.spec?.useCase ?? '—'}</td>
                  <td>{(t.spec?.entrypoints ?? []).map((e) => `${e.name} (${e.type})`).join(', ') || '—'}</td>
                  <td>{t.spec?.resourcePreset ?? '—'}</td>
                  <td>
                    <Validation t={t} />
                  </td>
                  <td>
                    {t.status?.warmPool?.readyReplicas ?? 0}/{t.spec?.warmPool?.replicas ?? 0} ready
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

interface Form {
  name: string;
  displayName: string;
  description: string;
  runtimeType: string;
  useCase: string;
  image: string;
  command: string;
  resourcePreset: string;
  cpu: string;
  memory: string;
  ports: string;
  storage: string;
  egress: string;
  idleTimeout: string;
  maxLifetime: string;
  warmPool: string;
}

function toForm(t?: EnvironmentTemplate): Form {
  const s = t?.spec;
  return {
    name: t?.metadata.name ?? '',
    displayName: s?.displayName ?? '',
    description: s?.description ?? '',
    runtimeType: s?.runtimeType ?? '',
    useCase: s?.useCase ?? '',
    image: s?.image ?? '',
    command: (s?.command ?? []).join('\n'),
    resourcePreset: s?.resourcePreset ?? '',
    cpu: s?.resources?.requests?.cpu !== undefined ? String(s.resources.requests.cpu) : '',
    memory: s?.resources?.requests?.memory !== undefined ? String(s.resources.requests.memory) : '',
    ports: (s?.ports ?? []).map((p) => `${p.name}:${p.port}`).join(', '),
    storage: s?.storage ? String(s.storage.size) : '',
    egress: s?.network?.egress ?? '',
    idleTimeout: s?.lifecycle?.idleTimeout ?? '',
    maxLifetime: s?.lifecycle?.maxLifetime ?? '',
    warmPool: s?.warmPool?.replicas !== undefined ? String(s.warmPool.replicas) : '',
  };
}

/** The form applied to the template's spec; fields left empty are removed. */
function toSpec(f: Form, before?: EnvironmentTemplate['spec']): EnvironmentTemplate['spec'] {
  const s: Record<string, unknown> = { ...before };
  const set = (k: string, v: unknown) => {
    if (v === '' || v === undefined || (Array.isArray(v) && !v.length)) delete s[k];
    else s[k] = v;
  };
  set('displayName', f.displayName.trim());
  set('description', f.description.trim());
  set('runtimeType', f.runtimeType.trim());
  set('useCase', f.useCase.trim());
  s.image = f.image.trim();
  set('command', f.command.split('\n').map((x) => x.trim()).filter(Boolean));
  set('resourcePreset', f.resourcePreset);
  const requests = { ...(before?.resources?.requests ?? {}), cpu: f.cpu.trim() || undefined, memory: f.memory.trim() || undefined };
  set('resources', requests.cpu || requests.memory || before?.resources?.limits ? { ...(before?.resources ?? {}), requests } : '');
  set(
    'ports',
    f.ports
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
      .map((x) => {
        const [name, port] = x.split(':');
        return { name: name.trim(), port: Number(port) };
      }),
  );
  set('storage', f.storage.trim() ? { ...(before?.storage ?? {}), size: f.storage.trim() } : '');
  set('network', f.egress ? { ...(before?.network ?? {}), egress: f.egress } : '');
  const lc = { ...(before?.lifecycle ?? {}), idleTimeout: f.idleTimeout.trim() || undefined, maxLifetime: f.maxLifetime.trim() || undefined };
  set('lifecycle', lc.idleTimeout || lc.maxLifetime ? lc : '');
  set('warmPool', f.warmPool.trim() ? { replicas: Number(f.warmPool) } : '');
  return s as EnvironmentTemplate['spec'];
}

export function TemplateEdit(p: { project: string; name?: string }) {
  const info = useProject(p.project);
  const ns = info.data?.namespace;
  const base = `/projects/${encodeURIComponent(p.project)}`;
  const loaded = useLoad(
    (signal) => (ns && p.name ? json<EnvironmentTemplate>(nsPath(MBOX, ns, 'environmenttemplates', p.name), { signal }) : Promise.resolve(undefined)),
    [ns, p.name],
  );
  const [form, setForm] = useState<Form>(toForm());
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState('');
  useEffect(() => setForm(toForm(loaded.data)), [loaded.data]);
  const errs = fieldErrors(error);
  const field = (k: keyof Form, label: string, path: string, o: { help?: string; multiline?: boolean; options?: string[] } = {}) => {
    const err = errorFor(errs, path);
    const id = `t-${k}`;
    const props = {
      id,
      value: form[k],
      'aria-invalid': err ? ('true' as const) : undefined,
      'aria-describedby': `${id}-help ${id}-err`,
      onInput: (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value }),
    };
    return (
      <div class="field">
        <label for={id}>{label}</label>
        {o.options ? (
          <select {...props} onChange={props.onInput}>
            {o.options.map((x) => (
              <option value={x} key={x}>
                {x || '(none)'}
              </option>
            ))}
          </select>
        ) : o.multiline ? (
          <textarea rows={3} {...props} />
        ) : (
          <input {...props} autoComplete="off" spellcheck={false} readOnly={k === 'name' && !!p.name} />
        )}
        {o.help && (
          <small id={`${id}-help`} class="help">
            {o.help}
          </small>
        )}
        {err && (
          <p class="field-error" id={`${id}-err`}>
            {err}
          </p>
        )}
      </div>
    );
  };
  const unplaced = Object.entries(errs).filter(([f]) => !/^(metadata\.name|spec\.(displayName|description|runtimeType|useCase|image|command|resourcePreset|resources|ports|storage|network|lifecycle|warmPool))/.test(f));
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link href="/">Projects</Link> / <Link href={base}>{p.project}</Link> / <Link href={`${base}/templates`}>templates</Link> / {p.name ?? 'new'}
      </nav>
      <h1>{p.name ? `Edit ${p.name}` : 'New template'}</h1>
      {(info.error ?? loaded.error) !== undefined && <ErrorBox error={info.error ?? loaded.error} what="load the template" />}
      {(!ns || (p.name && loaded.loading && !loaded.data)) && !info.error && <Loading what="the template" />}
      {ns && (!p.name || loaded.data) && (
        <form
          class="stack"
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            setError(undefined);
            setSaved('');
            try {
              const t = loaded.data;
              const body = {
                apiVersion: 'mbox.dev/v1alpha1',
                kind: 'EnvironmentTemplate',
                metadata: t ? t.metadata : { name: form.name.trim() },
                spec: toSpec(form, t?.spec),
              };
              const coll = nsPath(MBOX, ns, 'environmenttemplates');
              const out = t
                ? await json<EnvironmentTemplate>(`${coll}/${encodeURIComponent(p.name!)}`, { method: 'PUT', body })
                : await json<EnvironmentTemplate>(coll, { method: 'POST', body });
              setSaved(`Saved ${out.metadata.name}: validation runs next and shows in the library.`);
              if (!t) navigate(`${base}/templates/${encodeURIComponent(out.metadata.name!)}`);
              else loaded.reload();
            } catch (err) {
              setError(err);
            }
          }}
        >
          {field('name', 'Name', 'metadata.name')}
          {field('displayName', 'Display name', 'spec.displayName')}
          {field('description', 'Description', 'spec.description', { multiline: true })}
          {field('runtimeType', 'Runtime type', 'spec.runtimeType', { help: 'for example node, python, busybox' })}
          {field('useCase', 'Use case', 'spec.useCase')}
          {field('image', 'Image', 'spec.image', { help: 'required; pin a digest to keep sandboxes on one image' })}
          <fieldset>
            <legend>Advanced</legend>
            {field('command', 'Command (one argument per line)', 'spec.command', { multiline: true })}
            {field('resourcePreset', 'Resource preset', 'spec.resourcePreset', { options: ['', 'Small', 'Medium', 'Large'] })}
            {field('cpu', 'CPU request', 'spec.resources.requests.cpu', { help: 'for example 500m; overrides the preset' })}
            {field('memory', 'Memory request', 'spec.resources.requests.memory', { help: 'for example 512Mi; overrides the preset' })}
            {field('ports', 'Ports (name:port, comma separated)', 'spec.ports', { help: 'for example web:8080' })}
            {field('storage', 'Workspace size', 'spec.storage', { help: 'for example 1Gi; empty for no persistent workspace' })}
            {field('egress', 'Network egress', 'spec.network', { options: ['', 'Denied', 'Restricted', 'Allowed'] })}
            {field('idleTimeout', 'Idle timeout', 'spec.lifecycle.idleTimeout', { help: 'for example 30m' })}
            {field('maxLifetime', 'Longest lifetime', 'spec.lifecycle.maxLifetime', { help: 'for example 24h' })}
            {field('warmPool', 'Warm pool replicas', 'spec.warmPool')}
          </fieldset>
          {error !== undefined && (Object.keys(errs).length === 0 || unplaced.length > 0) && <ErrorBox error={error} what="save the template" />}
          {saved && (
            <p class="note" role="status">
              {saved}
            </p>
          )}
          <button type="submit" class="primary">
            {p.name ? 'Save' : 'Create'}
          </button>
        </form>
      )}
    </>
  );
}
