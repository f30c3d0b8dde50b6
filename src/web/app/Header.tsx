import type { SessionView } from '../client.js';
import type { Route } from './router.js';

const LINKS: { hash: string; label: string; pages: Route['page'][] }[] = [
  { hash: '#/', label: 'Modules', pages: ['catalogue', 'run'] },
  { hash: '#/jobs', label: 'Jobs', pages: ['history', 'job'] },
  { hash: '#/network', label: 'Network', pages: ['network'] },
  { hash: '#/account', label: 'Account', pages: ['account'] },
];

export function Header(props: { route: Route; session: SessionView | null; onSignOut: () => void }) {
  const { route, session } = props;
  return (
    <header class="header">
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <a class="brand" href="#/">
        <span class="logo" aria-hidden="true">
          ◆
        </span>{' '}
        Lilypad
      </a>
      <nav aria-label="Main">
        {LINKS.map((link) => (
          <a
            key={link.hash}
            href={link.hash}
            aria-current={link.pages.includes(route.page) ? 'page' : undefined}
          >
            {link.label}
          </a>
        ))}
      </nav>
      <div class="who">
        {session ? (
          <>
            <span class="muted" title="signed in as">
              {session.account.email ?? session.account.ethAddress}
            </span>
            <button type="button" class="secondary" onClick={props.onSignOut}>
              Sign out
            </button>
          </>
        ) : (
          <a class="button" href="#/signin">
            Sign in
          </a>
        )}
      </div>
    </header>
  );
}
