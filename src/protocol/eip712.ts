/**
 * EIP-712 typed data for every message that commits someone: job offers, resource offers and deals.
 *
 * The domain binds a signature to one chain and one deal contract, so it cannot be replayed elsewhere.
 * The `Deal` type is the one the contract checks on-chain: keep it flat and in step with
 * `contracts/LilypadDeals.sol` (a contract test compares the two hashes).
 */
import type { Address, Hex, TypedDataDomain } from 'viem';
import { hashTypedData } from 'viem';

export type Network = {
  chainId: number;
  /** The deal contract: the `verifyingContract` of every signature. */
  deals: Address;
};

export function lilypadDomain(network: Network): TypedDataDomain {
  return { name: 'Lilypad', version: '1', chainId: network.chainId, verifyingContract: network.deals };
}

const MachineSpec = [
  { name: 'cpu', type: 'uint32' },
  { name: 'gpu', type: 'uint32' },
  { name: 'gpuVram', type: 'uint32' },
  { name: 'ram', type: 'uint32' },
  { name: 'disk', type: 'uint32' },
] as const;

export const jobOfferTypes = {
  MachineSpec,
  JobOffer: [
    { name: 'jobCreator', type: 'address' },
    { name: 'solver', type: 'address' },
    { name: 'module', type: 'string' },
    { name: 'inputs', type: 'string' },
    { name: 'spec', type: 'MachineSpec' },
    { name: 'pricingMode', type: 'uint8' },
    { name: 'maxPrice', type: 'uint256' },
    { name: 'mediationFee', type: 'uint256' },
    { name: 'mediators', type: 'address[]' },
    { name: 'target', type: 'address' },
    { name: 'submitTimeout', type: 'uint64' },
    { name: 'judgeTimeout', type: 'uint64' },
    { name: 'mediateTimeout', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
    { name: 'expiry', type: 'uint64' },
  ],
} as const;

export const resourceOfferTypes = {
  MachineSpec,
  ResourceOffer: [
    { name: 'resourceProvider', type: 'address' },
    { name: 'solver', type: 'address' },
    { name: 'spec', type: 'MachineSpec' },
    { name: 'fixedPrice', type: 'uint256' },
    { name: 'pricePerInstruction', type: 'uint256' },
    { name: 'timeoutCollateral', type: 'uint256' },
    { name: 'resultsCollateralMultipleBps', type: 'uint32' },
    { name: 'mediators', type: 'address[]' },
    { name: 'modules', type: 'string[]' },
    { name: 'nonce', type: 'uint256' },
    { name: 'expiry', type: 'uint64' },
  ],
} as const;

export const dealTypes = {
  Deal: [
    { name: 'jobCreator', type: 'address' },
    { name: 'resourceProvider', type: 'address' },
    { name: 'solver', type: 'address' },
    { name: 'mediators', type: 'address[]' },
    { name: 'mediatorsDrawn', type: 'uint8' },
    { name: 'verdictsNeeded', type: 'uint8' },
    { name: 'jobOffer', type: 'bytes32' },
    { name: 'resourceOffer', type: 'bytes32' },
    { name: 'fixedPrice', type: 'uint256' },
    { name: 'pricePerInstruction', type: 'uint256' },
    { name: 'paymentCollateral', type: 'uint256' },
    { name: 'timeoutCollateral', type: 'uint256' },
    { name: 'resultsCollateralMultipleBps', type: 'uint32' },
    { name: 'mediationFee', type: 'uint256' },
    { name: 'submitTimeout', type: 'uint64' },
    { name: 'judgeTimeout', type: 'uint64' },
    { name: 'mediateTimeout', type: 'uint64' },
    { name: 'expiry', type: 'uint64' },
  ],
} as const;

export type MachineSpec = { cpu: number; gpu: number; gpuVram: number; ram: number; disk: number };

export const PricingMode = { market: 0, fixed: 1 } as const;
export type PricingMode = (typeof PricingMode)[keyof typeof PricingMode];

export type JobOffer = {
  jobCreator: Address;
  solver: Address;
  /** CID of the module folder. */
  module: string;
  /** Canonical JSON of the inline input values (see `canonicalInputs`). */
  inputs: string;
  spec: MachineSpec;
  pricingMode: PricingMode;
  /** The most the job creator will pay: the deal's payment collateral P. */
  maxPrice: bigint;
  mediationFee: bigint;
  mediators: Address[];
  /** A resource provider this job must run on, or the zero address for any. */
  target: Address;
  submitTimeout: bigint;
  judgeTimeout: bigint;
  mediateTimeout: bigint;
  nonce: bigint;
  /** Unix seconds after which the offer can no longer become a deal. */
  expiry: bigint;
};

export type ResourceOffer = {
  resourceProvider: Address;
  solver: Address;
  spec: MachineSpec;
  fixedPrice: bigint;
  pricePerInstruction: bigint;
  timeoutCollateral: bigint;
  /** Results collateral R as a multiple of the job's cost, in basis points (10000 = 1×). */
  resultsCollateralMultipleBps: number;
  mediators: Address[];
  /** Module CIDs this provider will run; empty for any. */
  modules: string[];
  nonce: bigint;
  expiry: bigint;
};

export type Deal = {
  jobCreator: Address;
  resourceProvider: Address;
  solver: Address;
  mediators: Address[];
  /** n: how many of `mediators` are drawn when the job creator challenges (1 by default). */
  mediatorsDrawn: number;
  /** k: how many matching verdicts decide a mediation (1 by default; 1 <= k <= n). */
  verdictsNeeded: number;
  /** EIP-712 hash of the job offer: commits the module, the inputs and the spec. */
  jobOffer: Hex;
  resourceOffer: Hex;
  fixedPrice: bigint;
  pricePerInstruction: bigint;
  paymentCollateral: bigint;
  timeoutCollateral: bigint;
  resultsCollateralMultipleBps: number;
  mediationFee: bigint;
  submitTimeout: bigint;
  judgeTimeout: bigint;
  mediateTimeout: bigint;
  /** Unix seconds after which `agree` is refused. */
  expiry: bigint;
};

export function jobOfferTypedData(network: Network, offer: JobOffer) {
  return {
    domain: lilypadDomain(network),
    types: jobOfferTypes,
    primaryType: 'JobOffer',
    message: offer,
  } as const;
}

export function resourceOfferTypedData(network: Network, offer: ResourceOffer) {
  return {
    domain: lilypadDomain(network),
    types: resourceOfferTypes,
    primaryType: 'ResourceOffer',
    message: offer,
  } as const;
}

export function dealTypedData(network: Network, deal: Deal) {
  return { domain: lilypadDomain(network), types: dealTypes, primaryType: 'Deal', message: deal } as const;
}

/** An offer's id: the EIP-712 hash its creator signed. */
export const jobOfferId = (network: Network, offer: JobOffer): Hex =>
  hashTypedData(jobOfferTypedData(network, offer));

export const resourceOfferId = (network: Network, offer: ResourceOffer): Hex =>
  hashTypedData(resourceOfferTypedData(network, offer));

/** A deal's id: the EIP-712 hash of the deal struct, as the contract computes it. */
export const dealId = (network: Network, deal: Deal): Hex => hashTypedData(dealTypedData(network, deal));
