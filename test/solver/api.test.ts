/**
 * The solver's API over real HTTP and WebSocket, against contracts on a real anvil: what it accepts,
 * what it refuses and with which message, and that one resource offer never serves two deals at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Anvil, startAnvil } from '../../src/chain/anvil.js';
import { publicClientFor, walletClientFor } from '../../src/chain/clients.js';
import { deployContracts } from '../../src/chain/deploy.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { dealTypedData, type Network } from '../../src/protocol/eip712.js';
import { signRequest } from '../../src/protocol/signed-request.js';
import { SolverClient, SolverRequestError } from '../../src/protocol/solver-client.js';
import { type SolverEvent, toWire } from '../../src/protocol/wire.js';
import { Solver } from '../../src/solver/solver.js';
import { accounts, jobOffer, resourceOffer, signJobOffer, signResourceOffer } from '../protocol/fixtures.js';

let anvil: Anvil;
let solver: Solver;
let dataDir: string;
let network: Network;

beforeAll(async () => {
  anvil = await startAnvil();
  const deployer = devAccount('deployer').privateKey;
  const contracts = await deployContracts(
    walletClientFor(anvil.rpcUrl, anvil.chainId, deployer),
    publicClientFor(anvil.rpcUrl, anvil.chainId),
  );
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-solver-'));
  solver = new Solver({
    network: { chainId: anvil.chainId, rpcUrl: anvil.rpcUrl, ...contracts },
    privateKey: devAccount('solver').privateKey,
    dataDir,
    logger: pino({ level: 'silent' }),
    pollIntervalMs: 50,
  });
  await solver.start();
  network = { chainId: anvil.chainId, deals: contracts.deals };
});

afterAll(async () => {
  await solver.stop();
  await anvil.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const post = (path: string, body: unknown) =>
  fetch(`${solver.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

function collect(client: SolverClient) {
  const events: SolverEvent[] = [];
  const waitFor = async (predicate: (e: SolverEvent) => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const found = events.find(predicate);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no matching event in ${ms} ms; saw ${events.map((e) => e.type).join(', ')}`);
  };
  return { events, waitFor, subscribe: () => client.subscribe((e) => events.push(e)) };
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
});
