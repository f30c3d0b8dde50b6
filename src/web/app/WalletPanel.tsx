/** The account's job-creator wallet: balances, spending, and moving LP into and out of the escrow. */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { errorText, formatEth, formatLP } from './format.js';
import { useLoad } from './useLoad.js';

export function WalletPanel() {
  const { value: wallet, error, reload } = useLoad(() => api.wallet());
  const [amount, setAmount] = useState('5');
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState(false);

  const move = async (action: 'deposit' | 'withdraw') => {
    setBusy(true);
    setMessage(null);
    try {
      const { txHash } = action === 'deposit' ? await api.deposit(amount) : await api.withdraw(amount);
      setMessage({
        text: `${action === 'deposit' ? 'Deposited' : 'Withdrew'} ${amount} LP (tx ${txHash.slice(0, 10)}…)`,
        error: false,
      });
      reload();
    } catch (e) {
      setMessage({ text: errorText(e), error: true });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="wallet-title">
      <h2 id="wallet-title">Wallet</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {wallet && (
        <>
          <p class="small">
            Address <code data-testid="wallet-address">{wallet.address}</code>
          </p>
          <p class="muted small">
            {wallet.faucet
              ? 'On this network new wallets get LP and gas from a faucet.'
              : 'Send LP and gas to this address to fund your jobs.'}
          </p>
          <dl class="stats">
            <div>
              <dt>In wallet</dt>
              <dd>{formatLP(wallet.tokens)}</dd>
            </div>
            <div>
              <dt>Escrow free</dt>
              <dd>{formatLP(wallet.escrowFree)}</dd>
            </div>
            <div>
              <dt>Escrow locked</dt>
              <dd>{formatLP(wallet.escrowLocked)}</dd>
            </div>
            <div>
              <dt>Spent</dt>
              <dd data-testid="spent">{formatLP(wallet.spent)}</dd>
            </div>
            <div>
              <dt>Gas</dt>
              <dd>{formatEth(wallet.gas)}</dd>
            </div>
          </dl>
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              void move('deposit');
            }}
          >
            <label class="inline">
              Amount (LP)
              <input inputMode="decimal" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
            </label>
            <button type="submit" disabled={busy}>
              Deposit
            </button>
            <button type="button" class="secondary" disabled={busy} onClick={() => void move('withdraw')}>
              Withdraw
            </button>
          </form>
          {message && (
            <p class={message.error ? 'error' : 'ok'} role={message.error ? 'alert' : 'status'}>
              {message.text}
            </p>
          )}
        </>
      )}
    </section>
  );
}
