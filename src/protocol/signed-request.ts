/**
 * Authentication of state-changing HTTP requests: the sender signs (method, path, timestamp, nonce,
 * body hash) with EIP-191, and the server refuses stale timestamps and nonces it has seen.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Address, type Hex, type LocalAccount, recoverMessageAddress } from 'viem';
import { LilypadError } from './errors.js';

export const SIGNED_REQUEST_WINDOW_MS = 60_000;

export const SIGNED_REQUEST_HEADERS = {
  address: 'x-lilypad-address',
  timestamp: 'x-lilypad-timestamp',
  nonce: 'x-lilypad-nonce',
  signature: 'x-lilypad-signature',
} as const;

function requestMessage(method: string, path: string, timestamp: string, nonce: string, body: Uint8Array) {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return `Lilypad request\n${method.toUpperCase()} ${path}\ntimestamp: ${timestamp}\nnonce: ${nonce}\nbody-sha256: ${bodyHash}`;
}

export async function signRequest(
  account: LocalAccount,
  method: string,
  path: string,
  body: Uint8Array = new Uint8Array(),
): Promise<Record<string, string>> {
  const timestamp = String(Date.now());
  const nonce = randomBytes(16).toString('hex');
  const signature = await account.signMessage({
    message: requestMessage(method, path, timestamp, nonce, body),
  });
  return {
    [SIGNED_REQUEST_HEADERS.address]: account.address,
    [SIGNED_REQUEST_HEADERS.timestamp]: timestamp,
    [SIGNED_REQUEST_HEADERS.nonce]: nonce,
    [SIGNED_REQUEST_HEADERS.signature]: signature,
  };
}

export class RequestAuthError extends LilypadError {
  override name = 'RequestAuthError';
}

/** Remembers nonces for the length of the window, so a captured request cannot be replayed. */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();

  /** Returns false if the nonce was already used inside the window. */
  claim(nonce: string, now: number): boolean {
    for (const [key, expiresAt] of this.#seen) {
      if (expiresAt > now) break;
      this.#seen.delete(key);
    }
    if (this.#seen.has(nonce)) return false;
    this.#seen.set(nonce, now + 2 * SIGNED_REQUEST_WINDOW_MS);
    return true;
  }
}

/** Checks a signed request and returns its sender, or throws a RequestAuthError that says why. */
export async function verifyRequest(
  request: {
    method: string;
    path: string;
    headers: Record<string, string | string[] | undefined>;
    body: Uint8Array;
  },
  guard: ReplayGuard,
  now = Date.now(),
): Promise<Address> {
  const get = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const address = get(SIGNED_REQUEST_HEADERS.address);
  const timestamp = get(SIGNED_REQUEST_HEADERS.timestamp);
  const nonce = get(SIGNED_REQUEST_HEADERS.nonce);
  const signature = get(SIGNED_REQUEST_HEADERS.signature);
  if (!address || !timestamp || !nonce || !signature) {
    throw new RequestAuthError('this request must be signed', {
      hint: `send the ${Object.values(SIGNED_REQUEST_HEADERS).join(', ')} headers (see signRequest)`,
    });
  }
  if (!/^\d+$/.test(timestamp) || Math.abs(now - Number(timestamp)) > SIGNED_REQUEST_WINDOW_MS) {
    throw new RequestAuthError('the request timestamp is stale or malformed', {
      hint: `timestamps must be within ${SIGNED_REQUEST_WINDOW_MS / 1000} s of the server's clock`,
    });
  }
  let signer: Address;
  try {
    signer = await recoverMessageAddress({
      message: requestMessage(request.method, request.path, timestamp, nonce, request.body),
      signature: signature as Hex,
    });
  } catch (cause) {
    throw new RequestAuthError('the request signature is malformed', { cause });
  }
  if (signer.toLowerCase() !== address.toLowerCase()) {
    throw new RequestAuthError('the request signature does not match its address');
  }
  if (!guard.claim(`${signer}:${nonce}`, now))
    throw new RequestAuthError('this request was already used (replay)');
  return signer;
}

/**
 * A fetch that signs every request as `account`, over an empty body (for GET and HEAD): the directory
 * serves a private deal's content to its members' signed requests only.
 */
export function signingFetch(account: LocalAccount, inner: typeof fetch = globalThis.fetch): typeof fetch {
  return async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const headers = new Headers(init.headers);
    const signed = await signRequest(account, init.method ?? 'GET', `${url.pathname}${url.search}`);
    for (const [name, value] of Object.entries(signed)) headers.set(name, value);
    return inner(url, { ...init, headers });
  };
}
