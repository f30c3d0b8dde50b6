/**
 * `lilypad mediator`: registers as a mediator with a stake, follows the deal contract's events and, for every
 * deal it is drawn for (`MediatorDrawn`), fetches the module and the job offer (verified against the deal's
 * commitments), runs the job again with the same executor and posts its verdict before the mediation deadline.
 * Its cursor and its mediations live in SQLite (mediator-store.ts): after a crash it picks up where it was, and
 * it asks the chain whether it already voted before it votes, so a verdict is neither missed nor repeated.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Address, Hex, LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ChainFollower, type DealLog } from '../chain/chain-follower.js';
import {
  type LilypadPublicClient,
  type LilypadWalletClient,
  publicClientFor,
  walletClientFor,
} from '../chain/clients.js';
import {
  ChainCallError,
  dealStatus,
  mediationStatus,
  Role,
  submittedResultCID,
  userOf,
  verdict,
} from '../chain/deals.js';
import { ensureEscrow } from '../chain/escrow.js';
import { ensureStake, registerService } from '../chain/registry.js';
import type { Executor } from '../executors/executor.js';
import { type ExecutorsByKind, executorsByKind } from '../executors/executors-by-kind.js';
import { type Judgement, judgeResult, reExecute } from '../executors/re-execution.js';
import { parseCanonicalInputs, validateInputs } from '../modules/inputs.js';
import { readManifest } from '../modules/manifest.js';
import { DealState, dealStateName } from '../protocol/deal-states.js';
import { dealId as computeDealId, type Deal, jobOfferId } from '../protocol/eip712.js';
import type { NetworkConfig } from '../protocol/network.js';
import { signingFetch } from '../protocol/signed-request.js';
import { SolverClient } from '../protocol/solver-client.js';
import { type Blockstore, openBlockstore } from '../storage/blockstore.js';
import { downloadFolder } from '../storage/verified-fetch.js';
import { type MediationRecord, MediatorStore } from './mediator-store.js';

export type MediatorOptions = {
  network: NetworkConfig;
  privateKey: Hex;
  dataDir: string;
  logger: Logger;
  /** The stake to keep: a deal can draw this mediator only if its mediation fee is at most the stake. */
  stake: bigint;
  /** Executors by the manifest's `executor`; any not given is created on its first job. */
  executors?: Partial<Record<Executor['kind'], Executor>>;
  pollIntervalMs?: number;
  /** Mediations run at once (each re-runs a job); default 2. Further draws wait, in the order drawn. */
  concurrency?: number;
  /** Called once a mediation is done (verdict on-chain, or not needed any more). */
  onMediation?: (record: MediationRecord) => void;
};

/** Why a mediation is over without this mediator's verdict, or undefined if the verdict is still wanted. */
function noVerdictNeeded(state: DealState, alreadyVoted: boolean): string | undefined {
  if (alreadyVoted) return 'already voted (the verdict is on-chain)';
  if (state !== DealState.Challenged)
    return `the deal settled without this verdict (${dealStateName(state)})`;
  return undefined;
}

const CURSOR_STORE_BLOCKS = 1000n;

export class Mediator {
  readonly account: LocalAccount;
  readonly #options: MediatorOptions;
  readonly #log: Logger;
  readonly #executorFor: ExecutorsByKind;
  readonly #solver: SolverClient;
  #store!: MediatorStore;
  #public!: LilypadPublicClient;
  #wallet!: LilypadWalletClient;
  #blockstore!: Blockstore;
  #follower: ChainFollower | undefined;
  /** The last block read; stored with each draw, and at least every CURSOR_STORE_BLOCKS blocks. */
  #cursor: bigint | undefined;
  #storedCursor: bigint | undefined;
  /** Deals drawn and not yet mediated: waiting in the order drawn, or running. */
  readonly #queued = new Set<Hex>();
  readonly #waiting: Hex[] = [];
  readonly #running = new Map<Hex, Promise<void>>();
  #stopped = false;

  constructor(options: MediatorOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.account = privateKeyToAccount(options.privateKey);
    this.#executorFor = executorsByKind(options.executors);
    this.#solver = new SolverClient(options.network.solverUrl, this.account);
  }

  get address(): Address {
    return this.account.address;
  }

