/** Sign in or make an account: email and password, or an Ethereum wallet (EIP-4361). */
import { useState } from 'preact/hooks';
import type { SessionView } from '../client.js';
import { api } from './api.js';
import { errorText } from './format.js';
import { SiweButton } from './SiweButton.js';

export function SignInPage(props: { onSignedIn: (session: SessionView) => void }) {
  const [mode, setMode] = useState<'signin' | 'signup'>('signup');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(
        mode === 'signup' ? await api.signUp(email, password) : await api.signIn(email, password),
      );
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card narrow">
      <h1>{mode === 'signup' ? 'Create your account' : 'Sign in'}</h1>
      <p class="muted">
        Run AI and compute jobs on the Lilypad network from your browser or with an API key. Your account
        comes with its own wallet on the network.
      </p>
      <fieldset class="tabs">
        <legend class="sr-only">Account</legend>
        <button type="button" aria-pressed={mode === 'signup'} onClick={() => setMode('signup')}>
          Create account
        </button>
        <button type="button" aria-pressed={mode === 'signin'} onClick={() => setMode('signin')}>
          Sign in
        </button>
      </fieldset>
      <form onSubmit={submit} class="stack">
        <label>
          Email
          <input
            type="email"
            name="email"
            autoComplete="email"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete={mode === 'signup' ? 'new-password' : 'current-password'}
            required
            minLength={mode === 'signup' ? 10 : undefined}
            aria-describedby="password-help"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          {mode === 'signup' && (
            <span id="password-help" class="help">
              At least 10 characters.
            </span>
          )}
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {mode === 'signup' ? 'Create account' : 'Sign in'}
        </button>
      </form>
      <div class="divider">or</div>
      <SiweButton onSignedIn={props.onSignedIn} />
    </section>
  );
}
