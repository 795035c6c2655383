// The mbox console: sign-in, then projects, sandboxes, the workspace of a sandbox and templates.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { setUnauthorizedHandler, signout, whoami, type Identity } from './lib/api';
import { navigate, usePath } from './lib/hooks';
import { Link, Loading } from './ui';
import { SignIn } from './views/SignIn';
import { Projects } from './views/Projects';
import { ProjectView } from './views/Project';
import { Launch } from './views/Launch';
import { Workspace } from './views/Workspace';
import { Templates, TemplateEdit } from './views/Templates';
import './style.css';

function route(path: string) {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'projects' || !parts[1]) return <Projects />;
  const project = parts[1];
  if (parts[2] === 'launch') return <Launch project={project} />;
  if (parts[2] === 'sandboxes' && parts[3]) return <Workspace project={project} name={parts[3]} tab={parts[4] ?? 'terminal'} />;
  if (parts[2] === 'templates' && parts[3]) return <TemplateEdit project={project} name={parts[3] === '_new' ? undefined : parts[3]} />;
  if (parts[2] === 'templates') return <Templates project={project} />;
  return <ProjectView project={project} />;
}

function App() {
  const path = usePath();
  const [me, setMe] = useState<Identity | null | undefined>(undefined);
  useEffect(() => {
    setUnauthorizedHandler(() => setMe(null));
    whoami().then(setMe, () => setMe(null));
  }, []);
  if (me === undefined) return <Loading what="your session" />;
  if (me === null || path === '/signin')
    return (
      <SignIn
        onSignedIn={(id) => {
          setMe(id);
          if (location.pathname === '/signin') navigate('/');
        }}
      />
    );
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          mbox
        </Link>
        <nav aria-label="Main">
          <Link href="/">Projects</Link>
        </nav>
        <span class="me" title={(me.groups ?? []).join(', ')}>
          {me.username}
        </span>
        <button
          type="button"
          onClick={async () => {
            await signout().catch(() => undefined);
            setMe(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {route(path)}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