  async start(): Promise<void> {
    const { network, dataDir, stake } = this.#options;
    this.#stopped = false;
    this.#queued.clear();
    this.#waiting.length = 0;
    await mkdir(join(dataDir, 'modules'), { recursive: true });
    this.#store = new MediatorStore(join(dataDir, 'mediator.sqlite'));
    this.#blockstore = await openBlockstore(join(dataDir, 'blocks'));
    this.#public = publicClientFor(network.rpcUrl, network.chainId);
    this.#wallet = walletClientFor(network.rpcUrl, network.chainId, this.#options.privateKey);
    await registerService(this.#wallet, network, { roles: Role.mediator });
    const { stake: staked } = await userOf(this.#public, network, this.address);
    if (staked < stake) {
      await ensureEscrow(this.#wallet, this.#public, network, stake - staked);
      await ensureStake(this.#wallet, network, stake);
    }
    for (const open of this.#store.open()) this.#enqueue(open.dealId);
    this.#cursor = this.#storedCursor = this.#store.cursor();
    this.#follower = new ChainFollower({
      client: this.#public,
      address: network.deals,
      intervalMs: this.#options.pollIntervalMs ?? 250,
      startBlock: BigInt(network.deployBlock ?? 0),
      cursor: () => this.#cursor,
      apply: (logs, toBlock) => this.#applyLogs(logs, toBlock),
    });
    this.#follower.start();
    await this.#follower.poll();
    this.#log.info({ address: this.address, stake: stake.toString() }, 'mediator started');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#follower?.stop();
    await Promise.all(this.#running.values());
    if (this.#cursor !== undefined && this.#cursor !== this.#storedCursor)
      this.#store.addDraws([], this.#cursor);
    this.#store?.close();
  }

  /** Every mediation this mediator was drawn for, with its verdict once given. */
  mediations(): MediationRecord[] {
    return this.#store.all();
  }

  #applyLogs(logs: DealLog[], toBlock: bigint): void {
    const me = this.address.toLowerCase();
    const draws = logs.flatMap((log) =>
      log.eventName === 'MediatorDrawn' && log.args.mediator.toLowerCase() === me
        ? [{ dealId: log.args.dealId, block: log.blockNumber ?? toBlock }]
        : [],
    );
    // A block without draws need not be committed (a commit per block costs a disk sync): a restart from an
    // older cursor reads those blocks again and finds nothing to do in them.
    const stored = this.#storedCursor ?? -1n;
    if (draws.length > 0 || toBlock - stored >= CURSOR_STORE_BLOCKS) {
      this.#store.addDraws(draws, toBlock);
      this.#storedCursor = toBlock;
    }
    this.#cursor = toBlock;
    for (const draw of draws) this.#enqueue(draw.dealId);
  }

  #enqueue(dealId: Hex): void {
    const id = dealId.toLowerCase() as Hex;
    if (this.#queued.has(id)) return;
    this.#queued.add(id);
    this.#waiting.push(id);
    this.#startWaiting();
  }

  #startWaiting(): void {
    const concurrency = Math.max(1, this.#options.concurrency ?? 2);
    while (!this.#stopped && this.#running.size < concurrency) {
      const id = this.#waiting.shift();
      if (id === undefined) return;
      const run = this.#mediateUntilDone(id).finally(() => {
        this.#running.delete(id);
        this.#startWaiting();
      });
      this.#running.set(id, run);
    }
  }

  /** Retries a mediation that failed (solver or chain unreachable) until it is done, the deadline passed or we stop. */
  async #mediateUntilDone(dealId: Hex): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        await this.#mediate(dealId);
        this.#queued.delete(dealId);
        return;
      } catch (error) {
        this.#log.warn({ err: error, dealId, attempt }, 'mediation failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** attempt)));
      }
    }
  }

  #finish(dealId: Hex, done: { resultCorrect: boolean | null; outcome: string; txHash: Hex | null }): void {
    this.#store.finish(dealId, done);
    this.#log.info({ dealId, ...done }, 'mediation done');
    const record = this.#store.all().find((r) => r.dealId === dealId);
    if (record) this.#options.onMediation?.(record);
  }

  async #mediate(dealId: Hex): Promise<void> {
    const { network } = this.#options;
    const deal = await this.#dealFor(dealId);
    const stillWanted = async () => {
      const [status, mediation] = await Promise.all([
        dealStatus(this.#public, network, dealId),
        mediationStatus(this.#public, network, dealId),
      ]);
      const mine = deal.mediators.reduce(
        (bits, m, i) => (m.toLowerCase() === this.address.toLowerCase() ? bits | (1n << BigInt(i)) : bits),
        0n,
      );
      const voted = ((mediation.votedCorrect | mediation.votedWrong) & mine & mediation.drawn) !== 0n;
      return {
        reason: noVerdictNeeded(status.state, voted),
        deadline: mediation.challengedAt + Number(deal.mediateTimeout),
      };
    };
    const before = await stillWanted();
    if (before.reason)
      return this.#finish(dealId, { resultCorrect: null, outcome: before.reason, txHash: null });

    this.#log.info({ dealId }, 'mediating');
    const judgement = await this.#judge(dealId, deal);
    const now = await stillWanted();
    if (now.reason) return this.#finish(dealId, { resultCorrect: null, outcome: now.reason, txHash: null });
    const { timestamp } = await this.#public.getBlock({ blockTag: 'latest' });
    if (Number(timestamp) > now.deadline) {
      return this.#finish(dealId, {
        resultCorrect: judgement.resultCorrect,
        outcome: `missed the mediation deadline: ${judgement.reason}`,
        txHash: null,
      });
    }
    try {
      const { hash } = await verdict(this.#wallet, network, deal, judgement.resultCorrect);
      this.#finish(dealId, {
        resultCorrect: judgement.resultCorrect,
        outcome: judgement.reason,
        txHash: hash,
      });
    } catch (error) {
      // Another mediator's verdict may have decided the deal between the check and the transaction.
      if (
        error instanceof ChainCallError &&
        (error.errorName === 'WrongState' || error.errorName === 'AlreadyVoted')
      ) {
        const after = await stillWanted();
        if (after.reason)
          return this.#finish(dealId, { resultCorrect: null, outcome: after.reason, txHash: null });
      }
      throw error;
    }
  }

  /** The deal's terms from the solver, accepted only if they hash to the deal id the chain drew us for. */
  async #dealFor(dealId: Hex): Promise<Deal> {
    const { deal } = await this.#solver.getDeal(dealId);
    if (computeDealId(this.#options.network, deal).toLowerCase() !== dealId.toLowerCase()) {
      throw new Error(`the solver returned terms that are not those of deal ${dealId}`);
    }
    return deal;
  }

  async #judge(dealId: Hex, deal: Deal): Promise<Judgement> {
    const { network, dataDir } = this.#options;
    const { offer } = await this.#solver.getJobOffer(deal.jobOffer);
    if (jobOfferId(network, offer).toLowerCase() !== deal.jobOffer.toLowerCase()) {
      throw new Error(`the solver returned a job offer that is not the one deal ${dealId} commits to`);
    }
    const claimedCID = await submittedResultCID(this.#public, network, dealId);
    const moduleDir = await this.#fetch(offer.module, join(dataDir, 'modules', offer.module));
    const manifest = await readManifest(moduleDir);
    const inputs = validateInputs(manifest, parseCanonicalInputs(offer.inputs));
    const ours = await reExecute({
      executor: this.#executorFor(manifest.executor),
      moduleDir,
      manifest,
      inputs,
      dealId,
      deal,
      bundleDir: join(dataDir, 'runs', dealId),
    });
    // A not deterministic result is judged by the evidence inside it: fetch it (verified against its CID).
    const claimedDir = manifest.deterministic
      ? undefined
      : await this.#fetch(claimedCID, join(dataDir, 'claimed', dealId));
    const judgement = await judgeResult({ manifest, claimedCID, claimedDir, ours });
    this.#log.info({ dealId, claimedCID, ourCID: ours.cid, ...judgement }, 'judged');
    return judgement;
  }

  /** A folder by CID from the directory, every block verified; kept once complete. */
  async #fetch(cid: string, dir: string): Promise<string> {
    if (existsSync(dir)) return dir;
    const partial = `${dir}.partial-${randomBytes(4).toString('hex')}`;
    await rm(partial, { recursive: true, force: true });
    // Signed: a private deal's content is served to the mediators it lists.
    await downloadFolder(this.#options.network.solverUrl, cid, this.#blockstore, partial, {
      fetch: signingFetch(this.account),
    });
    await rename(partial, dir);
    return dir;
  }
}
