/**
 * Hostile input against the web app's API (/api/v1), on a real devnet: malformed and oversized bodies,
 * made-up credentials, forged sessions, paths that try to leave their folder, and one account reaching
 * for another's jobs, files and keys. Every one gets a 4xx with a reason, never a 5xx, and the web
 * app's database is left as it was.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/web/client.js';
import { startWebFixture, type WebFixture } from '../web/fixture.js';

let fixture: WebFixture;
let reader: Database.Database;
const url = () => fixture.web.url;

type Session = { cookie: string; csrfToken: string };
type Answer = { status: number; body: string };
/** Two accounts: Ada, who ran a job and has an API key, and Eve, who wants to see it. */
let ada: Session & { key: string; keyId: string; jobId: string };
let eve: Session & { key: string };

async function send(method: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${url()}${path}`, { method, ...init });
  return { status: response.status, body: await response.text() };
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

async function signUp(email: string): Promise<Session> {
  const response = await fetch(`${url()}/api/v1/auth/signup`, {
    method: 'POST',
    ...json({ email, password: 'correct horse battery' }),
  });
  expect(response.status).toBe(201);
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const { csrfToken } = (await response.json()) as { csrfToken: string };
  return { cookie, csrfToken };
}

async function makeKey(session: Session): Promise<{ id: string; secret: string }> {
  const response = await fetch(`${url()}/api/v1/keys`, {
    method: 'POST',
    ...json({ name: 'script' }, { cookie: session.cookie, 'x-csrf-token': session.csrfToken }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; secret: string };
}

/** Every row of the web app's tables, but when a key was last used (a read with a key records that). */
function snapshot(): string {
  const tables = ['accounts', 'sessions', 'siwe_nonces', 'api_keys', 'jobs', 'job_events'];
  return JSON.stringify(
    tables.map((table) =>
      (reader.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all() as Record<string, unknown>[]).map(
        ({ last_used_at: _lastUsed, ...row }) => row,
      ),
    ),
  );
}

function expectRefusal(answer: Answer, context: string): void {
  expect(answer.status, `${context}: ${answer.body}`).toBeGreaterThanOrEqual(400);
  expect(answer.status, `${context}: ${answer.body}`).toBeLessThan(500);
  expect(answer.body, context).toMatch(/"error":"[^"]+/);
}

async function refusedAndUnchanged(run: () => Promise<void>): Promise<void> {
  const before = snapshot();
  await run();
  expect(snapshot()).toBe(before);
}

beforeAll(async () => {
  // No rate limit: the fuzzer's requests must reach the routes, not the limiter.
  fixture = await startWebFixture({ rateLimit: { perSecond: 0, burst: 0 } });
  reader = new Database(join(fixture.dataDir, 'web', 'web.sqlite'), { readonly: true });
  const adaSession = await signUp('ada@example.org');
  const adaKey = await makeKey(adaSession);
  const client = createClient({ url: url(), apiKey: adaKey.secret });
  const job = await client.submitJob({ module: 'cowsay:v0.0.1', inputs: { Message: 'mine alone' } });
  const done = await client.followJob(job.id);
  expect(done.status, done.error ?? '').toBe('paid');
  ada = { ...adaSession, key: adaKey.secret, keyId: adaKey.id, jobId: job.id };
  const eveSession = await signUp('eve@example.org');
  eve = { ...eveSession, key: (await makeKey(eveSession)).secret };
}, 180_000);

afterAll(async () => {
  reader?.close();
  await fixture?.stop();
});

/** Ways to present oneself: none, made up, malformed, or a real session without its CSRF token. */
const credentials = () =>
  fc.constantFrom<() => Record<string, string>>(
    () => ({}),
    () => ({ authorization: 'Bearer lp_madeup' }),
    () => ({ authorization: 'Basic YWRhOnB3' }),
    () => ({ authorization: `Bearer ${ada.key} extra` }),
    () => ({ authorization: '' }),
    () => ({ cookie: 'lilypad_session=forged' }),
    () => ({ cookie: ada.cookie }),
    () => ({ cookie: ada.cookie, 'x-csrf-token': eve.csrfToken }),
  );

describe('the web API refuses hostile requests with a 4xx and changes nothing', () => {
  it('malformed bodies on every route that takes one, with or without credentials', async () => {
    const routes = fc.constantFrom(
      '/api/v1/auth/signup',
      '/api/v1/auth/signin',
      '/api/v1/auth/siwe',
      '/api/v1/keys',
      '/api/v1/jobs',
      '/api/v1/account/deposit',
      '/api/v1/account/withdraw',
    );
    const bodies = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(
        fc.constantFrom('email', 'password', 'module', 'inputs', 'amount', 'name', 'message'),
        fc.jsonValue(),
      ),
      fc.constantFrom(
        '{',
        '[',
        '{"__proto__":{"admin":true}}',
        '{"email":"a@b.c","password":"0123456789","admin":1}',
      ),
    );
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(routes, bodies, credentials(), async (route, body, who) => {
          expectRefusal(await send('POST', route, json(body, who())), `${route} ${JSON.stringify(body)}`);
        }),
        { numRuns: 150 },
      ),
    );
  });

  it('job submissions with a real key and wrong modules, inputs or prices', async () => {
    const bodies = fc.record({
      module: fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.constantFrom(
          '../../etc/passwd',
          '/etc',
          '.',
          'cowsay:v9.9.9',
          'github.com/x/y:v1',
          'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
        ),
      ),
      inputs: fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 })),
      maxPrice: fc.option(
        fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('0', '-1', '1e9', '9'.repeat(13))),
        { nil: undefined },
      ),
    });
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(bodies, async (body) => {
          const answer = await send(
            'POST',
            '/api/v1/jobs',
            json(body, { authorization: `Bearer ${eve.key}` }),
          );
          expectRefusal(answer, JSON.stringify(body));
        }),
        { numRuns: 80 },
      ),
    );
  });

  it('cowsay with inputs that are too long, unknown, template code, or files that are not files', async () => {
    const hostile = [
      { module: 'cowsay:v0.0.1', inputs: { Message: 'x'.repeat(100_001) } },
      { module: 'cowsay:v0.0.1', inputs: { Message: 'moo', Entrypoint: '/bin/sh' } },
      { module: 'cowsay:v0.0.1', inputs: { Message: 'moo' }, admin: true },
      '{"module":"cowsay:v0.0.1","inputs":{"Message":"moo","__proto__":{"polluted":"yes"}}}',
      '{"module":"cowsay:v0.0.1","inputs":{"Message":"moo","constructor":{"prototype":{"polluted":"yes"}}}}',
    ];
    await refusedAndUnchanged(async () => {
      for (const body of hostile) {
        const answer = await send('POST', '/api/v1/jobs', json(body, { authorization: `Bearer ${eve.key}` }));
        expectRefusal(answer, JSON.stringify(body).slice(0, 200));
      }
    });
  });

  it('multipart submissions that are malformed, too large or name inputs that are not files', async () => {
    const multipart = (parts: string, boundary = 'b0undary') => ({
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        authorization: `Bearer ${eve.key}`,
      },
      body: parts,
    });
    const file = (name: string, content: string) =>
      `--b0undary\r\ncontent-disposition: form-data; name="${name}"; filename="x.txt"\r\ncontent-type: text/plain\r\n\r\n${content}\r\n`;
    const field = (name: string, value: string) =>
      `--b0undary\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const cases = [
      multipart('not multipart at all'),
      multipart(`${field('module', 'cowsay:v0.0.1')}--b0undary--\r\n`, ''),
      multipart(`${field('module', 'cowsay:v0.0.1')}${field('inputs', '{not json')}--b0undary--\r\n`),
      multipart(`${field('module', 'cowsay:v0.0.1')}${file('Message', 'moo')}--b0undary--\r\n`),
      multipart(`${field('module', 'cowsay:v0.0.1')}${file('../../Message', 'moo')}--b0undary--\r\n`),
      multipart(
        `${field('module', 'cowsay:v0.0.1')}${file('Message', 'x'.repeat(10 * 1024 * 1024 + 1))}--b0undary--\r\n`,
      ),
      multipart(`${Array.from({ length: 20 }, (_, i) => field(`f${i}`, 'v')).join('')}--b0undary--\r\n`),
      multipart(`${field('module', 'cowsay:v0.0.1')}`),
    ];
    await refusedAndUnchanged(async () => {
      for (const [index, init] of cases.entries()) {
        const answer = await send('POST', '/api/v1/jobs', init);
        expectRefusal(answer, `multipart case ${index}`);
        // Found by this test: a body that is not multipart at all used to be a 500.
        if (index === 0) expect(answer.body).toMatch(/not valid multipart\/form-data/);
      }
    });
  });

  it('paths with ids that are not ids, and file paths that try to leave the result folder', async () => {
    const templates = fc.constantFrom(
      'GET /api/v1/jobs/:id',
      'GET /api/v1/jobs/:id/events',
      'GET /api/v1/jobs/:id/files',
      'GET /api/v1/jobs/:job/files/:id',
      'DELETE /api/v1/keys/:id',
      'GET /api/v1/modules/:id',
    );
    const ids = fc.oneof(
      fc.string({ maxLength: 60 }).map(encodeURIComponent),
      fc.constantFrom(
        '..',
        '..%2F..%2Fweb.sqlite',
        '%2e%2e/%2e%2e/secret',
        '..%5C..%5Csecret',
        'stdout%00.png',
        '/etc/passwd',
        '%2Fetc%2Fpasswd',
      ),
    );
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(templates, ids, fc.boolean(), async (template, id, asAda) => {
          const [method, path] = template.replace(':job', ada.jobId).replace(':id', id).split(' ') as [
            string,
            string,
          ];
          const headers: Record<string, string> = asAda
            ? { cookie: ada.cookie, 'x-csrf-token': ada.csrfToken }
            : { authorization: `Bearer ${eve.key}` };
          expectRefusal(await send(method, path, { headers }), `${method} ${path}`);
        }),
        { numRuns: 120 },
      ),
    );
  });

  it('event streams asked to start from a seq that is not one', async () => {
    const seqs = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom('-1', '1.5', '1e400', 'NaN', '9'.repeat(400)),
    );
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(seqs, fc.boolean(), async (seq, header) => {
          fc.pre(!/^\s*\d+(\.0*)?\s*$/.test(seq) && seq.trim() !== '');
          const path = `/api/v1/jobs/${ada.jobId}/events${header ? '' : `?since=${encodeURIComponent(seq)}`}`;
          const headers: Record<string, string> = { authorization: `Bearer ${ada.key}` };
          if (header) headers['last-event-id'] = seq.replace(/[\r\n]/g, '');
          fc.pre(!header || /\S/.test(headers['last-event-id'] as string));
          expectRefusal(await send('GET', path, { headers }), `since ${JSON.stringify(seq)}`);
        }),
        { numRuns: 60 },
      ),
    );
  });

  it('withdrawals and deposits of more than the wallet holds', async () => {
    await refusedAndUnchanged(async () => {
      for (const route of ['/api/v1/account/withdraw', '/api/v1/account/deposit']) {
        const answer = await send(
          'POST',
          route,
          json({ amount: '999999999999' }, { authorization: `Bearer ${eve.key}` }),
        );
        expectRefusal(answer, route);
      }
    });
  });

  it('Sign-In with Ethereum: wrong domain, chain, nonce or signer, and a replayed message', async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const { nonce, domain, chainId } = (await (await fetch(`${url()}/api/v1/auth/siwe/nonce`)).json()) as {
      nonce: string;
      domain: string;
      chainId: number;
    };
    // The nonce names the chain the message must be for, so a wallet on another chain signs the right one.
    expect(chainId).toBe(fixture.devnet.network.chainId);
    const message = (overrides: Partial<Parameters<typeof createSiweMessage>[0]> = {}) =>
      createSiweMessage({
        address: account.address,
        chainId: fixture.devnet.network.chainId,
        domain,
        nonce,
        uri: url(),
        version: '1',
        ...overrides,
      });
    const stranger = privateKeyToAccount(generatePrivateKey());
    const attempts = [
      { message: message({ domain: 'evil.example' }), signer: account },
      { message: message({ chainId: 1 }), signer: account },
      { message: message({ nonce: 'abcdefgh12345678' }), signer: account },
      { message: message({ expirationTime: new Date(Date.now() - 60_000) }), signer: account },
      { message: message(), signer: stranger },
    ];
    await refusedAndUnchanged(async () => {
      for (const [index, attempt] of attempts.entries()) {
        const signature = await attempt.signer.signMessage({ message: attempt.message });
        const answer = await send('POST', '/api/v1/auth/siwe', json({ message: attempt.message, signature }));
        expectRefusal(answer, `SIWE attempt ${index}`);
        // Found by this test: a message for another chain was accepted.
        if (index === 1) expect(answer.body).toMatch(/for chain 1; this app is on chain/);
      }
    });
    // The right one once (the stranger's attempt above did not use up its nonce: it used to), then the
    // same again: now the nonce is spent.
    const right = message();
    const signature = await account.signMessage({ message: right });
    expect((await send('POST', '/api/v1/auth/siwe', json({ message: right, signature }))).status).toBe(201);
    await refusedAndUnchanged(async () => {
      const replay = await send('POST', '/api/v1/auth/siwe', json({ message: right, signature }));
      expectRefusal(replay, 'replayed SIWE');
      expect(replay.body).toMatch(/nonce/);
    });
  });
});

