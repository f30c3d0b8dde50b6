/**
 * The market's agents, built from a scenario's population: job creators, resource providers and mediators,
 * each an address with a strategy, and the signed-offer shapes the protocol uses (the simulator skips the
 * signatures and the EIP-712 hashing, which cost more than everything else put together; ids are counters).
 */
import { type Address, type Hex, maxUint64 } from 'viem';
import { type JobOffer, PricingMode, type ResourceOffer } from '../protocol/eip712.js';
import type { StoredResourceOffer } from '../solver/store.js';
import { EpsilonGreedyLearner } from './adaptive.js';
import type { EscrowAccount, SimLedger } from './ledger.js';
import type { Random } from './random.js';
import {
  defaultJobSpec,
  defaultProviderSpec,
  type JobCreatorGroup,
  type MediatorGroup,
  type ProviderGroup,
  type Scenario,
} from './scenario.js';

/** What an adaptive provider chooses between. */
export type LearnedAction = 'honest' | 'cheat';

type AgentBase = {
  index: number;
  address: Address;
  /** Index of its group in the scenario's population list. */
  group: number;
  label: string;
  /** Its initial escrow balance, in token units. */
  deposit: bigint;
  /** Its account in the simulator's escrow. */
  escrow: EscrowAccount;
  /** Off-chain spending so far (computing, checking, re-running), in token units. */
  spent: bigint;
  /** Deals it took part in (a mediator: challenges it was drawn for), and deals it cheated in. */
  deals: number;
  cheats: number;
};

export type JobCreatorAgent = AgentBase & {
  role: 'job-creator';
  strategy: JobCreatorGroup;
  checkProbability: number;
  /**
   * Every job of this agent is this offer. Its jobs need no nonce of their own: the simulator does not hash
   * offers (a job's id is a counter), and matching and deriving the deal never read the nonce.
   */
  offer: JobOffer;
  /** Jobs of a group look alike to the matcher: its fitting offers are computed once per group. */
  jobClass: string;
};

export type ProviderAgent = AgentBase & {
  role: 'resource-provider';
  strategy: ProviderGroup;
  offers: StoredResourceOffer[];
  /** An adaptive provider's beliefs; one learner shared by its whole group when the group learns together. */
  learner: EpsilonGreedyLearner<LearnedAction> | undefined;
  /** False once it could not cover a collateral: its offers are withdrawn. */
  active: boolean;
};

export type MediatorAgent = AgentBase & { role: 'mediator'; strategy: MediatorGroup };

export type Population = {
  solver: Address;
  jobCreators: JobCreatorAgent[];
  providers: ProviderAgent[];
  mediators: MediatorAgent[];
  /** Mediators by lower-case address. */
  mediatorByAddress: Map<string, MediatorAgent>;
  /** Group labels, in population order. */
  labels: { jobCreators: string[]; providers: string[]; mediators: string[] };
};

/** The module every simulated job runs: a name, not a real CID (nothing is fetched). */
export const SIM_MODULE = 'sim-module';
const role = { jobCreator: 0x0a, provider: 0x0b, mediator: 0x0c, solver: 0x0d } as const;

/** A recognisable lower-case address: a role byte, then the index. */
export const simAddress = (roleByte: number, index: number): Address =>
  `0x${roleByte.toString(16).padStart(2, '0')}${index.toString(16).padStart(38, '0')}`;

/** A 32-byte id from a counter (offers and deals; the protocol's would be EIP-712 hashes). */
export const simId = (tag: number, index: number): Hex =>
  `0x${tag.toString(16).padStart(2, '0')}${index.toString(16).padStart(62, '0')}`;

function defaultLabel(group: JobCreatorGroup | ProviderGroup | MediatorGroup): string {
  switch (group.strategy) {
    case 'check':
      return group.checkProbability === undefined ? 'check' : `check p=${group.checkProbability}`;
    case 'false-challenge':
      return group.probability === 1 ? 'false-challenge' : `false-challenge ${group.probability}`;
    case 'cheat':
      return `cheat q=${group.q}`;
    case 'collude':
      return `collude with ${group.with}`;
    default:
      return group.strategy;
  }
}

/** Group labels, made unique with #2, #3… */
function labelsOf(groups: readonly (JobCreatorGroup | ProviderGroup | MediatorGroup)[]): string[] {
  const seen = new Map<string, number>();
  return groups.map((g) => {
    const base = g.label ?? defaultLabel(g);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base} #${n}`;
  });
}

