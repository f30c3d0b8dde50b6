/** Sign-In with Ethereum through the browser's wallet (window.ethereum), when there is one. */
import { useState } from 'preact/hooks';
import type { SessionView } from '../client.js';
import { api } from './api.js';
import { errorText } from './format.js';

type Eip1193 = { request(args: { method: string; params?: unknown[] }): Promise<unknown> };

/** The EIP-4361 message, field by field as the standard lays it out. */
function siweMessage(fields: {
  domain: string;
  address: string;
  uri: string;
  chainId: number;
  nonce: string;
}) {
  return [
    `${fields.domain} wants you to sign in with your Ethereum account:`,
    fields.address,
    '',
    'Sign in to Lilypad.',
    '',
    `URI: ${fields.uri}`,
    'Version: 1',
    `Chain ID: ${fields.chainId}`,
    `Nonce: ${fields.nonce}`,
    `Issued At: ${new Date().toISOString()}`,
  ].join('\n');
}

export function SiweButton(props: { onSignedIn: (session: SessionView) => void }) {
  const ethereum = (window as unknown as { ethereum?: Eip1193 }).ethereum;
  const [error, setError] = useState<string | null>(null);
  if (!ethereum) {
    return (
      <p class="muted small">To sign in with an Ethereum wallet, open this page in a browser that has one.</p>
    );
  }
  const signIn = async () => {
    setError(null);
    try {
      const [address] = (await ethereum.request({ method: 'eth_requestAccounts' })) as string[];
      // The session is bound to the app's chain, whichever chain the wallet is on (signing needs none).
      const { nonce, domain, chainId } = await api.siweNonce();
      const message = siweMessage({
        domain,
        address: address as string,
        uri: window.location.origin,
        chainId,
        nonce,
      });
      const signature = (await ethereum.request({
        method: 'personal_sign',
        params: [message, address],
      })) as string;
      props.onSignedIn(await api.signInWithEthereum(message, signature));
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <>
      <button type="button" class="secondary wide" onClick={signIn}>
        Sign in with Ethereum
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}
