/** Sign up, sign in (email and password, or Ethereum), sign out, and the current session. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Hex } from 'viem';
import { parseWire } from '../../protocol/wire.js';
import type { Account } from '../accounts.js';
import { authenticate, type WebContext } from '../context.js';
import { NotSignedInError } from '../errors.js';
import { signInBody, signUpBody, siweBody } from '../schemas.js';
import { SESSION_COOKIE, SESSION_TTL_MS } from '../sessions.js';

export function registerAuthRoutes(app: FastifyInstance, context: WebContext): void {
  const { accounts, sessions, nonces, limiter, wallets } = context;

  const startSession = (request: FastifyRequest, reply: FastifyReply, account: Account) => {
    const { id, csrfToken } = sessions.create(account.id);
    const secure = context.secureCookies === 'auto' ? request.protocol === 'https' : context.secureCookies;
    reply.setCookie(SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: 'lax',
      secure,
      path: '/',
      maxAge: SESSION_TTL_MS / 1000,
    });
    return { account, csrfToken };
  };
  const fundNew = async (request: FastifyRequest, account: Account) => {
    // A wallet without its grant still works (the user can send it funds), so a faucet failure is logged only.
    await wallets
      .fund(account.wallet)
      .catch((error: unknown) =>
        request.log.warn({ err: error, wallet: account.wallet }, 'the faucet could not fund a new wallet'),
      );
  };

  app.post('/api/v1/auth/signup', async (request, reply) => {
    limiter.take(`ip:${request.ip}`);
    const body = parseWire(signUpBody, request.body, 'sign-up');
    const account = await accounts.signUp(body.email, body.password);
    await fundNew(request, account);
    return reply.status(201).send(startSession(request, reply, account));
  });

  app.post('/api/v1/auth/signin', async (request, reply) => {
    limiter.take(`ip:${request.ip}`);
    const body = parseWire(signInBody, request.body, 'sign-in');
    return startSession(request, reply, await accounts.signIn(body.email, body.password));
  });

  app.get('/api/v1/auth/siwe/nonce', async (request) => {
    limiter.take(`ip:${request.ip}`);
    return { nonce: nonces.issue(), domain: request.host, chainId: context.network.chainId };
  });

  app.post('/api/v1/auth/siwe', async (request, reply) => {
    limiter.take(`ip:${request.ip}`);
    const body = parseWire(siweBody, request.body, 'Sign-In with Ethereum');
    const address = await nonces.verify(body.message, body.signature as Hex, request.host);
    const { account, created } = accounts.forEthAddress(address);
    if (created) await fundNew(request, account);
    return reply.status(created ? 201 : 200).send(startSession(request, reply, account));
  });

  app.post('/api/v1/auth/signout', async (request, reply) => {
    authenticate(context, request, { sessionOnly: true });
    const id = request.cookies[SESSION_COOKIE];
    if (id) sessions.end(id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get('/api/v1/session', async (request) => {
    const id = request.cookies[SESSION_COOKIE];
    const session = id ? sessions.find(id) : undefined;
    const account = session && accounts.get(session.accountId);
    if (!session || !account) throw new NotSignedInError('not signed in');
    return { account, csrfToken: session.csrfToken };
  });
}
