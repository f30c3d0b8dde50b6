import { parseEther, recoverTypedDataAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { dealDifferences, deriveDeal } from '../../src/protocol/derive-deal.js';
import {
  dealId,
  dealTypedData,
  jobOfferId,
  jobOfferTypedData,
  resourceOfferId,
} from '../../src/protocol/eip712.js';
import { jobCost, resultsCollateral } from '../../src/protocol/pricing.js';
import { parseWire, signedJobOfferSchema, toWire, WireError } from '../../src/protocol/wire.js';
import { accounts, jobOffer, otherAddress, resourceOffer, signJobOffer, testNetwork } from './fixtures.js';

describe('EIP-712 signatures', () => {
  it('recovers the signer of a job offer, and not after a field changes', async () => {
    const offer = jobOffer();
    const { signature } = await signJobOffer(offer);
    const signer = await recoverTypedDataAddress({ ...jobOfferTypedData(testNetwork, offer), signature });
    expect(signer).toBe(accounts.jobCreator.address);
    const tampered = { ...offer, maxPrice: offer.maxPrice + 1n };
    const other = await recoverTypedDataAddress({ ...jobOfferTypedData(testNetwork, tampered), signature });
    expect(other).not.toBe(accounts.jobCreator.address);
  });

  it('binds signatures to the chain and the deal contract', () => {
    const offer = jobOffer();
    const id = jobOfferId(testNetwork, offer);
    expect(jobOfferId({ ...testNetwork, chainId: 1 }, offer)).not.toBe(id);
    expect(jobOfferId({ ...testNetwork, deals: otherAddress }, offer)).not.toBe(id);
  });
});

describe('deal derivation', () => {
  const pair = () => {
    const job = jobOffer();
    const resource = resourceOffer();
    return {
      jobOffer: job,
      jobOfferId: jobOfferId(testNetwork, job),
      resourceOffer: resource,
      resourceOfferId: resourceOfferId(testNetwork, resource),
    };
  };

  it('takes prices from the provider, collateral P and timeouts from the job creator', () => {
    const deal = deriveDeal(pair());
    expect(deal.fixedPrice).toBe(parseEther('1'));
    expect(deal.paymentCollateral).toBe(parseEther('10'));
    expect(deal.timeoutCollateral).toBe(parseEther('2'));
    expect(deal.submitTimeout).toBe(300n);
    expect(deal.mediators).toEqual([accounts.mediator.address]);
  });

  it('is deterministic, so both parties derive the same deal id', () => {
    const input = pair();
    expect(dealId(testNetwork, deriveDeal(input))).toBe(dealId(testNetwork, deriveDeal({ ...input })));
  });

  it('keeps only the mediators both parties trust and the earlier expiry', () => {
    const input = pair();
    input.jobOffer.mediators = [otherAddress, accounts.mediator.address];
    input.resourceOffer.expiry = input.jobOffer.expiry - 100n;
    const deal = deriveDeal(input);
    expect(deal.mediators).toEqual([accounts.mediator.address]);
    expect(deal.expiry).toBe(input.resourceOffer.expiry);
  });

  it('names the fields of a proposal that do not follow from the offers', () => {
    const deal = deriveDeal(pair());
    expect(dealDifferences(deal, { ...deal })).toEqual([]);
    expect(dealDifferences(deal, { ...deal, fixedPrice: 5n, mediators: [otherAddress] })).toEqual([
      'mediators',
      'fixedPrice',
    ]);
  });

  it('signs the deal as typed data that recovers to each party', async () => {
    const deal = deriveDeal(pair());
    const signature = await accounts.resourceProvider.signTypedData(dealTypedData(testNetwork, deal));
    expect(await recoverTypedDataAddress({ ...dealTypedData(testNetwork, deal), signature })).toBe(
      accounts.resourceProvider.address,
    );
  });
});

describe('pricing', () => {
  const terms = {
    fixedPrice: 100n,
    pricePerInstruction: 2n,
    paymentCollateral: 1000n,
    resultsCollateralMultipleBps: 20_000,
    mediationFee: 50n,
  };

  it('charges the fixed price plus the instructions, capped at P', () => {
    expect(jobCost(terms, 0n)).toBe(100n);
    expect(jobCost(terms, 10n)).toBe(120n);
    expect(jobCost(terms, 10_000n)).toBe(1000n);
  });

  it('makes the results collateral a multiple of the cost, never below the mediation fee', () => {
    expect(resultsCollateral(terms, 120n)).toBe(240n);
    expect(resultsCollateral(terms, 10n)).toBe(50n);
  });
});

describe('wire validation', () => {
  it('round-trips a signed offer through JSON', async () => {
    const signed = await signJobOffer(jobOffer());
    expect(parseWire(signedJobOfferSchema, toWire(signed), 'job offer')).toEqual(signed);
  });

  it('names every wrong field', async () => {
    const signed = toWire(await signJobOffer(jobOffer())) as { offer: Record<string, unknown> };
    signed.offer.maxPrice = -1;
    signed.offer.jobCreator = '0x123';
    expect(() => parseWire(signedJobOfferSchema, signed, 'job offer')).toThrow(WireError);
    expect(() => parseWire(signedJobOfferSchema, signed, 'job offer')).toThrow(
      /offer\.jobCreator.*offer\.maxPrice/,
    );
  });
});
