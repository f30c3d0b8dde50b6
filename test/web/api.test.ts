/**
 * The web API without a browser, on a real devnet: sign-up validation, sessions with CSRF, API keys
 * (made, used, revoked), a cowsay job through the typed client with its live events and result files,
 * rate limits per key, Sign-In with Ethereum, jobs across a restart, and no secret in the log.
 */

import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, WebApiError } from '../../src/web/client.js';
import { startWebFixture, type WebFixture } from './fixture.js';

let fixture: WebFixture;
const url = () => fixture.web.url;

/** A browser-like session: the cookie kept by hand, the CSRF token sent when asked. */
async function signUp(email: string, password = 'correct horse battery') {
  const response = await fetch(`${url()}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  expect(response.status).toBe(201);
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const { csrfToken } = (await response.json()) as { csrfToken: string };
  return { cookie, csrfToken };
}

async function expectError(promise: Promise<unknown>, status: number, words: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebApiError);
  expect((error as WebApiError).status).toBe(status);
  expect((error as WebApiError).message).toMatch(words);
}

beforeAll(async () => {
  fixture = await startWebFixture({ rateLimit: { perSecond: 1, burst: 40 } });
}, 120_000);

afterAll(async () => {
  await fixture?.stop();
});

describe('accounts and sessions', () => {
  it('refuses a bad sign-up with words that say what to fix', async () => {
    const post = (body: unknown) =>
      fetch(`${url()}/api/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const badEmail = await post({ email: 'not-an-email', password: 'long enough password' });
    expect(badEmail.status).toBe(400);
    expect(((await badEmail.json()) as { error: string }).error).toMatch(/email: must be an email address/);
    const shortPassword = await post({ email: 'a@example.org', password: 'short' });
    expect(((await shortPassword.json()) as { error: string }).error).toMatch(
      /password: must be at least 10/,
    );
    const extra = await post({ email: 'a@example.org', password: 'long enough password', admin: true });
    expect(extra.status).toBe(400);
    const text = await fetch(`${url()}/api/v1/auth/signup`, { method: 'POST', body: 'hello' });
    expect(text.status).toBe(415);
  });

  it('signs up, funds the wallet from the faucet, and refuses a second account with the same email', async () => {
    const { cookie } = await signUp('grace@example.org');
    const wallet = await fetch(`${url()}/api/v1/account/wallet`, { headers: { cookie } });
    const view = (await wallet.json()) as { tokens: string; gas: string; faucet: boolean };
    expect(BigInt(view.tokens)).toBe(100n * 10n ** 18n);
    expect(BigInt(view.gas)).toBeGreaterThan(0n);
    expect(view.faucet).toBe(true);
    const again = await fetch(`${url()}/api/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'Grace@example.org', password: 'another long password' }),
    });
    expect(again.status).toBe(409);
    const wrong = await fetch(`${url()}/api/v1/auth/signin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'grace@example.org', password: 'not the password' }),
    });
    expect(wrong.status).toBe(401);
  });

  it('needs the CSRF token for a session change, not for a read', async () => {
    const { cookie, csrfToken } = await signUp('csrf@example.org');
    const post = (headers: Record<string, string>) =>
      fetch(`${url()}/api/v1/keys`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'laptop' }),
      });
    const without = await post({});
    expect(without.status).toBe(403);
    expect(((await without.json()) as { error: string }).error).toMatch(/x-csrf-token/);
    expect((await post({ 'x-csrf-token': 'forged' })).status).toBe(403);
    expect((await post({ 'x-csrf-token': csrfToken })).status).toBe(201);
    expect((await fetch(`${url()}/api/v1/keys`, { headers: { cookie } })).status).toBe(200);
  });

  it('signs in with Ethereum (EIP-4361), once per nonce', async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const { nonce, domain } = (await (await fetch(`${url()}/api/v1/auth/siwe/nonce`)).json()) as {
      nonce: string;
      domain: string;
    };
    const message = createSiweMessage({
      address: account.address,
      chainId: fixture.devnet.network.chainId,
      domain,
      nonce,
      uri: url(),
      version: '1',
    });
    const signature = await account.signMessage({ message });
    const post = () =>
      fetch(`${url()}/api/v1/auth/siwe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message, signature }),
      });
    const first = await post();
    expect(first.status).toBe(201);
    expect(((await first.json()) as { account: { ethAddress: string } }).account.ethAddress).toBe(
      account.address,
    );
    const replay = await post();
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: string }).error).toMatch(/nonce/);
  });
});

describe('API keys and jobs', () => {
  let keySecret: string;
  let keyId: string;
  let session: { cookie: string; csrfToken: string };

  beforeAll(async () => {
    session = await signUp('ada@example.org');
    const response = await fetch(`${url()}/api/v1/keys`, {
      method: 'POST',
      headers: {
        cookie: session.cookie,
        'x-csrf-token': session.csrfToken,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'script' }),
    });
    const key = (await response.json()) as { id: string; secret: string; prefix: string };
    expect(key.secret.startsWith(key.prefix)).toBe(true);
    keySecret = key.secret;
    keyId = key.id;
  });

  it('refuses a request without a key, or with a made-up one', async () => {
    await expectError(createClient({ url: url() }).jobs(), 401, /sign in first, or send an API key/);
    await expectError(createClient({ url: url(), apiKey: 'lp_madeup' }).jobs(), 401, /unknown or revoked/);
    await expectError(createClient({ url: url(), apiKey: 'sk-123' }).jobs(), 401, /Bearer lp_/);
  });

  it('refuses a job that is not in the catalogue, or whose inputs are wrong', async () => {
    const client = createClient({ url: url(), apiKey: keySecret });
    await expectError(client.submitJob({ module: '/etc', inputs: {} }), 400, /not in this app's catalogue/);
    await expectError(
      client.submitJob({ module: 'cowsay:v0.0.1', inputs: { Colour: 'red' } }),
      400,
      /unknown input "Colour"/,
    );
    await expectError(
      client.submitJob({ module: 'cowsay:v0.0.1', maxPrice: 'lots' }),
      400,
      /maxPrice: must be an amount/,
    );
  });

  it('runs cowsay through the client, with live events, result files and the history', async () => {
    const client = createClient({ url: url(), apiKey: keySecret });
    const modules = await client.modules();
    expect(modules.map((m) => m.ref)).toContain('cowsay:v0.0.1');
    const submitted = await client.submitJob({
      module: 'cowsay:v0.0.1',
      inputs: { Message: 'moo from the API' },
    });
    expect(submitted.status).toBe('submitted');
    const seen: string[] = [];
    const done = await client.followJob(submitted.id, (event) => seen.push(event.status));
    expect(done.status, done.error ?? '').toBe('paid');
    expect(BigInt(done.cost ?? '0')).toBeGreaterThan(0n);
    // The timeline's steps, in order.
    const steps = seen.filter((s, i) => s !== seen[i - 1]);
    expect(steps).toEqual(['submitted', 'offered', 'matched', 'running', 'verified', 'paid']);
    const files = await client.files(done.id);
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(['exitCode', 'stderr', 'stdout']));
    expect(await client.fileText(done.id, 'stdout')).toContain('moo from the API');
    const traversal = await fetch(`${url()}/api/v1/jobs/${done.id}/files/..%2F..%2Fweb.sqlite`, {
      headers: { authorization: `Bearer ${keySecret}` },
    });
    expect(traversal.status).toBe(404);
    expect(((await traversal.json()) as { error: string }).error).toMatch(/no result file/);
    expect((await client.jobs()).map((j) => j.id)).toContain(done.id);
    // Another account sees none of it.
    const other = await signUp('eve@example.org');
    const peek = await fetch(`${url()}/api/v1/jobs/${done.id}`, { headers: { cookie: other.cookie } });
    expect(peek.status).toBe(404);
    const wallet = await fetch(`${url()}/api/v1/account/wallet`, { headers: { cookie: session.cookie } });
    expect(((await wallet.json()) as { spent: string }).spent).toBe(done.cost);
  }, 120_000);

  it('shows when a key was last used, and refuses it once revoked', async () => {
    const list = await fetch(`${url()}/api/v1/keys`, { headers: { cookie: session.cookie } });
    const keys = (await list.json()) as { id: string; lastUsedAt: number | null }[];
    expect(keys.find((k) => k.id === keyId)?.lastUsedAt).toBeGreaterThan(0);
    const revoke = await fetch(`${url()}/api/v1/keys/${keyId}`, {
      method: 'DELETE',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
    });
    expect(revoke.status).toBe(200);
    await expectError(createClient({ url: url(), apiKey: keySecret }).jobs(), 401, /unknown or revoked/);
  });

  it('limits requests per key, saying when to retry', async () => {
    const key = await fetch(`${url()}/api/v1/keys`, {
      method: 'POST',
      headers: {
        cookie: session.cookie,
        'x-csrf-token': session.csrfToken,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'busy' }),
    });
    const { secret } = (await key.json()) as { secret: string };
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 60; i++) {
      const response = await fetch(`${url()}/api/v1/jobs`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers.get('retry-after');
        break;
      }
    }
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });
});

describe('restarts and logs', () => {
  it('keeps accounts, keys and jobs across a restart; a job in flight is followed to its end', async () => {
    const session = await signUp('restart@example.org');
    const made = await fetch(`${url()}/api/v1/keys`, {
      method: 'POST',
      headers: {
        cookie: session.cookie,
        'x-csrf-token': session.csrfToken,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'survivor' }),
    });
    const { secret } = (await made.json()) as { secret: string };
    const before = createClient({ url: url(), apiKey: secret });
    const job = await before.submitJob({ module: 'cowsay:v0.0.1', inputs: { Message: 'across a restart' } });
    await fixture.restart();
    const after = createClient({ url: url(), apiKey: secret });
    const ended = await after.followJob(job.id);
    expect(ended.status, ended.error ?? '').toBe('paid');
    expect((await after.jobs()).map((j) => j.id)).toContain(job.id);
  }, 120_000);

  it('writes no password, session, key or wallet key to the log', async () => {
    const password = 'a very secret password 42';
    const response = await fetch(`${url()}/api/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'quiet@example.org', password }),
    });
    const { csrfToken } = (await response.json()) as { csrfToken: string };
    const text = fixture.log.join('');
    expect(fixture.log.length).toBeGreaterThan(0);
    expect(text).not.toContain(password);
    expect(text).not.toContain(csrfToken);
    expect(text).not.toMatch(/lp_[A-Za-z0-9_-]{20}/);
    expect(text).not.toMatch(/0x[0-9a-f]{64}"/i);
  });
});
