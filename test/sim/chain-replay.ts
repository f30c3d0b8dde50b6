/**
 * Plays a simulation's deals on a real chain: every agent becomes an account (a key derived from its
 * simulated address), funded with its deposit and, for mediators, registered with its stake; then every traced
 * step is sent, in the simulation's order, through the typed actions of src/chain/deals.ts, each in a block
 * stamped with the step's simulated second. A deciding vote settles the deal on-chain as it did in the model.
 */
import { type Address, type Hex, keccak256, parseEther, type TestClient, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { LilypadPublicClient, LilypadWalletClient } from '../../src/chain/clients.js';
import { walletClientFor } from '../../src/chain/clients.js';
import {
  accept,
  agree,
  challenge,
  drawnMediators,
  escrowBalance,
  Role,
  register,
  stake,
  submitResult,
  timeoutJudge,
  timeoutMediate,
  timeoutSubmit,
  userOf,
  verdict,
} from '../../src/chain/deals.js';
import { fundDevNetwork } from '../../src/chain/deploy.js';
import { type Deal, dealTypedData } from '../../src/protocol/eip712.js';
import type { Simulation, TraceStep } from '../../src/sim/engine.js';

export type ReplayChain = {
  rpcUrl: string;
  chainId: number;
  network: { chainId: number; deals: Address; token: Address };
  publicClient: LilypadPublicClient;
  testClient: TestClient;
  /** Sends what anyone may send (agree with both signatures, the timeouts). */
  anyone: LilypadWalletClient;
};

export type Balances = Map<Address, { free: bigint; locked: bigint; stake: bigint }>;

type Agent = { sim: Address; key: Hex; address: Address; wallet: LilypadWalletClient };

export class ChainReplay {
  readonly #chain: ReplayChain;
  readonly #sim: Simulation;
  readonly #agents = new Map<string, Agent>();

  constructor(chain: ReplayChain, sim: Simulation, label: string) {
    this.#chain = chain;
    this.#sim = sim;
    const { jobCreators, providers, mediators } = sim.population;
    for (const agent of [...jobCreators, ...providers, ...mediators]) {
      const key = keccak256(toHex(`lilypad sim parity ${label} ${agent.address}`));
      this.#agents.set(agent.address.toLowerCase(), {
        sim: agent.address,
        key,
        address: privateKeyToAccount(key).address,
        wallet: walletClientFor(chain.rpcUrl, chain.chainId, key),
      });
    }
  }

  #agent(simAddress: string): Agent {
    const agent = this.#agents.get(simAddress.toLowerCase());
    if (!agent) throw new Error(`no account for ${simAddress}`);
    return agent;
  }

  /** The deal as signed on-chain: the simulated parties replaced by their accounts. */
  chainDeal(deal: Deal): Deal {
    return {
      ...deal,
      jobCreator: this.#agent(deal.jobCreator).address,
      resourceProvider: this.#agent(deal.resourceProvider).address,
      solver: this.#chain.anyone.account.address,
      mediators: deal.mediators.map((m) => this.#agent(m).address),
    };
  }

  /** Gas money, the scenario's deposits (permit + deposit), mediator registration and stakes. */
  async fund(deposit: bigint, mediatorStake: bigint): Promise<void> {
    const agents = [...this.#agents.values()];
    for (const agent of agents) {
      await this.#chain.testClient.setBalance({ address: agent.address, value: parseEther('100') });
    }
    await fundDevNetwork({
      rpcUrl: this.#chain.rpcUrl,
      chainId: this.#chain.chainId,
      token: this.#chain.network.token,
      deals: this.#chain.network.deals,
      accounts: agents.map((a) => ({ privateKey: a.key })),
      amountLP: deposit,
    });
    for (const mediator of this.#sim.population.mediators) {
      const { wallet } = this.#agent(mediator.address);
      await register(wallet, this.#chain.network, Role.mediator, 'http://mediator.invalid');
      if (mediatorStake > 0n) await stake(wallet, this.#chain.network, mediatorStake);
    }
  }

  /** Sends every traced step in the simulation's order, `base` + its simulated second as block time. */
  async play(base: bigint): Promise<void> {
    const steps = this.#sim.traces
      .flatMap((trace) => trace.steps.map((step) => ({ step, deal: trace.deal })))
      .sort((a, b) => a.step.seq - b.step.seq);
    for (const { step, deal } of steps) {
      await this.#chain.testClient.setNextBlockTimestamp({ timestamp: base + BigInt(step.at) });
      await this.#send(step, deal);
    }
  }

  async #send(step: TraceStep, simDeal: Deal): Promise<void> {
    const network = this.#chain.network;
    const deal = this.chainDeal(simDeal);
    const jobCreator = this.#agent(simDeal.jobCreator);
    const provider = this.#agent(simDeal.resourceProvider);
    switch (step.step) {
      case 'agree': {
        const typed = dealTypedData(network, deal);
        const sigJC = await privateKeyToAccount(jobCreator.key).signTypedData(typed);
        const sigRP = await privateKeyToAccount(provider.key).signTypedData(typed);
        await agree(this.#chain.anyone, network, deal, sigJC, sigRP);
        return;
      }
      case 'submitResult':
        await submitResult(
          provider.wallet,
          network,
          deal,
          keccak256(toHex(`result ${step.seq}`)),
          step.instructionCount,
        );
        return;
      case 'accept':
        await accept(jobCreator.wallet, network, deal);
        return;
      case 'challenge': {
        await challenge(jobCreator.wallet, network, deal);
        const drawn = await drawnMediators(this.#chain.publicClient, network, deal);
        const expected = step.drawn.map((m) => this.#agent(m).address);
        if ([...drawn].sort().join() !== [...expected].sort().join()) {
          throw new Error(`the chain drew ${drawn.join(', ')}, the simulation ${expected.join(', ')}`);
        }
        return;
      }
      case 'vote':
        await verdict(this.#agent(step.mediator).wallet, network, deal, step.verdict === 'correct');
        return;
      case 'timeoutSubmit':
        await timeoutSubmit(this.#chain.anyone, network, deal);
        return;
      case 'timeoutJudge':
        await timeoutJudge(this.#chain.anyone, network, deal);
        return;
      case 'timeoutMediate':
        await timeoutMediate(this.#chain.anyone, network, deal);
        return;
      case 'verdictAccepted':
      case 'verdictRejected':
        return; // the deciding vote settled the deal
    }
  }

  /** Every agent's escrow on-chain, keyed by its simulated address. */
  async chainBalances(): Promise<Balances> {
    const out: Balances = new Map();
    for (const agent of this.#agents.values()) {
      const { free, locked } = await escrowBalance(
        this.#chain.publicClient,
        this.#chain.network,
        agent.address,
      );
      const { stake: staked } = await userOf(this.#chain.publicClient, this.#chain.network, agent.address);
      out.set(agent.sim, { free, locked, stake: staked });
    }
    return out;
  }

  /** The same, from the simulation's ledger. */
  simBalances(): Balances {
    const out: Balances = new Map();
    for (const agent of this.#agents.values()) {
      const { free, locked } = this.#sim.ledger.balanceOf(agent.sim);
      out.set(agent.sim, { free, locked, stake: this.#sim.ledger.stakeOf(agent.sim) });
    }
    return out;
  }
}
