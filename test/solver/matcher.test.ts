import { parseEther } from 'viem';
import { describe, expect, it } from 'vitest';
import { PricingMode, type ResourceOffer, resourceOfferId } from '../../src/protocol/eip712.js';
import { matchJob } from '../../src/solver/matcher.js';
import type { StoredResourceOffer } from '../../src/solver/store.js';
import { accounts, jobOffer, otherAddress, resourceOffer, testNetwork } from '../protocol/fixtures.js';

const now = BigInt(Math.floor(Date.now() / 1000));

function stored(offer: ResourceOffer, createdAt: number): StoredResourceOffer {
  return {
    id: resourceOfferId(testNetwork, offer),
    signed: { offer, signature: `0x${'11'.repeat(65)}` },
    status: 'open',
    dealId: null,
    createdAt,
  };
}

describe('matching', () => {
  it('gives a market-price job the cheapest fitting offer, the oldest on a tie', () => {
    const cheapNew = stored(resourceOffer({ nonce: 1n, fixedPrice: parseEther('1') }), 3);
    const cheapOld = stored(resourceOffer({ nonce: 2n, fixedPrice: parseEther('1') }), 2);
    const dear = stored(resourceOffer({ nonce: 3n, fixedPrice: parseEther('5') }), 1);
    const result = matchJob(jobOffer(), [dear, cheapNew, cheapOld], now);
    expect(result.match?.id).toBe(cheapOld.id);
  });

  it('gives a fixed-price job the oldest affordable offer', () => {
    const cheapNew = stored(resourceOffer({ nonce: 1n, fixedPrice: parseEther('1') }), 3);
    const dearOld = stored(resourceOffer({ nonce: 2n, fixedPrice: parseEther('5') }), 1);
    const tooDear = stored(resourceOffer({ nonce: 3n, fixedPrice: parseEther('50') }), 0);
    const result = matchJob(jobOffer({ pricingMode: PricingMode.fixed }), [cheapNew, dearOld, tooDear], now);
    expect(result.match?.id).toBe(dearOld.id);
  });

  it('respects spec, target, mediators, module allowlist, solver and expiry, and says why', () => {
    const job = jobOffer({ spec: { cpu: 1000, gpu: 1, gpuVram: 0, ram: 512, disk: 100 } });
    const offers = [
      stored(resourceOffer({ nonce: 1n }), 1),
      stored(resourceOffer({ nonce: 2n, mediators: [otherAddress] }), 1),
      stored(
        resourceOffer({
          nonce: 3n,
          spec: { cpu: 1000, gpu: 1, gpuVram: 0, ram: 512, disk: 100 },
          modules: ['bafkreiother'],
        }),
        1,
      ),
      stored(resourceOffer({ nonce: 4n, expiry: now - 1n }), 1),
      stored(resourceOffer({ nonce: 5n, solver: otherAddress }), 1),
    ];
    const result = matchJob(job, offers, now);
    expect(result.match).toBeUndefined();
    if (result.match) return;
    expect(result.reason).toContain('5 resource offers open');
    expect(result.reason).toContain('2 have gpu < 1');
    expect(result.reason).toContain('does not run this module');
    expect(result.reason).toContain('has expired');
    expect(result.reason).toContain('names another solver');

    const targeted = matchJob(jobOffer({ target: otherAddress }), [offers[0] as StoredResourceOffer], now);
    expect(targeted.match).toBeUndefined();
    const toMe = matchJob(
      jobOffer({ target: accounts.resourceProvider.address }),
      [offers[0] as StoredResourceOffer],
      now,
    );
    expect(toMe.match?.id).toBe(offers[0]?.id);
  });

  it('says so when nothing is open, and when the price is too high', () => {
    const none = matchJob(jobOffer(), [], now);
    expect(none.match === undefined && none.reason).toBe('no resource offer is open');
    const dear = matchJob(jobOffer({ maxPrice: 1n }), [stored(resourceOffer(), 1)], now);
    expect(dear.match === undefined && dear.reason).toBe(
      '1 resource offer open, none fits: 1 asks more than you offer (the cheapest asks 1 LP, you offer at most 0.000000000000000001 LP)',
    );
  });
});
