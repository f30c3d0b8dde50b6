/**
 * Hostile input against the solver's HTTP API, its directory (uploads and the /ipfs gateway) and its
 * event socket: malformed, oversized, wrongly signed and replayed requests. Each one is answered with
 * a 4xx that carries a reason (or a socket refused or closed with one), never a 5xx, and leaves the
 * store and the directory exactly as they were.
 */
import fc from 'fast-check';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { identity } from 'multiformats/hashes/identity';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signRequest } from '../../src/protocol/signed-request.js';
import { SolverClient } from '../../src/protocol/solver-client.js';
import { toWire } from '../../src/protocol/wire.js';
import { CAR_CONTENT_TYPE } from '../../src/storage/car.js';
import { DAG_PB_CODE, RAW_CODE, SHA2_256_CODE } from '../../src/storage/cid.js';
import { accounts, jobOffer, resourceOffer, signJobOffer, signResourceOffer } from '../protocol/fixtures.js';
import { type SolverFixture, startSolverFixture } from './solver-fixture.js';

let fixture: SolverFixture;
/** An offer of each kind already in the store, so that routes with an id have something to refuse. */
let jobOfferId: Hex;
let resourceOfferId: Hex;
const url = () => fixture.solver.url;

beforeAll(async () => {
  fixture = await startSolverFixture();
  const jc = new SolverClient(url(), accounts.jobCreator);
  // Different GPU needs keep them apart: no deal, so the store only changes when a request changes it.
  jobOfferId = (
    await jc.postJobOffer(
      await signJobOffer(
        jobOffer({ spec: { cpu: 1, gpu: 8, gpuVram: 0, ram: 1, disk: 1 } }),
        fixture.network,
      ),
    )
  ).id;
  const rp = new SolverClient(url(), accounts.resourceProvider);
  resourceOfferId = (await rp.postResourceOffer(await signResourceOffer(resourceOffer(), fixture.network)))
    .id;
});

afterAll(async () => {
  await fixture?.stop();
});

type Answer = { status: number; body: string };

