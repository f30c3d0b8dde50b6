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

/**
 * The consortium of a deal: every shared mediator is drawn and a majority of them decides, so a job creator
 * that names several mediators (and a provider that trusts them) never leaves the decision to one of them.
 * With one shared mediator this is the 1-of-1 default. (Offers do not carry their own k-of-n terms yet.)
 */
export function consortiumOf(mediators: readonly unknown[]): {
  mediatorsDrawn: number;
  verdictsNeeded: number;
} {
  const n = Math.max(1, mediators.length);
  return { mediatorsDrawn: n, verdictsNeeded: Math.floor(n / 2) + 1 };
}

export function deriveDeal({ jobOffer, jobOfferId, resourceOffer, resourceOfferId }: OfferPair): Deal {
  const mediators = sharedMediators(jobOffer, resourceOffer);
  return {
    jobCreator: jobOffer.jobCreator,
    resourceProvider: resourceOffer.resourceProvider,
    solver: jobOffer.solver,
    mediators,
    ...consortiumOf(mediators),
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
