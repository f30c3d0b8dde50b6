/** The shell: the header, the session, and the page the hash names. Pages that need an account ask for one. */
import { useEffect, useState } from 'preact/hooks';
import type { SessionView } from '../client.js';
import { AccountPage } from './AccountPage.js';
import { api, setCsrfToken } from './api.js';
import { CataloguePage } from './CataloguePage.js';
import { Header } from './Header.js';
import { HistoryPage } from './HistoryPage.js';
import { JobPage } from './JobPage.js';
import { NetworkPage } from './NetworkPage.js';
import { RunPage } from './RunPage.js';
import { navigate, useRoute } from './router.js';
import { SignInPage } from './SignInPage.js';

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<SessionView | null | undefined>(undefined);

  useEffect(() => {
    api.session().then(
      (s) => {
        setCsrfToken(s.csrfToken);
        setSession(s);
      },
      () => setSession(null),
    );
  }, []);

  const signedIn = (s: SessionView) => {
    setCsrfToken(s.csrfToken);
    setSession(s);
    navigate('#/');
  };
  const signOut = async () => {
    await api.signOut().catch(() => {});
    setCsrfToken(undefined);
    setSession(null);
    navigate('#/signin');
  };

  const needsAccount = ['run', 'job', 'history', 'account'].includes(route.page);
  let page = null;
  if (session === undefined) page = <p class="muted">Loading…</p>;
  else if (route.page === 'signin' || (needsAccount && !session)) page = <SignInPage onSignedIn={signedIn} />;
  else if (route.page === 'catalogue') page = <CataloguePage />;
  else if (route.page === 'run') page = <RunPage moduleRef={route.module} />;
  else if (route.page === 'job') page = <JobPage id={route.id} />;
  else if (route.page === 'history') page = <HistoryPage />;
  else if (route.page === 'account' && session) page = <AccountPage session={session} />;
  else if (route.page === 'network') page = <NetworkPage />;

  return (
    <>
      <Header route={route} session={session ?? null} onSignOut={signOut} />
      <main id="main" tabIndex={-1}>
        {page}
      </main>
      <footer class="footer">
        Lilypad · jobs run on a decentralized network, results verified by their CIDs ·{' '}
        <a href="/api/v1/openapi.json">API</a>
      </footer>
    </>
  );
}
