// Sign-in: the user pastes a bearer token; the server checks it and keeps it in an HttpOnly cookie.
import { useState } from 'preact/hooks';
import { describe, signin, type Identity } from '../lib/api';

export function SignIn(p: { onSignedIn: (id: Identity) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <main id="main" class="signin">
      <h1>Sign in to mbox</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError('');
          try {
            p.onSignedIn(await signin(token.trim()));
          } catch (err) {
            setError(describe(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="token">Bearer token</label>
        <textarea
          id="token"
          name="token"
          rows={4}
          required
          autoComplete="off"
          spellcheck={false}
          aria-describedby="token-help"
          aria-invalid={error ? 'true' : undefined}
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <p id="token-help" class="help">
          A Kubernetes token of yours, for example from <code>kubectl create token</code>. It is kept in an HttpOnly cookie,
          never in the page's storage, and every request runs with your own permissions.
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy || !token.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
