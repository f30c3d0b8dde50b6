/**
 * The solver's API over real HTTP and WebSocket, against contracts on a real anvil: what it accepts,
 * what it refuses and with which message, and that one resource offer never serves two deals at once.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Anvil } from '../../src/chain/anvil.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { dealTypedData, type Network } from '../../src/protocol/eip712.js';
import { signRequest } from '../../src/protocol/signed-request.js';
import { SolverClient, SolverRequestError } from '../../src/protocol/solver-client.js';
import { type SolverEvent, toWire } from '../../src/protocol/wire.js';
import { Solver } from '../../src/solver/solver.js';
import { runCli } from '../e2e/cli.js';
import { accounts, jobOffer, resourceOffer, signJobOffer, signResourceOffer } from '../protocol/fixtures.js';
import { type SolverOnAnvil, startSolverOnAnvil } from './fixtures/solver-on-anvil.js';

const gpuSpec = { cpu: 1000, gpu: 1, gpuVram: 0, ram: 512, disk: 100 };

let fixture: SolverOnAnvil;
let anvil: Anvil;
let solver: Solver;
let dataDir: string;
let network: Network;
let contracts: SolverOnAnvil['contracts'];

beforeAll(async () => {
  fixture = await startSolverOnAnvil();
  ({ anvil, solver, dataDir, network, contracts } = fixture);
});

afterAll(async () => {
  await fixture?.stop();
});

const post = (path: string, body: unknown) =>
  fetch(`${solver.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

function collect(client: SolverClient) {
  const events: SolverEvent[] = [];
  const seqs: (number | undefined)[] = [];
  const waitFor = async (predicate: (e: SolverEvent) => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const found = events.find(predicate);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no matching event in ${ms} ms; saw ${events.map((e) => e.type).join(', ')}`);
  };
  return {
    events,
    seqs,
    waitFor,
    subscribe: (since?: number) =>
      client.subscribe(
        (e, { seq }) => {
          events.push(e);
          seqs.push(seq);
        },
        { since },
      ),
  };
}

describe('solver API', () => {
  it('refuses a malformed offer with 400 naming the fields to fix', async () => {
    const response = await post('/api/v1/job-offers', { offer: { jobCreator: 'me' }, signature: '0x00' });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: string };
    expect(error).toMatch(/offer\.jobCreator/);
    expect(error).toMatch(/signature/);
  });

  it('refuses an offer signed by someone else than its creator', async () => {
    const offer = jobOffer({ nonce: 100n });
    const forged = await signJobOffer(offer, network, accounts.stranger);
    const response = await post('/api/v1/job-offers', toWire(forged));
    expect(response.status).toBe(422);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /signed by .* not by its job creator/,
    );
  });

  it('refuses offers for another solver or already expired', async () => {
    const other = await signJobOffer(jobOffer({ nonce: 101n, solver: accounts.stranger.address }), network);
    expect((await post('/api/v1/job-offers', toWire(other))).status).toBe(422);
    const expired = await signJobOffer(jobOffer({ nonce: 102n, expiry: 1n }), network);
    const response = await post('/api/v1/job-offers', toWire(expired));
    expect(response.status).toBe(422);
    expect(await response.text()).toMatch(/expired/);
  });

  it('queues a job with the reason, matches it once an offer fits, and never double-books', async () => {
    const jc = new SolverClient(solver.url, accounts.jobCreator);
    const rp = new SolverClient(solver.url, accounts.resourceProvider);
    const jcEvents = collect(jc);
    const rpEvents = collect(rp);
    const subs = [await jcEvents.subscribe(), await rpEvents.subscribe()];
    try {
      const first = await jc.postJobOffer(await signJobOffer(jobOffer({ nonce: 1n }), network));
      const again = await jc.postJobOffer(await signJobOffer(jobOffer({ nonce: 1n }), network));
      expect(again.id).toBe(first.id);
      await jcEvents.waitFor((e) => e.type === 'job:queued' && e.reason === 'no resource offer is open');
      expect((await jc.getJobOffer(first.id)).status).toBe('queued');

      const second = await jc.postJobOffer(await signJobOffer(jobOffer({ nonce: 2n }), network));
      await rp.postResourceOffer(await signResourceOffer(resourceOffer({ nonce: 1n }), network));

      const proposed = (await rpEvents.waitFor((e) => e.type === 'deal:proposed')) as Extract<
        SolverEvent,
        { type: 'deal:proposed' }
      >;
      expect(proposed.deal.jobOffer).toBe(first.id);
      await jcEvents.waitFor((e) => e.type === 'deal:proposed');
      await new Promise((r) => setTimeout(r, 200));
      expect(rpEvents.events.filter((e) => e.type === 'deal:proposed')).toHaveLength(1);
      const waiting = await jc.getJobOffer(second.id);
      expect(waiting.status).toBe('queued');
      expect(waiting.reason).toBe('no resource offer is open');

      // Only a party can sign the deal.
      const strangerSignature = await accounts.stranger.signTypedData(dealTypedData(network, proposed.deal));
      await expect(jc.signDeal(proposed.dealId, strangerSignature)).rejects.toThrow(/not a party/);

      // Uploads need a signature, from a member of the deal.
      const car = new Uint8Array([1, 2, 3]);
      const unsigned = await fetch(`${solver.url}/api/v1/deals/${proposed.dealId}/files`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.ipld.car' },
        body: car,
      });
      expect(unsigned.status).toBe(401);
      const stranger = new SolverClient(solver.url, accounts.stranger);
      await expect(stranger.uploadCar(proposed.dealId, car)).rejects.toMatchObject({ status: 403 });
      await expect(jc.uploadCar(proposed.dealId, car)).rejects.toMatchObject({ status: 400 });
    } finally {
      for (const sub of subs) sub.close();
    }
  });

  it('refuses an event socket without a valid signature, with 401', async () => {
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(`${solver.url.replace('http', 'ws')}/api/v1/events`, { headers });
        socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.once('open', () => {
          socket.close();
          resolve(101);
        });
      });
    expect(await status(await signRequest(accounts.jobCreator, 'GET', '/api/v1/events'))).toBe(101);
    expect(await status(await signRequest(accounts.jobCreator, 'GET', '/api/v1/other'))).toBe(401);
    expect(await status({})).toBe(401);
  });

  it('answers unknown routes and bad CIDs with a 4xx that says what to do', async () => {
    const missing = await fetch(`${solver.url}/api/v1/nothing`);
    expect(missing.status).toBe(404);
    const badCid = await fetch(`${solver.url}/ipfs/not-a-cid`, {
      headers: { accept: 'application/vnd.ipld.raw' },
    });
    expect(badCid.status).toBe(400);
  });

  it('reports solver errors as SolverRequestError with the status', async () => {
    const jc = new SolverClient(solver.url, accounts.jobCreator);
    const error = await jc.getDeal(`0x${'12'.repeat(32)}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SolverRequestError);
    expect((error as SolverRequestError).status).toBe(404);
  });
  it('serves its OpenAPI document, built from the schemas it validates with', async () => {
    const response = await fetch(`${solver.url}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const path of [
      '/api/v1/job-offers',
      '/api/v1/job-offers/{id}/why',
      '/api/v1/resource-offers/{id}',
      '/api/v1/events',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(Object.keys(doc.components.schemas.SignedJobOffer?.properties ?? {})).toEqual([
      'offer',
      'signature',
    ]);
  });

  it('says what to fix for a body that is missing, too large or of the wrong type', async () => {
    const empty = await fetch(`${solver.url}/api/v1/job-offers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toMatch(/body is empty/);
    const large = await post('/api/v1/job-offers', { offer: 'x'.repeat(2 * 1024 * 1024) });
    expect(large.status).toBe(413);
    expect(await large.text()).toMatch(/limited to 1048576 bytes/);
    const text = await fetch(`${solver.url}/api/v1/resource-offers`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hi',
    });
    expect(text.status).toBe(415);
    expect(await text.text()).toMatch(/send application\/json/);
    const badId = await fetch(`${solver.url}/api/v1/job-offers/0x1234/why`);
    expect(badId.status).toBe(400);
    expect(await badId.text()).toMatch(/job offer id in the path: .*32-byte hex/);
  });

  it('says why a job waits, lets only its creator cancel it, and says so after', async () => {
    const jc = new SolverClient(solver.url, accounts.jobCreator);
    // An offer too dear for anyone here stays open, so the reason has something to count.
    await new SolverClient(solver.url, accounts.resourceProvider).postResourceOffer(
      await signResourceOffer(resourceOffer({ nonce: 300n, fixedPrice: 20n * 10n ** 18n }), network),
    );
    const { id } = await jc.postJobOffer(
      await signJobOffer(jobOffer({ nonce: 300n, spec: gpuSpec }), network),
    );
    const why = await jc.whyJobOffer(id);
    expect(why.status).toBe('queued');
    expect(why.reason).toMatch(
      /^\d+ resource offers? open, none fits: none has gpu >= 1; \d+ ha(s|ve) gpu < 1/,
    );

    const path = `/api/v1/job-offers/${id}`;
    expect((await fetch(`${solver.url}${path}`, { method: 'DELETE' })).status).toBe(401);
    const stranger = await fetch(`${solver.url}${path}`, {
      method: 'DELETE',
      headers: await signRequest(accounts.stranger, 'DELETE', path),
    });
    expect(stranger.status).toBe(403);
    expect(await stranger.text()).toMatch(/only its job creator can cancel it/);
    expect(await jc.cancelJobOffer(id)).toEqual({ id, status: 'cancelled' });
    expect(await jc.whyJobOffer(id)).toMatchObject({
      status: 'cancelled',
      reason: 'cancelled by its job creator',
    });
  });

  it("numbers each party's events, and a client that reconnects gets exactly what it missed", async () => {
    const jc = new SolverClient(solver.url, accounts.jobCreator);
    const first = collect(jc);
    const subscription = await first.subscribe();
    const posted: Hex[] = [];
    for (const nonce of [401n, 402n]) {
      posted.push(
        (await jc.postJobOffer(await signJobOffer(jobOffer({ nonce, spec: gpuSpec }), network))).id,
      );
    }
    await first.waitFor((e) => e.type === 'job:queued' && e.jobOfferId === posted[1]);
    const last = first.seqs.at(-1) as number;
    const queuedSeqs = first.events.flatMap((e, i) =>
      e.type === 'job:queued' && posted.includes(e.jobOfferId) ? [first.seqs[i]] : [],
    );
    expect(queuedSeqs.slice(-2)).toEqual([last - 1, last]);

    // The solver drops every socket; an event is committed before the client is back.
    solver.hub.closeAll();
    const missed = (
      await jc.postJobOffer(await signJobOffer(jobOffer({ nonce: 403n, spec: gpuSpec }), network))
    ).id;
    await first.waitFor((e) => e.type === 'job:queued' && e.jobOfferId === missed);
    const replayed = first.events.filter((e) => e.type === 'job:queued' && e.jobOfferId === missed);
    expect(replayed).toHaveLength(1);
    expect(first.seqs.at(-1)).toBe(last + 1);
    subscription.close();

    // A client that says where it stopped gets what came after, from the store.
    const later = collect(jc);
    const again = await later.subscribe(last - 1);
    await later.waitFor((e) => e.type === 'job:queued' && e.jobOfferId === missed);
    expect(later.seqs).toEqual([last, last + 1]);
    again.close();
  });

  it('explains a waiting job on the command line: lilypad jobs why', async () => {
    const jc = new SolverClient(solver.url, accounts.jobCreator);
    const { id } = await jc.postJobOffer(
      await signJobOffer(jobOffer({ nonce: 500n, spec: gpuSpec }), network),
    );
    const cli = await runCli(['jobs', 'why', id], {
      LILYPAD_SOLVER_URL: solver.url,
      WEB3_RPC_URL: anvil.rpcUrl,
      LILYPAD_DATA_DIR: dataDir,
    });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^queued: \d+ resource offers? open, none fits: none has gpu >= 1/);
    const missing = await runCli(['jobs', 'why', `0x${'00'.repeat(32)}`], {
      LILYPAD_SOLVER_URL: solver.url,
      WEB3_RPC_URL: anvil.rpcUrl,
      LILYPAD_DATA_DIR: dataDir,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no job offer 0x0+/);
  }, 90_000);
});

describe('solver API limits', () => {
  it('answers 429 with Retry-After once an address has used its requests', async () => {
    const limited = new Solver({
      network: { chainId: anvil.chainId, rpcUrl: anvil.rpcUrl, ...contracts },
      privateKey: devAccount('solver').privateKey,
      dataDir: join(dataDir, 'limited'),
      logger: pino({ level: 'silent' }),
      limits: { rate: { perSecond: 1, burst: 2 }, ipRate: { perSecond: 0.1, burst: 3 } },
    });
    await limited.start();
    try {
      const statuses: number[] = [];
      let refused: Response | undefined;
      // Signed beforehand, so that the three posts come within the second even on a slow machine.
      const bodies = await Promise.all(
        [1n, 2n, 3n].map(async (nonce) =>
          JSON.stringify(toWire(await signJobOffer(jobOffer({ nonce, spec: gpuSpec }), network))),
        ),
      );
      for (const body of bodies) {
        const response = await fetch(`${limited.url}/api/v1/job-offers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        statuses.push(response.status);
        if (response.status === 429) refused = response;
      }
      expect(statuses).toEqual([201, 201, 429]);
      expect(refused?.headers.get('retry-after')).toBe('1');
      expect(((await (refused as Response).json()) as { error: string }).error).toMatch(
        /too many requests from 0x[0-9a-fA-F]{40}: at most 1 per second \(bursts of 2\)\nhint: retry in 1 s/,
      );
      // Another address is not held back; and the client waits as told, then gets through.
      const stranger = await signJobOffer(
        jobOffer({ nonce: 4n, jobCreator: accounts.stranger.address, spec: gpuSpec }),
        network,
        accounts.stranger,
      );
      expect((await new SolverClient(limited.url, accounts.stranger).postJobOffer(stranger)).status).toBe(
        'queued',
      );
      const waited = await new SolverClient(limited.url, accounts.jobCreator).postJobOffer(
        await signJobOffer(jobOffer({ nonce: 5n, spec: gpuSpec }), network),
      );
      expect(waited.status).toBe('queued');

      // Unsigned reads count against the client's IP, the gateway's too; signed posts do not.
      const reads = [];
      for (const path of ['/api/v1/health', '/api/v1/openapi.json', `/api/v1/job-offers/${waited.id}`]) {
        reads.push((await fetch(`${limited.url}${path}`)).status);
      }
      const gateway = await fetch(`${limited.url}/ipfs/bafkqaaa`);
      expect([...reads, gateway.status]).toEqual([200, 200, 200, 429]);
      expect(Number(gateway.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await gateway.json()) as { error: string }).error).toMatch(
        /too many requests from 127\.0\.0\.1: at most 0\.1 per second \(bursts of 3\)/,
      );
      const posted = await fetch(`${limited.url}/api/v1/job-offers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          toWire(
            await signJobOffer(
              jobOffer({ nonce: 6n, jobCreator: accounts.stranger.address, spec: gpuSpec }),
              network,
              accounts.stranger,
            ),
          ),
        ),
      });
      expect(posted.status).toBe(201);
    } finally {
      await limited.stop();
    }
  });
});