async function send(method: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${url()}${path}`, { method, ...init });
  return { status: response.status, body: await response.text() };
}

/** A refusal: a 4xx that says what went wrong. */
function expectRefusal(answer: Answer, context: string): void {
  expect(answer.status, `${context}: ${answer.body}`).toBeGreaterThanOrEqual(400);
  expect(answer.status, `${context}: ${answer.body}`).toBeLessThan(500);
  expect(answer.body.trim().length, context).toBeGreaterThan(0);
}

/** Runs the property, then checks that no request left a trace in the store or the directory. */
async function refusedAndUnchanged(run: () => Promise<void>) {
  const before = await fixture.snapshot();
  await run();
  expect(await fixture.snapshot()).toBe(before);
}

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => `0x${Buffer.from(b).toString('hex')}`);
/** Ids that are not a 32-byte hash, and hashes of nothing stored. */
const badId = fc.oneof(
  fc.string({ maxLength: 80 }).map(encodeURIComponent),
  hex(31),
  hex(33),
  fc.constantFrom('..', '%2e%2e', '0x', '%00', 'null', '-1', `0x${'zz'.repeat(32)}`),
);
const unknownId = hex(32);
const jsonBody = fc.oneof(fc.jsonValue(), fc.object(), fc.array(fc.jsonValue()));

/** A valid signed offer with one field replaced by something else. */
const mutatedOffer = async (kind: 'job' | 'resource', field: string, value: unknown) => {
  const signed =
    kind === 'job'
      ? toWire(await signJobOffer(jobOffer({ nonce: 77n }), fixture.network))
      : toWire(await signResourceOffer(resourceOffer({ nonce: 77n }), fixture.network));
  const body = signed as { offer: Record<string, unknown>; signature: string };
  if (field === 'signature') body.signature = value as string;
  else body.offer[field] = value;
  return body;
};

describe('the solver refuses hostile requests with a 4xx and changes nothing', () => {
  it('malformed JSON bodies on every route that takes one', async () => {
    const routes = () =>
      fc.constantFrom(
        'POST /api/v1/job-offers',
        'POST /api/v1/resource-offers',
        `POST /api/v1/deals/0x${'ab'.repeat(32)}/signatures`,
      );
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(routes(), jsonBody, async (route, body) => {
          const [method, path] = route.split(' ') as [string, string];
          const answer = await send(method, path, {
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          expectRefusal(answer, `${route} ${JSON.stringify(body)}`);
        }),
        { numRuns: 150 },
      ),
    );
  });

  it('bodies that are not JSON, or lie about their type', async () => {
    const bodies = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom(
        '{',
        '{"offer":',
        '[1,2',
        '{"__proto__":{"x":1}}',
        '{"constructor":{"prototype":{}}}',
        'null',
      ),
    );
    const types = fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      '',
    );
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(bodies, types, async (body, type) => {
          const answer = await send('POST', '/api/v1/job-offers', {
            headers: type ? { 'content-type': type } : {},
            body,
          });
          expectRefusal(answer, `${type} ${body}`);
        }),
        { numRuns: 100 },
      ),
    );
  });

  it('signed offers with one field changed (the signature no longer holds, or the value is invalid)', async () => {
    const jobFields = fc.constantFrom(
      'jobCreator',
      'solver',
      'module',
      'inputs',
      'spec',
      'pricingMode',
      'maxPrice',
      'mediators',
      'target',
      'nonce',
      'expiry',
      'signature',
    );
    const resourceFields = fc.constantFrom(
      'resourceProvider',
      'solver',
      'spec',
      'fixedPrice',
      'mediators',
      'modules',
      'nonce',
      'expiry',
      'signature',
    );
    const property = (kind: 'job' | 'resource', fields: fc.Arbitrary<string>) =>
      fc.asyncProperty(fields, fc.jsonValue(), async (field, value) => {
        const body = await mutatedOffer(kind, field, value);
        const original = await mutatedOffer(kind, 'nonce', '77');
        // A "change" to the value it had is no change: that offer is valid.
        fc.pre(JSON.stringify(body) !== JSON.stringify(original));
        const answer = await send('POST', `/api/v1/${kind}-offers`, {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expectRefusal(answer, `${kind} offer with ${field} = ${JSON.stringify(value)}`);
      });
    await refusedAndUnchanged(async () => {
      await fc.assert(property('job', jobFields), { numRuns: 80 });
      await fc.assert(property('resource', resourceFields), { numRuns: 60 });
    });
  });

  it('signatures that are well-formed hex but no valid signature, on offers', async () => {
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(
          hex(65),
          fc.constantFrom<'job' | 'resource'>('job', 'resource'),
          async (signature, kind) => {
            const answer = await send('POST', `/api/v1/${kind}-offers`, {
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(await mutatedOffer(kind, 'signature', signature)),
            });
            expectRefusal(answer, `${kind} offer signed ${signature}`);
          },
        ),
        { numRuns: 40 },
      ),
    );
  });

  it('oversized bodies: inline inputs past 64 KiB, JSON past the body limit, uploads past the upload limit', async () => {
    await refusedAndUnchanged(async () => {
      const bigInputs = await signJobOffer(
        jobOffer({ nonce: 78n, inputs: 'x'.repeat(65 * 1024) }),
        fixture.network,
      );
      const inputs = await send('POST', '/api/v1/job-offers', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(toWire(bigInputs)),
      });
      expect(inputs.status).toBe(400);
      expect(inputs.body).toMatch(/64 KiB/);
      const huge = await send('POST', '/api/v1/resource-offers', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ padding: 'x'.repeat(fixture.solver.limits.maxBodyBytes + 1) }),
      });
      expect(huge.status).toBe(413);
      expect(huge.body).toMatch(/too large/);
    });
  });

  it('ids in paths that are not hashes, or hashes of nothing', async () => {
    const templates = fc.constantFrom(
      'GET /api/v1/job-offers/:id',
      'GET /api/v1/job-offers/:id/why',
      'DELETE /api/v1/job-offers/:id',
      'GET /api/v1/resource-offers/:id',
      'DELETE /api/v1/resource-offers/:id',
      'GET /api/v1/deals/:id',
      'POST /api/v1/deals/:id/running',
      'POST /api/v1/deals/:id/signatures',
      'PUT /api/v1/deals/:id/files',
    );
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(templates, fc.oneof(badId, unknownId), async (template, id) => {
          const [method, path] = template.replace(':id', id).split(' ') as [string, string];
          const answer = await send(method, path);
          expectRefusal(answer, `${method} ${path}`);
        }),
        { numRuns: 150 },
      ),
    );
  });

  it('signed requests with a wrong signer, a stale or malformed timestamp, a bad signature, or replayed', async () => {
    const tamper = fc.constantFrom(
      'stranger',
      'stale',
      'future',
      'timestamp',
      'signature',
      'address',
      'nonce',
      'method',
      'replay',
    );
    const routes = fc.constantFrom(
      () => `/api/v1/job-offers/${jobOfferId}`,
      () => `/api/v1/resource-offers/${resourceOfferId}`,
    );
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(tamper, routes, async (how, route) => {
          const path = route();
          const owner = path.includes('job-offers') ? accounts.jobCreator : accounts.resourceProvider;
          const signer = how === 'stranger' ? accounts.stranger : owner;
          const headers = await signRequest(signer, how === 'method' ? 'GET' : 'DELETE', path);
          if (how === 'stale') {
            headers['x-lilypad-timestamp'] = String(Date.now() - 3_600_000);
          } else if (how === 'future') {
            headers['x-lilypad-timestamp'] = String(Date.now() + 3_600_000);
          } else if (how === 'timestamp') headers['x-lilypad-timestamp'] = 'yesterday';
          else if (how === 'signature') headers['x-lilypad-signature'] = '0x1234';
          else if (how === 'address') headers['x-lilypad-address'] = accounts.stranger.address;
          else if (how === 'nonce') headers['x-lilypad-nonce'] = `${headers['x-lilypad-nonce']}x`;
          else if (how === 'replay') {
            // A request that passed authentication once (and was refused: not the owner's), sent again.
            Object.assign(headers, await signRequest(accounts.stranger, 'DELETE', path));
            expect((await send('DELETE', path, { headers })).status).toBe(403);
          }
          const answer = await send('DELETE', path, { headers });
          expectRefusal(answer, `${how} DELETE ${path}`);
          if (how === 'stranger') expect(answer.status).toBe(403);
          else expect(answer.status).toBe(401);
        }),
        { numRuns: 60 },
      ),
    );
  });

  it('uploads that are not CARs, or are signed by someone else than the uploader', async () => {
    const deal = `0x${'ab'.repeat(32)}`;
    const path = `/api/v1/deals/${deal}/files`;
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), async (bytes, sign) => {
          const headers: Record<string, string> = { 'content-type': CAR_CONTENT_TYPE };
          if (sign) Object.assign(headers, await signRequest(accounts.jobCreator, 'PUT', path, bytes));
          const answer = await send('PUT', path, { headers, body: bytes });
          expectRefusal(answer, `upload of ${bytes.byteLength} bytes`);
        }),
        { numRuns: 60 },
      ),
    );
  });

  it('gateway requests for CIDs that are malformed, absent, or inline garbage', async () => {
    const inline = (code: number, bytes: Uint8Array) => CID.createV1(code, identity.digest(bytes)).toString();
    const cids = fc.oneof(
      fc.string({ maxLength: 80 }).map(encodeURIComponent),
      fc.constantFrom('Qm', 'bafy', 'zzzz', '%00', 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'),
      fc.uint8Array({ maxLength: 64 }).map((b) => inline(DAG_PB_CODE, b)),
      fc.uint8Array({ maxLength: 64 }).map((b) => inline(0x71, b)),
      fc
        .uint8Array({ minLength: 32, maxLength: 32 })
        .map((digest) => CID.createV1(RAW_CODE, Digest.create(SHA2_256_CODE, digest)).toString()),
    );
    const formats = fc.constantFrom(
      '',
      '?format=raw',
      '?format=car',
      '?format=car&dag-scope=block',
      '?format=car&dag-scope=entity',
      '?format=tar',
      '?format=raw&format=car',
      '?entity-bytes=0:10',
      '/sub/path',
    );
    const accepts = fc.constantFrom(
      undefined,
      '*/*',
      'application/vnd.ipld.raw',
      'application/vnd.ipld.car;version=2',
      'application/vnd.ipld.car;q=abc',
      'text/html',
    );
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(cids, formats, accepts, fc.boolean(), async (cid, format, accept, head) => {
          const answer = await send(head ? 'HEAD' : 'GET', `/ipfs/${cid}${format}`, {
            headers: accept ? { accept } : {},
          });
          // An inline CID carries its own block: the gateway may serve it, as long as it never fails.
          if (answer.status === 200) return;
          expect(answer.status, `${cid}${format}`).toBeGreaterThanOrEqual(400);
          expect(answer.status, `${cid}${format}: ${answer.body}`).toBeLessThan(500);
        }),
        { numRuns: 150 },
      ),
    );
  });

  it('refuses a CAR of an inline root that is not valid dag-pb before it starts the response', async () => {
    // Found by the fuzzer: the stream used to start, then abort, which a client sees as a cut connection.
    const answer = await send('GET', '/ipfs/bafyqaaa?format=car');
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/cannot make a CAR of bafyqaaa/);
  });
});

describe('the event socket refuses hostile upgrades and messages with a reason', () => {
  const wsUrl = (path: string) => `${url().replace('http', 'ws')}${path}`;

  /** The status of a refused upgrade and its text, or 101 if the socket opened. */
  const upgrade = (path: string, headers: Record<string, string>) =>
    new Promise<Answer>((resolve, reject) => {
      const socket = new WebSocket(wsUrl(path), { headers });
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      socket.once('open', () => {
        socket.close();
        resolve({ status: 101, body: '' });
      });
      socket.once('error', (error) => {
        if (!socket.listenerCount('unexpected-response')) reject(error);
      });
    });

  it('refuses upgrades with a bad path, ?since or signature, each with a status and a reason', async () => {
    const paths = fc.oneof(
      fc.constantFrom(
        '/api/v1/events?since=-1',
        '/api/v1/events?since=abc',
        `/api/v1/events?since=${'9'.repeat(20)}`,
        '/api/v1/other',
        '/api/v1/events/',
      ),
      fc.string({ maxLength: 40 }).map((s) => `/api/v1/events?since=${encodeURIComponent(s)}`),
    );
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(paths, fc.boolean(), async (path, signed) => {
          const headers = signed ? await signRequest(accounts.jobCreator, 'GET', path) : {};
          const answer = await upgrade(path, headers);
          if (answer.status === 101) {
            // A since that parses is fine: the socket opened for a correctly signed request.
            expect(signed).toBe(true);
            return;
          }
          expectRefusal(answer, path);
        }),
        { numRuns: 60 },
      ),
    );
  });

  it('refuses a replayed upgrade', async () => {
    const headers = await signRequest(accounts.jobCreator, 'GET', '/api/v1/events');
    expect((await upgrade('/api/v1/events', headers)).status).toBe(101);
    const replay = await upgrade('/api/v1/events', headers);
    expect(replay.status).toBe(401);
    expect(replay.body).toMatch(/replay/);
  });

  it('survives a request line that is not a URL', async () => {
    const { connect } = await import('node:net');
    const { port } = new URL(url());
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write(
          'GET http://[::1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        ),
      );
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1.1 4\d\d/);
    expect((await send('GET', '/api/v1/health')).status).toBe(200);
  });

  /** Opens a signed event socket, sends `message`, and returns how the solver closed it. */
  const closeAfterSending = async (message: string | Uint8Array) => {
    const socket = new WebSocket(wsUrl('/api/v1/events'), {
      headers: await signRequest(accounts.jobCreator, 'GET', '/api/v1/events'),
    });
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    socket.send(message);
    return closed;
  };

  it('closes a socket that sends anything, saying that it only carries events', async () => {
    await refusedAndUnchanged(() =>
      fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 })),
          async (message) => {
            const { code, reason } = await closeAfterSending(message);
            expect(code).toBe(1008);
            expect(reason).toMatch(/only carries the solver's events/);
          },
        ),
        { numRuns: 20 },
      ),
    );
  });

  it('closes a socket that sends a message past the size limit (1009), and keeps serving', async () => {
    await refusedAndUnchanged(async () => {
      expect((await closeAfterSending('x'.repeat(128 * 1024))).code).toBe(1009);
      expect((await send('GET', '/api/v1/health')).status).toBe(200);
    });
  });
});

describe('event socket upgrades count against the client IP address', () => {
  let limited: SolverFixture;

  beforeAll(async () => {
    limited = await startSolverFixture({ ipRate: { perSecond: 0.01, burst: 2 } });
  });

  afterAll(async () => {
    await limited?.stop();
  });

  it('refuses the attempts past the burst with 429 and Retry-After, before checking a signature', async () => {
    const attempt = () =>
      new Promise<{ status: number; retryAfter: string | undefined }>((resolve) => {
        const socket = new WebSocket(`${limited.solver.url.replace('http', 'ws')}/api/v1/events`, {
          headers: { 'x-lilypad-address': accounts.stranger.address },
        });
        socket.once('unexpected-response', (_request, response) =>
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: response.headers['retry-after'] as string,
          }),
        );
        socket.once('error', () => {});
      });
    expect((await attempt()).status).toBe(401);
    expect((await attempt()).status).toBe(401);
    const third = await attempt();
    expect(third.status).toBe(429);
    expect(Number(third.retryAfter)).toBeGreaterThanOrEqual(1);
  });
});
