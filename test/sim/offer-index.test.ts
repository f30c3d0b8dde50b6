/**
 * The simulator's offer index against the solver's reference `matchJob`: on random markets (specs, prices,
 * mediators, module allowlists, targets, equal ages, both pricing modes) every job takes the offer matchJob
 * picks, also after offers were taken and reopened.
 */
import fc from 'fast-check';
import { type Address, type Hex, parseEther, zeroAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { type JobOffer, type MachineSpec, PricingMode } from '../../src/protocol/eip712.js';
import { OfferIndex } from '../../src/sim/offer-index.js';
import { matchJob } from '../../src/solver/matcher.js';
import type { StoredResourceOffer } from '../../src/solver/store.js';
import { jobOffer, resourceOffer } from '../protocol/fixtures.js';

const now = 1_000_000n;
const mediators: Address[] = [
  '0x1000000000000000000000000000000000000001',
  '0x2000000000000000000000000000000000000002',
  '0x3000000000000000000000000000000000000003',
];
const providers: Address[] = [
  '0xa00000000000000000000000000000000000000a',
  '0xb00000000000000000000000000000000000000b',
];
const id = (i: number) => `0x${i.toString(16).padStart(64, '0')}` as Hex;

const spec = fc.record<MachineSpec>({
  cpu: fc.constantFrom(1000, 4000),
  gpu: fc.constantFrom(0, 1),
  gpuVram: fc.constant(0),
  ram: fc.constantFrom(512, 4096),
  disk: fc.constant(100),
});
const price = fc.constantFrom(1n, 2n, 3n).map((n) => parseEther(String(n)));
const resourceArb = fc.record({
  spec,
  price,
  mediators: fc.subarray(mediators, { minLength: 1 }),
  modules: fc.constantFrom([], ['m1']),
  provider: fc.constantFrom(...providers),
  createdAt: fc.nat(3),
  expired: fc.boolean(),
});
const jobArb = fc.record({
  spec,
  price,
  mediators: fc.subarray(mediators, { minLength: 1 }),
  module: fc.constantFrom('m1', 'm2'),
  mode: fc.constantFrom(PricingMode.market, PricingMode.fixed),
  target: fc.option(fc.constantFrom(...providers), { freq: 5 }),
});

type ResourceArb = typeof resourceArb extends fc.Arbitrary<infer T> ? T : never;
type JobArb = typeof jobArb extends fc.Arbitrary<infer T> ? T : never;

const toResource = (r: ResourceArb, i: number): StoredResourceOffer => ({
  id: id(i),
  signed: {
    offer: resourceOffer({
      resourceProvider: r.provider,
      spec: r.spec,
      fixedPrice: r.price,
      mediators: r.mediators,
      modules: [...r.modules],
      nonce: BigInt(i),
      expiry: r.expired ? now : now + 3600n,
    }),
    signature: '0x',
  },
  status: 'open',
  dealId: null,
  createdAt: r.createdAt,
});

const toJob = (j: JobArb, i: number): JobOffer =>
  jobOffer({
    spec: j.spec,
    maxPrice: j.price,
    mediators: j.mediators,
    module: j.module,
    pricingMode: j.mode,
    target: j.target ?? zeroAddress,
    nonce: BigInt(i),
  });

describe('OfferIndex', () => {
  it('takes what matchJob picks, job after job, with offers reopening', () => {
    fc.assert(
      fc.property(
        fc.array(resourceArb, { maxLength: 30 }),
        fc.array(fc.tuple(jobArb, fc.boolean()), { minLength: 1, maxLength: 25 }),
        (rs, js) => {
          const index = new OfferIndex();
          let open = rs.map(toResource);
          for (const offer of open) index.open(offer);
          const taken: StoredResourceOffer[] = [];
          js.forEach(([j, reopen], i) => {
            const job = toJob(j, i);
            // Jobs of one arbitrary are not alike, so no job class: the index judges each job afresh.
            const expected = matchJob(job, open, now).match;
            const got = index.take(job, now);
            expect(got?.id).toBe(expected?.id);
            if (got) {
              open = open.filter((o) => o !== got);
              taken.push(got);
            }
            const back = reopen ? taken.shift() : undefined;
            if (back) {
              index.open(back);
              open.push(back);
            }
            expect(index.openCount).toBe(open.length);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('caches per job class, and a new class of offers invalidates the cache', () => {
    const index = new OfferIndex();
    const dear = toResource(
      {
        spec: { cpu: 4000, gpu: 0, gpuVram: 0, ram: 4096, disk: 100 },
        price: parseEther('3'),
        mediators,
        modules: [],
        provider: providers[0] as Address,
        createdAt: 0,
        expired: false,
      },
      1,
    );
    index.open(dear);
    const job = toJob(
      {
        spec: { cpu: 1000, gpu: 0, gpuVram: 0, ram: 512, disk: 100 },
        price: parseEther('3'),
        mediators,
        module: 'm1',
        mode: PricingMode.market,
        target: null,
      },
      1,
    );
    expect(index.take(job, now, 'group')?.id).toBe(dear.id);
    index.open(dear);
    const cheap = toResource(
      {
        spec: { cpu: 4000, gpu: 0, gpuVram: 0, ram: 4096, disk: 100 },
        price: parseEther('1'),
        mediators,
        modules: [],
        provider: providers[1] as Address,
        createdAt: 5,
        expired: false,
      },
      2,
    );
    index.open(cheap);
    expect(index.take(job, now, 'group')?.id).toBe(cheap.id);
    expect(index.take(job, now, 'group')?.id).toBe(dear.id);
    expect(index.take(job, now, 'group')).toBeUndefined();
  });

  it('withdraws a closed offer', () => {
    const index = new OfferIndex();
    const offers = [0, 1, 2].map((i) =>
      toResource(
        {
          spec: { cpu: 4000, gpu: 0, gpuVram: 0, ram: 4096, disk: 100 },
          price: parseEther('1'),
          mediators,
          modules: [],
          provider: providers[0] as Address,
          createdAt: i,
          expired: false,
        },
        i,
      ),
    );
    for (const o of offers) index.open(o);
    index.close(offers[0] as StoredResourceOffer);
    expect(index.openCount).toBe(2);
    const job = toJob(
      {
        spec: { cpu: 1000, gpu: 0, gpuVram: 0, ram: 512, disk: 100 },
        price: parseEther('1'),
        mediators,
        module: 'm1',
        mode: PricingMode.fixed,
        target: null,
      },
      0,
    );
    expect(index.take(job, now)?.id).toBe(offers[1]?.id);
  });
});
