// Small pieces every view uses: links, states (loading, empty, error), a confirmation dialog.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError, describe } from './lib/api';
import { navigate } from './lib/hooks';

export function Link(p: { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' }) {
  return (
    <a
      href={p.href}
      class={p.class}
      aria-current={p['aria-current']}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(p.href);
      }}
    >
      {p.children}
    </a>
  );
}

export function Loading(p: { what: string }) {
  return (
    <p class="state" role="status" aria-live="polite">
      Loading {p.what}…
    </p>
  );
}

export function Empty(p: { children: ComponentChildren }) {
  return <div class="state empty">{p.children}</div>;
}

/** An error as people read it; a 403 says that the role lacks it, with the server's message. */
export function ErrorBox(p: { error: unknown; what?: string }) {
  const forbidden = p.error instanceof ApiError && p.error.code === 403;
  return (
    <div class={`error${forbidden ? ' forbidden' : ''}`} role="alert">
      {p.what && <strong>Could not {p.what}. </strong>}
      {forbidden ? (
        <>
          <strong>Permission needed.</strong> {(p.error as ApiError).message}
        </>
      ) : (
        describe(p.error)
      )}
    </div>
  );
}

/** Phase as a badge. */
export function Phase(p: { phase?: string }) {
  const ph = p.phase || 'Pending';
  return <span class={`phase phase-${ph.toLowerCase()}`}>{ph}</span>;
}

/** A modal confirmation (a native dialog: focus is trapped and Escape cancels). */
export function Confirm(p: { title: string; body: ComponentChildren; action: string; danger?: boolean; onConfirm: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onClose={p.onCancel} class="confirm">
      <h2 id="confirm-title">{p.title}</h2>
      <div>{p.body}</div>
      <div class="actions">
        <button type="button" onClick={() => ref.current?.close()}>
          Cancel
        </button>
        <button
          type="button"
          class={p.danger ? 'danger' : 'primary'}
          onClick={() => {
            p.onConfirm();
            ref.current?.close();
          }}
        >
          {p.action}
        </button>
      </div>
    </dialog>
  );
}

/** A wide table's box: it scrolls sideways on a small screen, and takes focus so keys can scroll it. */
export function Scroll(p: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={p.label}>
      {p.children}
    </div>
  );
}
