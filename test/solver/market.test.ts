/**
 * The Market (book + store kept in step): matching as offers arrive and come back, cancellation by the
 * signer, a market rebuilt from its store, and on random sequences of operations the invariants that
 * matter: nothing booked twice, store and book agree, and no waiting job has an open offer that fits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { type Address, type Hex, parseEther } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { type JobOffer, jobOfferId, type ResourceOffer, resourceOfferId } from '../../src/protocol/eip712.js';
import type { SolverEvent } from '../../src/protocol/wire.js';
import { Market, MarketConflictError, NotYourOfferError } from '../../src/solver/market.js';
import { matchJob } from '../../src/solver/matcher.js';
import { OfferHashes } from '../../src/solver/offer-hashes.js';
import { SqliteStore } from '../../src/solver/sqlite-store.js';
import { accounts, jobOffer, otherAddress, resourceOffer, testNetwork } from '../protocol/fixtures.js';

const signature = `0x${'11'.repeat(65)}` as Hex;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function openMarket(dir = mkdtempSync(join(tmpdir(), 'lilypad-market-'))) {
  dirs.push(dir);
  const store = new SqliteStore(join(dir, 'solver.sqlite'));
  const events: { to: Address[]; event: SolverEvent }[] = [];
  const market = new Market({
    store,
    solver: accounts.solver.address,
    hashes: new OfferHashes(testNetwork),
    publish: (to, event) => events.push({ to, event }),
  });
  store.transaction(() => market.load());
  let clock = 0;
  const addJob = (offer: JobOffer) =>
    store.transaction(() =>
      market.addJobOffer({
        id: jobOfferId(testNetwork, offer),
        signed: { offer, signature },
        createdAt: ++clock,
      }),
    );
  const addResource = (offer: ResourceOffer) =>
    store.transaction(() =>
      market.addResourceOffer({
        id: resourceOfferId(testNetwork, offer),
        signed: { offer, signature },
        createdAt: ++clock,
      }),
    );
  return { dir, store, market, events, addJob, addResource };
}

describe('Market', () => {
  it('queues a job with its reason, then gives the next fitting offer to the oldest waiting job', () => {
    const { market, events, addJob, addResource, store } = openMarket();
    const first = addJob(jobOffer({ nonce: 1n }));
    const second = addJob(jobOffer({ nonce: 2n }));
    expect(first).toMatchObject({ created: true, status: 'queued' });
    expect(events.map((e) => e.event.type)).toEqual(['job:queued', 'job:queued']);
    expect(market.whyWaiting(first.id)).toBe('no resource offer is open');

    const resource = addResource(resourceOffer({ nonce: 1n }));
    expect(resource).toMatchObject({ created: true, status: 'busy' });
    const proposed = events.at(-1) as {
      to: Address[];
      event: Extract<SolverEvent, { type: 'deal:proposed' }>;
    };
    expect(proposed.event.type).toBe('deal:proposed');
    expect(proposed.event.deal.jobOffer).toBe(first.id);
    expect(proposed.to).toEqual([accounts.jobCreator.address, accounts.resourceProvider.address]);
    expect(store.getJobOffer(first.id)?.status).toBe('matched');
    expect(store.getJobOffer(second.id)?.status).toBe('queued');
    expect(market.activeDealIds(accounts.resourceProvider.address)).toEqual([resource.dealId]);

    // The same offers again: known, nothing new.
    expect(addJob(jobOffer({ nonce: 1n }))).toMatchObject({ created: false, status: 'matched' });
    expect(addResource(resourceOffer({ nonce: 1n }))).toMatchObject({ created: false, status: 'busy' });
    expect(addJob(jobOffer({ nonce: 2n }))).toMatchObject({ created: false, status: 'queued' });
  });

  it('gives back what a failed proposal held, and blames whoever did not sign', () => {
    const { market, store, addJob, addResource } = openMarket();
    const job = addJob(jobOffer({ nonce: 1n }));
    const lazy = addResource(resourceOffer({ nonce: 1n, fixedPrice: parseEther('1') }));
    const spare = addResource(resourceOffer({ nonce: 2n, fixedPrice: parseEther('2') }));
    expect(spare.status).toBe('open');
    store.transaction(() =>
      market.cancelProposal(lazy.dealId as Hex, 'not signed in time', {
        jobCreator: false,
        resourceProvider: true,
      }),
    );
    expect(store.getDeal(lazy.dealId as Hex)?.status).toBe('cancelled');
    expect(store.getResourceOffer(lazy.id)?.status).toBe('cancelled');
    // The job goes straight to the other offer.
    const now = store.getJobOffer(job.id);
    expect(now?.status).toBe('matched');
    expect(store.getDeal(now?.dealId as Hex)?.resourceOfferId).toBe(spare.id);
  });

  it('lets only the signer cancel an offer, and not once its deal is agreed', () => {
    const { market, store, addJob, addResource } = openMarket();
    const waiting = addJob(jobOffer({ nonce: 1n, spec: { cpu: 1, gpu: 4, gpuVram: 0, ram: 1, disk: 1 } }));
    expect(() =>
      store.transaction(() => market.cancelJobOffer(waiting.id, accounts.stranger.address)),
    ).toThrow(NotYourOfferError);
    expect(store.transaction(() => market.cancelJobOffer(waiting.id, accounts.jobCreator.address))).toBe(
      'cancelled',
    );
    expect(market.book.getJob(waiting.id)).toBeUndefined();
    expect(store.getJobOffer(waiting.id)?.reason).toBe('cancelled by its job creator');

    const job = addJob(jobOffer({ nonce: 2n }));
    const resource = addResource(resourceOffer({ nonce: 1n }));
    expect(job.status).toBe('queued');
    expect(resource.status).toBe('busy');
    // Cancelling the job cancels its proposal and puts the resource offer back on the market.
    expect(store.transaction(() => market.cancelJobOffer(job.id, accounts.jobCreator.address))).toBe(
      'cancelled',
    );
    expect(store.getDeal(resource.dealId as Hex)?.status).toBe('cancelled');
    expect(market.book.hasResource(resource.id)).toBe(true);

    const again = addJob(jobOffer({ nonce: 3n }));
    store.updateDeal(again.dealId as Hex, { status: 'agreed' });
    expect(() =>
      store.transaction(() => market.cancelJobOffer(again.id, accounts.jobCreator.address)),
    ).toThrow(MarketConflictError);
    // The provider may withdraw its offer: the agreed deal goes on, the offer does not come back after it.
    expect(
      store.transaction(() => market.cancelResourceOffer(resource.id, accounts.resourceProvider.address)),
    ).toBe('cancelled');
    const deal = store.getDeal(again.dealId as Hex);
    expect(deal?.status).toBe('agreed');
    store.transaction(() => market.dealSettled(deal as NonNullable<typeof deal>, 3));
    expect(store.getResourceOffer(resource.id)?.status).toBe('cancelled');
    expect(market.book.hasResource(resource.id)).toBe(false);
  });

  it('takes expired offers off the market', () => {
    const { market, store, addJob, addResource } = openMarket();
    const soon = BigInt(Math.floor(Date.now() / 1000) + 1);
    const job = addJob(
      jobOffer({ nonce: 1n, expiry: soon, spec: { cpu: 1, gpu: 9, gpuVram: 0, ram: 1, disk: 1 } }),
    );
    const resource = addResource(resourceOffer({ nonce: 1n, expiry: soon }));
    const later = new Market({
      store,
      solver: accounts.solver.address,
      hashes: new OfferHashes(testNetwork),
      publish: () => {},
      nowMs: () => Date.now() + 5000,
    });
    store.transaction(() => later.load());
    expect(store.getJobOffer(job.id)?.status).toBe('expired');
    expect(store.getResourceOffer(resource.id)?.status).toBe('expired');
    expect(later.book.jobCount + later.book.resourceCount).toBe(0);
    void market;
  });

  it('keeps its invariants on random sequences, and a market rebuilt from the store is the same', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('job' as const),
        cpu: fc.integer({ min: 1, max: 4 }),
        price: fc.integer({ min: 1, max: 4 }),
        fixed: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('resource' as const),
        cpu: fc.integer({ min: 1, max: 4 }),
        price: fc.integer({ min: 1, max: 4 }),
        other: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('cancel-proposal' as const), which: fc.nat(), rpFault: fc.boolean() }),
      fc.record({ kind: fc.constant('cancel-job' as const), which: fc.nat() }),
      fc.record({ kind: fc.constant('settle' as const), which: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { market, store, addJob, addResource, dir } = openMarket();
        const jobs: Hex[] = [];
        ops.forEach((o, i) => {
          if (o.kind === 'job') {
            jobs.push(
              addJob(
                jobOffer({
                  nonce: BigInt(i),
                  spec: { cpu: o.cpu * 1000, gpu: 0, gpuVram: 0, ram: 512, disk: 100 },
                  maxPrice: parseEther(String(o.price)),
                  pricingMode: o.fixed ? 1 : 0,
                }),
              ).id,
            );
          } else if (o.kind === 'resource') {
            addResource(
              resourceOffer({
                nonce: BigInt(i),
                spec: { cpu: o.cpu * 1000, gpu: 0, gpuVram: 0, ram: 8192, disk: 1000 },
                fixedPrice: parseEther(String(o.price)),
                mediators: o.other ? [otherAddress] : [accounts.mediator.address],
              }),
            );
          } else {
            const active = store.activeDeals();
            const deal = active[o.which % Math.max(1, active.length)];
            if (o.kind === 'cancel-proposal' && deal) {
              store.transaction(() =>
                market.cancelProposal(deal.id, 'test', {
                  jobCreator: !o.rpFault,
                  resourceProvider: o.rpFault,
                }),
              );
            } else if (o.kind === 'settle' && deal) {
              store.transaction(() => market.dealSettled(deal, 3));
            } else if (o.kind === 'cancel-job' && jobs.length > 0) {
              store.transaction(() =>
                market.cancelJobOffer(jobs[o.which % jobs.length] as Hex, accounts.jobCreator.address),
              );
            }
          }
        });
        const active = store.activeDeals();
        expect(new Set(active.map((d) => d.resourceOfferId)).size).toBe(active.length);
        expect(new Set(active.map((d) => d.jobOfferId)).size).toBe(active.length);
        const openOffers = store.resourceOffersWithStatus('open');
        expect(openOffers.map((r) => r.id).sort()).toEqual(
          market.book
            .resources()
            .map((r) => r.id)
            .sort(),
        );
        const queued = store.jobOffersWithStatus('queued');
        expect(queued.length).toBe(market.book.jobCount);
        const now = BigInt(Math.floor(Date.now() / 1000));
        for (const job of queued) expect(matchJob(job.signed.offer, openOffers, now).match).toBeUndefined();
        for (const deal of active) {
          expect(store.getJobOffer(deal.jobOfferId)).toMatchObject({ status: 'matched', dealId: deal.id });
          expect(store.getResourceOffer(deal.resourceOfferId)).toMatchObject({
            status: 'busy',
            dealId: deal.id,
          });
        }
        // Rebuilt from the store (a restart): the same book, and nothing more to match.
        const rebuilt = openMarket(dir);
        expect(rebuilt.market.book.resources().map((r) => r.id)).toEqual(
          market.book.resources().map((r) => r.id),
        );
        expect(rebuilt.market.book.jobCount).toBe(market.book.jobCount);
        expect(rebuilt.store.activeDeals().length).toBe(active.length);
        rebuilt.store.close();
        store.close();
      }),
      { numRuns: 40 },
    );
  });
});
