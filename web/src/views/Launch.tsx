// Simplified launch: project, template and name; what will be made is shown before it is.
import { useState } from 'preact/hooks';
import { MBOX, json } from '../lib/api';
import { navigate, useWatch } from '../lib/hooks';
import { errorFor, fieldErrors } from '../lib/invalid';
import { nsPath, useProject } from '../lib/project';
import type { EnvironmentTemplate, Sandbox } from '../lib/types';
import { ErrorBox, Link, Loading } from '../ui';

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function Launch(p: { project: string }) {
  const info = useProject(p.project);
  const ns = info.data?.namespace;
  const templates = useWatch<EnvironmentTemplate>(ns ? nsPath(MBOX, ns, 'environmenttemplates') : null);
  const [template, setTemplate] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(error);
  const defaultTemplate = info.data?.project?.spec?.defaultTemplate?.name;
  const chosen = template || defaultTemplate || templates.items[0]?.metadata.name || '';
  const nameOk = name.length > 0 && name.length <= 63 && NAME.test(name);
  const nameErr = errorFor(errs, 'metadata.name', 'spec.slug') ?? (name && !nameOk ? 'Lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63.' : undefined);
  const tplErr = errorFor(errs, 'spec.templateRef');
  const base = `/projects/${encodeURIComponent(p.project)}`;
  const projectSlug = info.data?.project?.spec?.slug || p.project;
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link href="/">Projects</Link> / <Link href={base}>{p.project}</Link> / launch
      </nav>
      <h1>Launch a sandbox</h1>
      {info.error !== undefined && <ErrorBox error={info.error} what="read the project" />}
      {!ns && info.loading && <Loading what="the project" />}
      {ns && (
        <form
          class="stack"
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(undefined);
            try {
              const body = { apiVersion: 'mbox.dev/v1alpha1', kind: 'Sandbox', metadata: { name }, spec: chosen ? { templateRef: { name: chosen } } : {} };
              await json<Sandbox>(nsPath(MBOX, ns, 'sandboxes'), { method: 'POST', body });
              navigate(`${base}/sandboxes/${encodeURIComponent(name)}`);
            } catch (err) {
              setError(err);
            } finally {
              setBusy(false);
            }
          }}
        >
          <label for="l-project">Project</label>
          <input id="l-project" value={p.project} readOnly />
          <label for="l-template">Template</label>
          {templates.error !== undefined && <ErrorBox error={templates.error} what="list the templates" />}
          <select id="l-template" value={chosen} onChange={(e) => setTemplate(e.currentTarget.value)} aria-invalid={tplErr ? 'true' : undefined} aria-describedby="l-template-err">
            {!templates.synced && <option value="">Loading…</option>}
            {templates.items.map((t) => (
              <option value={t.metadata.name} key={t.metadata.name}>
                {t.spec?.displayName || t.metadata.name} ({t.spec?.runtimeType ?? 'container'})
                {t.metadata.name === defaultTemplate ? ' — default' : ''}
              </option>
            ))}
          </select>
          {tplErr && (
            <p class="field-error" id="l-template-err">
              {tplErr}
            </p>
          )}
          <label for="l-name">Name</label>
          <input
            id="l-name"
            value={name}
            required
            maxLength={63}
            autoComplete="off"
            spellcheck={false}
            aria-invalid={nameErr ? 'true' : undefined}
            aria-describedby="l-name-err"
            onInput={(e) => setName(e.currentTarget.value)}
          />
          {nameErr && (
            <p class="field-error" id="l-name-err">
              {nameErr}
            </p>
          )}
          <section class="derived" aria-label="What will be created">
            <h2>Will be created</h2>
            <dl class="summary">
              <dt>Sandbox</dt>
              <dd>{name || '…'}</dd>
              <dt>Namespace</dt>
              <dd>{ns}</dd>
              <dt>Slug</dt>
              <dd>{name || '…'}</dd>
              <dt>ServiceAccount</dt>
              <dd>mbox-sandbox (its token is never mounted)</dd>
              <dt>Preview hosts</dt>
              <dd>
                PORT--{name || '…'}--{projectSlug}.…
              </dd>
            </dl>
          </section>
          {error !== undefined && !nameErr && !tplErr && <ErrorBox error={error} what="launch the sandbox" />}
          <button type="submit" class="primary" disabled={busy || !nameOk}>
            {busy ? 'Launching…' : 'Launch'}
          </button>
        </form>
      )}
    </>
  );
}
