/**
 * GET /api/v1/network/stats on a real solver (contracts on a real anvil): the offers online a page at a
 * time with their prices and machines, the providers behind them, the deals of the last hour (counts
 * recomputed every few seconds, waited for with a deadline), and a 400 that names the parameter to fix.
 */
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '../../src/protocol/eip712.js';
import {
  fetchNetworkStats,
  NETWORK_STATS_PATH,
  type NetworkStats,
} from '../../src/protocol/network-stats.js';
import { SolverClient } from '../../src/protocol/solver-client.js';
import type { Solver } from '../../src/solver/solver.js';
import { accounts, jobOffer, resourceOffer, signJobOffer, signResourceOffer } from '../protocol/fixtures.js';
import { type SolverOnAnvil, startSolverOnAnvil } from './fixtures/solver-on-anvil.js';

let fixture: SolverOnAnvil;
let solver: Solver;
let network: Network;

beforeAll(async () => {
  fixture = await startSolverOnAnvil();
  ({ solver, network } = fixture);
});

afterAll(async () => {
  await fixture?.stop();
});

describe('the network statistics', () => {
  it('lists the offers online page by page, the providers behind them and the deals per minute', async () => {
    const empty = await fetchNetworkStats(solver.url);
    expect(empty.resourceOffers).toEqual({ total: 0, items: [], next: null });
    expect(empty.lastHour).toHaveLength(60);
    expect(empty.lastHour.every((m) => m.deals === 0)).toBe(true);

    const rp = new SolverClient(solver.url, accounts.resourceProvider);
    const other = new SolverClient(solver.url, accounts.stranger);
    const posted = [
      await rp.postResourceOffer(await signResourceOffer(resourceOffer({ nonce: 1n }), network)),
      await rp.postResourceOffer(
        await signResourceOffer(resourceOffer({ nonce: 2n, fixedPrice: 3n * 10n ** 18n }), network),
      ),
      await other.postResourceOffer(
        await signResourceOffer(
          resourceOffer({
            nonce: 3n,
            resourceProvider: accounts.stranger.address,
            spec: { cpu: 8000, gpu: 1, gpuVram: 24_000, ram: 32_768, disk: 100_000 },
          }),
          network,
          accounts.stranger,
        ),
      ),
    ];

    // The counts and the hour are recomputed every few seconds; the page itself is always current.
    const statsOnceCounted = (limit: number, counted: (stats: NetworkStats) => boolean) =>
      expect
        .poll(() => fetchNetworkStats(solver.url, { limit }), { timeout: 15_000, interval: 250 })
        .toSatisfy(counted);
    await statsOnceCounted(2, (s) => s.resourceOffers.total === 3);
    const first = await fetchNetworkStats(solver.url, { limit: 2 });
    expect(first.resourceProviders).toBe(2);
    expect(first.resourceOffers.total).toBe(3);
    expect(first.resourceOffers.items).toHaveLength(2);
    expect(first.resourceOffers.next).toBe(first.resourceOffers.items[1]?.id);
    const rest = await fetchNetworkStats(solver.url, {
      limit: 2,
      after: first.resourceOffers.next ?? undefined,
    });
    expect(rest.resourceOffers.next).toBeNull();
    const all = [...first.resourceOffers.items, ...rest.resourceOffers.items];
    expect(all.map((o) => o.id).sort()).toEqual(posted.map((p) => p.id).sort());
    const gpu = all.find((o) => o.offer.spec.gpu === 1);
    expect(gpu?.offer.resourceProvider).toBe(accounts.stranger.address);
    expect(gpu?.offer.spec.gpuVram).toBe(24_000);
    expect(all.map((o) => o.offer.fixedPrice).sort()).toEqual([10n ** 18n, 10n ** 18n, 3n * 10n ** 18n]);

    // A job takes the cheapest fitting offer: a deal this minute, that offer busy and still online.
    const jc = new SolverClient(solver.url, accounts.jobCreator);
    const job = await jc.postJobOffer(await signJobOffer(jobOffer({ nonce: 1n }), network));
    expect(job.dealId).not.toBeNull();
    await statsOnceCounted(100, (s) => s.dealsPerMinute > 0);
    const after = await fetchNetworkStats(solver.url, { limit: 100 });
    expect(after.resourceOffers.total).toBe(3);
    expect(after.resourceOffers.items.filter((o) => o.status === 'busy')).toHaveLength(1);
    expect(after.lastHour.reduce((sum, m) => sum + m.deals, 0)).toBe(1);
    expect(after.dealsPerMinute).toBe(0.1);
    expect(after.lastHour.at(-1)?.minute).toBe(Math.floor(after.at / 60_000) * 60_000);

    // A withdrawn offer is no longer online.
    await other.cancelResourceOffer(posted[2]?.id as Hex);
    await statsOnceCounted(20, (s) => s.resourceOffers.total === 2);
    const withdrawn = await fetchNetworkStats(solver.url);
    expect(withdrawn.resourceOffers.items).toHaveLength(2);
    expect(withdrawn.resourceProviders).toBe(1);
  });

  it('refuses a bad query with a 400 that names the parameter', async () => {
    const get = async (query: string) => {
      const response = await fetch(`${solver.url}${NETWORK_STATS_PATH}?${query}`);
      return { status: response.status, error: ((await response.json()) as { error: string }).error };
    };
    expect(await get('limit=0')).toMatchObject({ status: 400, error: expect.stringMatching(/limit/) });
    expect(await get('limit=101')).toMatchObject({ status: 400, error: expect.stringMatching(/limit/) });
    expect(await get('limit=ten')).toMatchObject({
      status: 400,
      error: expect.stringMatching(/limit: expected a page size/),
    });
    expect(await get('limit=1&limit=2')).toMatchObject({
      status: 400,
      error: expect.stringMatching(/limit/),
    });
    expect(await get('after=0x12')).toMatchObject({
      status: 400,
      error: expect.stringMatching(/after: expected a 0x-prefixed 32-byte/),
    });
    expect(await get(`after=0x${'ab'.repeat(32)}`)).toMatchObject({
      status: 400,
      error: expect.stringMatching(/after: no resource offer/),
    });
    expect(await get('page=2')).toMatchObject({ status: 400, error: expect.stringMatching(/page/) });
    await expect(fetchNetworkStats(solver.url, { limit: 0 })).rejects.toThrow(/answered 400/);
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${solver.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, { get?: { parameters?: { name: string }[] } }>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.paths[NETWORK_STATS_PATH]?.get?.parameters?.map((p) => p.name)).toEqual(['limit', 'after']);
    expect(doc.components.schemas.NetworkStats).toBeDefined();
  });
});