export function buildPopulation(scenario: Scenario, random: Random, ledger: SimLedger): Population {
  const { population } = scenario;
  const solver = simAddress(role.solver, 0);
  const labels = {
    jobCreators: labelsOf(population.jobCreators),
    providers: labelsOf(population.resourceProviders),
    mediators: labelsOf(population.mediators),
  };

  /** What every agent starts with: its place, its escrow account and empty counters. */
  const agentBase = (
    address: Address,
    index: number,
    group: number,
    label: string | undefined,
    deposit: bigint | undefined,
  ) => ({
    index,
    address,
    group,
    label: label as string,
    deposit: deposit ?? scenario.deposit,
    escrow: ledger.account(address),
    spent: 0n,
    deals: 0,
    cheats: 0,
  });

  const mediators: MediatorAgent[] = [];
  population.mediators.forEach((strategy, group) => {
    for (let i = 0; i < strategy.count; i++) {
      const index = mediators.length;
      const address = simAddress(role.mediator, index);
      mediators.push({
        role: 'mediator',
        ...agentBase(address, index, group, labels.mediators[group], strategy.deposit),
        strategy,
      });
    }
  });
  const mediatorAddresses = mediators.map((m) => m.address);

  const jobCreators: JobCreatorAgent[] = [];
  population.jobCreators.forEach((strategy, group) => {
    const spec = strategy.spec ?? defaultJobSpec;
    for (let i = 0; i < strategy.count; i++) {
      const index = jobCreators.length;
      const address = simAddress(role.jobCreator, index);
      jobCreators.push({
        role: 'job-creator',
        ...agentBase(address, index, group, labels.jobCreators[group], strategy.deposit),
        strategy,
        checkProbability:
          strategy.strategy === 'check' ? (strategy.checkProbability ?? scenario.checkProbability) : 0,
        offer: {
          jobCreator: address,
          solver,
          module: SIM_MODULE,
          inputs: '{}',
          spec,
          pricingMode: strategy.pricing === 'fixed' ? PricingMode.fixed : PricingMode.market,
          maxPrice: scenario.prices.maxPrice,
          mediationFee: scenario.mediation.fee,
          mediators: mediatorAddresses,
          target: '0x0000000000000000000000000000000000000000',
          submitTimeout: BigInt(scenario.timeouts.submit),
          judgeTimeout: BigInt(scenario.timeouts.judge),
          mediateTimeout: BigInt(scenario.timeouts.mediate),
          nonce: 0n,
          expiry: maxUint64,
        },
        jobClass: `jc-group-${group}`,
      });
    }
  });

  const providers: ProviderAgent[] = [];
  let offerCount = 0;
  population.resourceProviders.forEach((strategy, group) => {
    const multiple = strategy.resultsMultiple ?? scenario.collateral.resultsMultiple;
    const newLearner = () =>
      strategy.strategy === 'adaptive'
        ? new EpsilonGreedyLearner<LearnedAction>(['honest', 'cheat'], strategy.epsilon)
        : undefined;
    const groupLearner =
      strategy.strategy === 'adaptive' && strategy.learning === 'shared' ? newLearner() : undefined;
    for (let i = 0; i < strategy.count; i++) {
      const index = providers.length;
      const address = simAddress(role.provider, index);
      const offers: StoredResourceOffer[] = [];
      for (let slot = 0; slot < strategy.slots; slot++) {
        const offer: ResourceOffer = {
          resourceProvider: address,
          solver,
          spec: strategy.spec ?? defaultProviderSpec,
          fixedPrice: strategy.fixedPrice ?? scenario.prices.fixedPrice,
          pricePerInstruction: scenario.prices.pricePerInstruction,
          timeoutCollateral: scenario.collateral.timeout,
          resultsCollateralMultipleBps: Math.round(multiple * 10_000),
          mediators: mediatorAddresses,
          modules: [],
          nonce: BigInt(slot),
          expiry: maxUint64,
        };
        offers.push({
          id: simId(0x0b, offerCount),
          signed: { offer, signature: '0x' },
          status: 'open',
          dealId: null,
          createdAt: offerCount,
        });
        offerCount++;
      }
      providers.push({
        role: 'resource-provider',
        ...agentBase(address, index, group, labels.providers[group], strategy.deposit),
        strategy,
        offers,
        learner: groupLearner ?? newLearner(),
        active: true,
      });
    }
  });

  // Providers came to the market at different times: the solver's oldest-first tie-break must not follow
  // the order of the scenario's groups.
  const order = random.sample(
    providers.flatMap((p) => p.offers),
    offerCount,
  );
  order.forEach((offer, i) => {
    offer.createdAt = i;
  });

  return {
    solver,
    jobCreators,
    providers,
    mediators,
    mediatorByAddress: new Map(mediators.map((m) => [m.address.toLowerCase(), m])),
    labels,
  };
}
