/**
 * The indexed OfferBook against the reference `matchJob` (which checks every pair): on random markets
 * both pick the same offer for every job, and say the same words when nothing fits; an opening offer
 * serves the oldest waiting job it fits.
 */
import fc from 'fast-check';
import { type Address, type Hex, parseEther, zeroAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  type JobOffer,
  type MachineSpec,
  PricingMode,
  type ResourceOffer,
} from '../../src/protocol/eip712.js';
import { byAge, matchJob, misfit } from '../../src/solver/matcher.js';
import { OfferBook } from '../../src/solver/offer-book.js';
import type { StoredJobOffer, StoredResourceOffer } from '../../src/solver/store.js';
import { accounts, jobOffer, resourceOffer } from '../protocol/fixtures.js';

const now = BigInt(Math.floor(Date.now() / 1000));
const solver = accounts.solver.address;
const mediators: Address[] = [
  '0x1000000000000000000000000000000000000001',
  '0x2000000000000000000000000000000000000002',
  '0x3000000000000000000000000000000000000003',
];
const providers: Address[] = [
  '0xA00000000000000000000000000000000000000a',
  '0xB00000000000000000000000000000000000000b',
  '0xC00000000000000000000000000000000000000c',
];
const signature = `0x${'11'.repeat(65)}` as Hex;
const hexId = (prefix: number, i: number) =>
  `0x${prefix.toString(16)}${i.toString(16).padStart(63, '0')}` as Hex;

const spec = fc.record<MachineSpec>({
  cpu: fc.constantFrom(1000, 2000, 4000),
  gpu: fc.constantFrom(0, 1),
  gpuVram: fc.constantFrom(0, 8),
  ram: fc.constantFrom(512, 4096),
  disk: fc.constant(100),
});
const someMediators = fc.subarray(mediators, { minLength: 1 });
const price = fc.constantFrom(1n, 2n, 3n, 5n).map((n) => parseEther(String(n)));
const resourceArb = fc.record({
  spec,
  price,
  mediators: someMediators,
  modules: fc.constantFrom<string[][]>([], ['m1'], ['m1', 'm2']),
  provider: fc.constantFrom(...providers),
  createdAt: fc.nat(5),
  expired: fc.nat(9).map((n) => n === 0),
});
const jobArb = fc.record({
  spec,
  price,
  mediators: someMediators,
  module: fc.constantFrom('m1', 'm2', 'm3'),
  mode: fc.constantFrom(PricingMode.market, PricingMode.fixed),
  target: fc.option(fc.constantFrom(...providers), { freq: 4 }),
  createdAt: fc.nat(5),
});

type ResourceArb = typeof resourceArb extends fc.Arbitrary<infer T> ? T : never;
type JobArb = typeof jobArb extends fc.Arbitrary<infer T> ? T : never;

function toResource(r: ResourceArb, i: number): StoredResourceOffer {
  const offer: ResourceOffer = resourceOffer({
    resourceProvider: r.provider,
    spec: r.spec,
    fixedPrice: r.price,
    mediators: r.mediators,
    modules: r.modules,
    nonce: BigInt(i),
    expiry: r.expired ? now - 1n : now + 3600n,
  });
  return {
    id: hexId(1, i),
    signed: { offer, signature },
    status: 'open',
    dealId: null,
    createdAt: r.createdAt,
  };
}

function toJob(j: JobArb, i: number): StoredJobOffer {
  const offer: JobOffer = jobOffer({
    spec: j.spec,
    maxPrice: j.price,
    mediators: j.mediators,
    module: j.module,
    pricingMode: j.mode,
    target: j.target ?? zeroAddress,
    nonce: BigInt(i),
  });
  return {
    id: hexId(2, i),
    signed: { offer, signature },
    status: 'queued',
    dealId: null,
    reason: null,
    createdAt: j.createdAt,
  };
}