describe('one account cannot act for another', () => {
  const asEve = () => ({ authorization: `Bearer ${eve.key}` });

  it("cannot read another account's job, its events, its files or one file", async () => {
    await refusedAndUnchanged(async () => {
      for (const path of ['', '/events', '/files', '/files/stdout']) {
        const answer = await send('GET', `/api/v1/jobs/${ada.jobId}${path}`, { headers: asEve() });
        expect(answer.status, path).toBe(404);
        expect(answer.body).toMatch(/in this account|no job/);
        expect(answer.body).not.toMatch(/mine alone/);
      }
      const list = await send('GET', '/api/v1/jobs', { headers: asEve() });
      expect(list.status).toBe(200);
      expect(list.body).not.toContain(ada.jobId);
    });
    // Ada, for comparison, reads it.
    const own = await send('GET', `/api/v1/jobs/${ada.jobId}/files/stdout`, {
      headers: { authorization: `Bearer ${ada.key}` },
    });
    expect(own.body).toContain('mine alone');
  });

  it("cannot list or revoke another account's keys, and a key cannot manage keys at all", async () => {
    await refusedAndUnchanged(async () => {
      const list = await send('GET', '/api/v1/keys', { headers: { cookie: eve.cookie } });
      expect(list.status).toBe(200);
      expect(list.body).not.toContain(ada.keyId);
      const revoke = await send('DELETE', `/api/v1/keys/${ada.keyId}`, {
        headers: { cookie: eve.cookie, 'x-csrf-token': eve.csrfToken },
      });
      expect(revoke.status).toBe(404);
      const byKey = await send('DELETE', `/api/v1/keys/${ada.keyId}`, {
        headers: { authorization: `Bearer ${ada.key}` },
      });
      expect(byKey.status).toBe(401);
      expect(byKey.body).toMatch(/API keys cannot manage API keys/);
      // Eve's session cookie with Ada's CSRF token (say, read off a page of Ada's) is still refused.
      const mixed = await send('DELETE', `/api/v1/keys/${ada.keyId}`, {
        headers: { cookie: eve.cookie, 'x-csrf-token': ada.csrfToken },
      });
      expect(mixed.status).toBe(403);
    });
    const adaKeys = await send('GET', '/api/v1/keys', { headers: { cookie: ada.cookie } });
    expect(adaKeys.body).toContain(ada.keyId);
    expect(adaKeys.body).not.toMatch(/"revokedAt":\d/);
  });

  it("cannot see another account's wallet: each session and key sees its own", async () => {
    const wallet = async (headers: Record<string, string>) =>
      JSON.parse((await send('GET', '/api/v1/account/wallet', { headers })).body) as { address: string };
    const adaWallet = await wallet({ authorization: `Bearer ${ada.key}` });
    const eveWallet = await wallet(asEve());
    expect(eveWallet.address).not.toBe(adaWallet.address);
    expect((await wallet({ cookie: ada.cookie })).address).toBe(adaWallet.address);
  });
});
