/**
 * The deal is derived from the two offers deterministically, so the solver proposes it and each party
 * recomputes it from its own offer before signing: nobody has to trust the solver's arithmetic.
 */
import type { Hex } from 'viem';
import type { Deal, JobOffer, ResourceOffer } from './eip712.js';

export type OfferPair = {
  jobOffer: JobOffer;
  jobOfferId: Hex;
  resourceOffer: ResourceOffer;
  resourceOfferId: Hex;
};

/** Mediators trusted by both parties, in the job creator's order. */
export function sharedMediators(job: JobOffer, resource: ResourceOffer) {
  const trusted = new Set(resource.mediators.map((m) => m.toLowerCase()));
  return job.mediators.filter((m) => trusted.has(m.toLowerCase()));
}

export function deriveDeal({ jobOffer, jobOfferId, resourceOffer, resourceOfferId }: OfferPair): Deal {
  return {
    jobCreator: jobOffer.jobCreator,
    resourceProvider: resourceOffer.resourceProvider,
    solver: jobOffer.solver,
    mediators: sharedMediators(jobOffer, resourceOffer),
    // One mediator decides, until offers carry k-of-n terms (the contract takes any 1 <= k <= n per deal).
    mediatorsDrawn: 1,
    verdictsNeeded: 1,
    jobOffer: jobOfferId,
    resourceOffer: resourceOfferId,
    fixedPrice: resourceOffer.fixedPrice,
    pricePerInstruction: resourceOffer.pricePerInstruction,
    paymentCollateral: jobOffer.maxPrice,
    timeoutCollateral: resourceOffer.timeoutCollateral,
    resultsCollateralMultipleBps: resourceOffer.resultsCollateralMultipleBps,
    mediationFee: jobOffer.mediationFee,
    submitTimeout: jobOffer.submitTimeout,
    judgeTimeout: jobOffer.judgeTimeout,
    mediateTimeout: jobOffer.mediateTimeout,
    expiry: jobOffer.expiry < resourceOffer.expiry ? jobOffer.expiry : resourceOffer.expiry,
  };
}

/** Field-by-field equality of two deals; returns the names of the fields that differ. */
export function dealDifferences(a: Deal, b: Deal): string[] {
  return (Object.keys(a) as (keyof Deal)[]).filter((key) => {
    const x = a[key];
    const y = b[key];
    if (Array.isArray(x) && Array.isArray(y)) {
      return (
        x.length !== y.length || x.some((v, i) => String(v).toLowerCase() !== String(y[i]).toLowerCase())
      );
    }
    return String(x).toLowerCase() !== String(y).toLowerCase();
  });
}
