import type { SessionView } from '../client.js';
import { ApiKeysPanel } from './ApiKeysPanel.js';
import { formatTime } from './format.js';
import { WalletPanel } from './WalletPanel.js';

export function AccountPage(props: { session: SessionView }) {
  const { account } = props.session;
  return (
    <section class="stack">
      <h1>Account</h1>
      <p class="muted">
        Signed in as <strong>{account.email ?? account.ethAddress}</strong> since{' '}
        {formatTime(account.createdAt)}.
      </p>
      <div class="columns">
        <WalletPanel />
        <ApiKeysPanel />
      </div>
    </section>
  );
}
