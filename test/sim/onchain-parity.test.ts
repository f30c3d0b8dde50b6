/**
 * The simulator and the real contracts agree to the token: small scenarios are simulated (money through the
 * reference model), then their deals are played on anvil through src/chain/deals.ts, step by step at the
 * simulated times, and every account's free, locked and staked balance is compared.
 *
 * Mediators are drawn at random by both (the contract from prevrandao, the simulator from its seed), so these
 * scenarios draw every eligible mediator (n = the number of mediators) and the draws agree by construction;
 * the replay checks each draw anyway.
 */
import { createTestClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, startAnvil } from '../../src/chain/anvil.js';
import { lilypadTokenAbi } from '../../src/chain/artifacts/index.js';
import { chainFor, publicClientFor, walletClientFor } from '../../src/chain/clients.js';
import { deployContracts } from '../../src/chain/deploy.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { simulate } from '../../src/sim/engine.js';
import { ChainReplay, type ReplayChain } from './chain-replay.js';
import { scenario } from './scenarios.js';

let anvil: Anvil;
let chain: ReplayChain;
/** Block time of the chain when a replay starts: each scenario gets its own stretch of time. */
let nextBase: bigint;
/** What every replayed account holds in the escrow: all the deal contract should hold. */
let escrowed = 0n;

beforeAll(async () => {
  anvil = await startAnvil();
  const publicClient = publicClientFor(anvil.rpcUrl, anvil.chainId);
  const deployer = walletClientFor(anvil.rpcUrl, anvil.chainId, devAccount('deployer').privateKey);
  const contracts = await deployContracts(deployer, publicClient);
  chain = {
    rpcUrl: anvil.rpcUrl,
    chainId: anvil.chainId,
    network: { chainId: anvil.chainId, ...contracts },
    publicClient,
    testClient: createTestClient({
      mode: 'anvil',
      chain: chainFor(anvil.chainId, anvil.rpcUrl),
      transport: http(anvil.rpcUrl),
    }),
    anyone: deployer,
  };
  nextBase = (await publicClient.getBlock()).timestamp + 1000n;
});

afterAll(async () => {
  await anvil?.stop();
});

async function parity(label: string, s: ReturnType<typeof scenario>) {
  const sim = simulate(s, { trace: true });
  const replay = new ChainReplay(chain, sim, label);
  await replay.fund(s.deposit, s.mediation.stake);
  const base = (await chain.publicClient.getBlock()).timestamp + 10n;
  const start = base > nextBase ? base : nextBase;
  await replay.play(start);
  nextBase = start + BigInt(sim.result.summary.simulatedSeconds) + 1000n;
  const onChain = await replay.chainBalances();
  expect(onChain).toEqual(replay.simBalances());
  expect(sim.result.summary.escrowInvariantHolds).toBe(true);
  // The contract's invariant on the chain's side: token.balanceOf(deals) == Σ free + Σ locked.
  for (const { free, locked } of onChain.values()) escrowed += free + locked;
  const held = await chain.publicClient.readContract({
    address: chain.network.token,
    abi: lilypadTokenAbi,
    functionName: 'balanceOf',
    args: [chain.network.deals],
  });
  expect(held).toBe(escrowed);
  return { sim };
}

describe('simulator ↔ contracts on anvil', () => {
  it('every deal outcome but a mediation timeout: same balances to the token', async () => {
    const s = scenario({
      name: 'parity-mediation',
      seed: 5,
      rounds: 2,
      jobsPerRound: 12,
      roundSeconds: 300,
      deposit: 100,
      checkProbability: 0.7,
      prices: { fixedPrice: 1, pricePerInstruction: '0.000001', maxPrice: 10 },
      instructions: 1_234_567,
      // F is odd in token units: a 2-way split leaves a remainder, paid to the first in the deal's order.
      mediation: { fee: '1.000000000000000001', k: 2, n: 3, stake: 10 },
      population: {
        jobCreators: [
          { count: 1, strategy: 'check' },
          { count: 1, strategy: 'false-challenge', probability: 0.5 },
          { count: 1, strategy: 'silent' },
          { count: 1, strategy: 'trusting' },
        ],
        resourceProviders: [
          { count: 1, strategy: 'honest' },
          { count: 1, strategy: 'cheat', q: 0.6 },
          { count: 1, strategy: 'lazy' },
        ],
        mediators: [
          { count: 2, strategy: 'honest' },
          { count: 1, strategy: 'collude', with: 'resource-provider' },
        ],
      },
    });
    const { sim } = await parity('mediation', s);
    const { outcomes } = sim.result.summary;
    expect(outcomes.Accepted).toBeGreaterThan(0);
    expect(outcomes.TimedOutSubmit).toBeGreaterThan(0);
    expect(outcomes.MediationAccepted).toBeGreaterThan(0);
    expect(outcomes.MediationRejected).toBeGreaterThan(0);
    expect(sim.traces.some((t) => t.steps.at(-1)?.step === 'timeoutJudge')).toBe(true);
  });

  it('a mediator that never votes: mediation timeout, slashing, then refused challenges', async () => {
    const s = scenario({
      name: 'parity-absent',
      seed: 9,
      rounds: 1,
      jobsPerRound: 4,
      deposit: 50,
      checkProbability: 1,
      mediation: { fee: 1, k: 1, n: 1, stake: 1.5 },
      population: {
        jobCreators: [{ count: 1, strategy: 'check' }],
        resourceProviders: [{ count: 1, strategy: 'cheat', q: 1 }],
        mediators: [{ count: 1, strategy: 'absent' }],
      },
    });
    const { sim } = await parity('absent', s);
    expect(sim.result.summary.outcomes.TimedOutMediate).toBe(1);
    expect(sim.result.summary.challengesRefused).toBe(3);
  });
});
