/** Offers for protocol and solver tests, signed by the well-known dev keys. */
import { type Address, type Hex, parseEther, zeroAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { type DevRole, devAccount } from '../../src/chain/dev-accounts.js';
import {
  type JobOffer,
  jobOfferTypedData,
  type Network,
  PricingMode,
  type ResourceOffer,
  resourceOfferTypedData,
} from '../../src/protocol/eip712.js';

const key = (role: DevRole): Hex => devAccount(role).privateKey;

export const accounts = {
  solver: privateKeyToAccount(key('solver')),
  resourceProvider: privateKeyToAccount(key('resourceProvider')),
  jobCreator: privateKeyToAccount(key('jobCreator')),
  mediator: privateKeyToAccount(key('mediator')),
  stranger: privateKeyToAccount(key('user9')),
};

export const testNetwork: Network = { chainId: 31337, deals: '0x5FbDB2315678afecb367f032d93F642f64180aa3' };

// An hour or two ahead, on the hour: the same offer made twice in a test (on a slow machine, seconds
// apart) is the same offer, with the same id.
const inAnHour = () => BigInt((Math.floor(Date.now() / 3_600_000) + 2) * 3600);

export function jobOffer(overrides: Partial<JobOffer> = {}): JobOffer {
  return {
    jobCreator: accounts.jobCreator.address,
    solver: accounts.solver.address,
    module: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
    inputs: '{"Message":"moo"}',
    spec: { cpu: 1000, gpu: 0, gpuVram: 0, ram: 512, disk: 100 },
    pricingMode: PricingMode.market,
    maxPrice: parseEther('10'),
    mediationFee: parseEther('1'),
    mediators: [accounts.mediator.address],
    target: zeroAddress,
    submitTimeout: 300n,
    judgeTimeout: 60n,
    mediateTimeout: 300n,
    nonce: 1n,
    expiry: inAnHour(),
    ...overrides,
  };
}

export function resourceOffer(overrides: Partial<ResourceOffer> = {}): ResourceOffer {
  return {
    resourceProvider: accounts.resourceProvider.address,
    solver: accounts.solver.address,
    spec: { cpu: 4000, gpu: 0, gpuVram: 0, ram: 8192, disk: 10_240 },
    fixedPrice: parseEther('1'),
    pricePerInstruction: 0n,
    timeoutCollateral: parseEther('2'),
    resultsCollateralMultipleBps: 20_000,
    mediators: [accounts.mediator.address],
    modules: [],
    nonce: 1n,
    expiry: inAnHour(),
    ...overrides,
  };
}

export async function signJobOffer(
  offer: JobOffer,
  network: Network = testNetwork,
  signer = accounts.jobCreator,
) {
  return { offer, signature: await signer.signTypedData(jobOfferTypedData(network, offer)) };
}

export async function signResourceOffer(
  offer: ResourceOffer,
  network: Network = testNetwork,
  signer = accounts.resourceProvider,
) {
  return { offer, signature: await signer.signTypedData(resourceOfferTypedData(network, offer)) };
}

export const otherAddress: Address = '0x000000000000000000000000000000000000dEaD';