describe('OfferBook', () => {
  it('picks what matchJob picks, and explains a miss in the same words', () => {
    fc.assert(
      fc.property(
        fc.array(resourceArb, { maxLength: 40 }),
        fc.array(jobArb, { minLength: 1, maxLength: 20 }),
        (rs, js) => {
          const book = new OfferBook(solver);
          const resources = rs.map(toResource);
          for (const r of resources) book.addResource(r);
          const expired = book
            .takeExpired(now)
            .resources.map((r) => r.id)
            .sort();
          expect(expired).toEqual(
            resources
              .filter((r) => r.signed.offer.expiry <= now)
              .map((r) => r.id)
              .sort(),
          );
          const open = resources.filter((r) => r.signed.offer.expiry > now);
          for (const job of js.map(toJob)) {
            const expected = matchJob(job.signed.offer, open, now);
            expect(book.bestResourceFor(job.signed.offer, now)?.id).toBe(expected.match?.id);
            if (!expected.match) expect(book.explain(job.signed.offer, now)).toBe(expected.reason);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives an opening offer the oldest waiting job it fits', () => {
    fc.assert(
      fc.property(
        fc.array(jobArb, { maxLength: 30 }),
        fc.array(resourceArb, { minLength: 1, maxLength: 10 }),
        (js, rs) => {
          const book = new OfferBook(solver);
          const jobs = js.map(toJob);
          for (const job of jobs) book.addJob(job);
          for (const resource of rs.map(toResource).filter((r) => r.signed.offer.expiry > now)) {
            const offer = resource.signed.offer;
            const expected = jobs.filter((job) => !misfit(job.signed.offer, offer, now)).sort(byAge)[0];
            expect(book.bestJobFor(offer, now)?.id).toBe(expected?.id);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('forgets what is removed, and keeps no empty class behind', () => {
    const book = new OfferBook(solver);
    const r = toResource(
      {
        spec: { cpu: 1000, gpu: 0, gpuVram: 0, ram: 512, disk: 100 },
        price: 1n,
        mediators,
        modules: [],
        provider: providers[0] as Address,
        createdAt: 1,
        expired: false,
      },
      1,
    );
    book.addResource(r);
    book.addResource(r);
    expect(book.resourceCount).toBe(1);
    expect(book.removeResource(r.id)?.id).toBe(r.id);
    expect(book.removeResource(r.id)).toBeUndefined();
    expect(book.bestResourceFor(jobOffer({ mediators }), now)).toBeUndefined();
    expect(book.explain(jobOffer({ mediators }), now)).toBe('no resource offer is open');
  });

  it('explains like the issue asks: what is missing, and the cheapest that would do', () => {
    const book = new OfferBook(solver);
    const offers = [
      resourceOffer({
        nonce: 1n,
        fixedPrice: parseEther('2'),
        spec: { cpu: 4000, gpu: 0, gpuVram: 0, ram: 8192, disk: 1000 },
      }),
      resourceOffer({
        nonce: 2n,
        fixedPrice: parseEther('3'),
        spec: { cpu: 4000, gpu: 0, gpuVram: 0, ram: 8192, disk: 1000 },
      }),
      resourceOffer({
        nonce: 3n,
        fixedPrice: parseEther('1'),
        spec: { cpu: 4000, gpu: 0, gpuVram: 0, ram: 256, disk: 1000 },
      }),
    ];
    for (const [i, offer] of offers.entries()) {
      book.addResource({
        id: hexId(3, i),
        signed: { offer, signature },
        status: 'open',
        dealId: null,
        createdAt: i,
      });
    }
    const gpuJob = jobOffer({
      spec: { cpu: 1000, gpu: 1, gpuVram: 0, ram: 512, disk: 100 },
      maxPrice: parseEther('1'),
    });
    expect(book.explain(gpuJob, now)).toBe(
      '3 resource offers open, none fits: none has gpu >= 1; 3 have gpu < 1',
    );
    const cheapJob = jobOffer({
      spec: { cpu: 1000, gpu: 0, gpuVram: 0, ram: 512, disk: 100 },
      maxPrice: parseEther('1'),
    });
    expect(book.explain(cheapJob, now)).toBe(
      '3 resource offers open, none fits: 1 has ram < 512; 2 ask more than you offer (the cheapest asks 2 LP, you offer at most 1 LP)',
    );
  });
});
