/**
 * What every route of the web API shares: the stores, the job runner, the wallets, and `authenticate`,
 * which tells who is asking (an API key, or a browser session whose changes carry the CSRF token) and
 * counts the request against that caller's rate limit.
 */
import type { FastifyRequest } from 'fastify';
import type { RateLimiter } from '../http/rate-limit.js';
import type { NetworkConfig } from '../protocol/network.js';
import type { Account, Accounts } from './accounts.js';
import { API_KEY_PREFIX, type ApiKeys } from './api-keys.js';
import { CsrfError, NotSignedInError } from './errors.js';
import type { JobRunner } from './jobs.js';
import { CSRF_HEADER, SESSION_COOKIE, type Sessions } from './sessions.js';
import type { SiweNonces } from './siwe.js';
import type { Wallets } from './wallets.js';

export type Caller = { account: Account; via: 'api-key' | 'session' };

export type WebContext = {
  network: NetworkConfig;
  accounts: Accounts;
  sessions: Sessions;
  apiKeys: ApiKeys;
  nonces: SiweNonces;
  jobs: JobRunner;
  wallets: Wallets;
  limiter: RateLimiter;
  /** Whether session cookies are marked Secure: always, never, or when the request came over HTTPS. */
  secureCookies: boolean | 'auto';
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function authenticate(
  context: WebContext,
  request: FastifyRequest,
  options: { sessionOnly?: boolean } = {},
): Caller {
  const header = request.headers.authorization;
  if (header !== undefined) {
    if (options.sessionOnly) {
      throw new NotSignedInError('API keys cannot manage API keys', {
        hint: 'sign in on the web app to create or revoke keys',
      });
    }
    const match = /^Bearer (\S+)$/.exec(header);
    if (!match?.[1]?.startsWith(API_KEY_PREFIX)) {
      throw new NotSignedInError(`the Authorization header must be "Bearer ${API_KEY_PREFIX}…"`, {
        hint: 'create an API key on the account page',
      });
    }
    const key = context.apiKeys.authenticate(match[1]);
    const account = key && context.accounts.get(key.accountId);
    if (!key || !account)
      throw new NotSignedInError('this API key is unknown or revoked', {
        hint: 'create a new key on the account page',
      });
    context.limiter.take(`key:${key.keyId}`);
    return { account, via: 'api-key' };
  }
  const sessionId = request.cookies[SESSION_COOKIE];
  const session = sessionId ? context.sessions.find(sessionId) : undefined;
  const account = session && context.accounts.get(session.accountId);
  if (!session || !account) {
    throw new NotSignedInError('sign in first, or send an API key', {
      hint: `browsers: POST /api/v1/auth/signin; programs: Authorization: Bearer ${API_KEY_PREFIX}…`,
    });
  }
  if (!SAFE_METHODS.has(request.method) && request.headers[CSRF_HEADER] !== session.csrfToken) {
    throw new CsrfError(`missing or wrong ${CSRF_HEADER} header`, {
      hint: `send the csrfToken from GET /api/v1/session in the ${CSRF_HEADER} header`,
    });
  }
  context.limiter.take(`account:${account.id}`);
  return { account, via: 'session' };
}
