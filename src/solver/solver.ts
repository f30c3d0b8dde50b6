/**
 * `lilypad solver`: takes signed offers, matches them, proposes deals, collects both signatures and
 * submits `agree`, follows the chain, pushes events to the parties and hosts the directory.
 *
 * Every change runs through one queue: the changes that arrive together (one event-loop turn) are
 * applied in one store transaction (group commit), and only then are their requests answered and
 * their events sent. So whatever the solver acknowledged survives a crash, and a restart on the same
 * data dir resumes: the book is rebuilt from the store, proposals get a fresh deadline (or their
 * `agree` is sent again when both parties had signed), and the chain is read again from the cursor.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CID } from 'multiformats/cid';
import type { Logger } from 'pino';
import { type Address, type Hex, hexToBytes } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import { ChainFollower, type DealLog } from '../chain/chain-follower.js';
import {
  type LilypadPublicClient,
  type LilypadWalletClient,
  publicClientFor,
  walletClientFor,
} from '../chain/clients.js';
import { agreeBatcher, dealStatus } from '../chain/deals.js';
import type { RateLimit } from '../http/rate-limit.js';
import { DealState, isFinal } from '../protocol/deal-states.js';
import { LilypadError } from '../protocol/errors.js';
import type { NetworkConfig } from '../protocol/network.js';
import type { SignedJobOffer, SignedResourceOffer, SolverEvent } from '../protocol/wire.js';
import { type Blockstore, openBlockstore } from '../storage/blockstore.js';
import { buildSolverApi } from './api.js';
import { Directory, type DirectoryLimits } from './directory.js';
import { EventHub } from './event-hub.js';
import { EventLog, type SequencedEvent } from './event-log.js';
import { type JobOfferOutcome, Market, type ResourceOfferOutcome } from './market.js';
import { OfferHashes } from './offer-hashes.js';
import { recoverSigner } from './recover-signer.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store, StoredDeal, StoredJobOffer } from './store.js';

export type SolverLimits = DirectoryLimits & {
  /** Requests per address (offers, signatures, uploads, event sockets). */
  rate: RateLimit;
  /** Unsigned requests (the API's reads and the gateway) per client IP address. */
  ipRate: RateLimit;
  /** Largest JSON body. */
  maxBodyBytes: number;
};

export const defaultSolverLimits: SolverLimits = {
  rate: { perSecond: 50, burst: 200 },
  ipRate: { perSecond: 200, burst: 1000 },
  maxBodyBytes: 1024 * 1024,
  maxUploadBytes: 256 * 1024 * 1024,
  uploadQuotaBytes: 2 * 1024 * 1024 * 1024,
  retentionMs: 7 * 24 * 3600 * 1000,
  moduleRetentionMs: 30 * 24 * 3600 * 1000,
};

export type SolverOptions = {
  network: Pick<NetworkConfig, 'chainId' | 'rpcUrl' | 'deals' | 'token' | 'deployBlock'>;
  privateKey: Hex;
  dataDir: string;
  host?: string;
  port?: number;
  logger: Logger;
  /** How often to read new chain events; small on a local chain. */
  pollIntervalMs?: number;
  /** How long a proposed deal waits for both signatures before its offers go back to the market. */
  proposalTimeoutMs?: number;
  /** How often expired offers are taken off the market. */
  expiryIntervalMs?: number;
  /** How often the content of finished deals past their retention, and old events, are collected. */
  collectIntervalMs?: number;
  /** How long events are kept for clients that reconnect (they get their current state after that). */
  eventRetentionMs?: number;
  limits?: Partial<SolverLimits>;
  /** Mediators this solver suggests to its clients (announced by /api/v1/health). */
  mediators?: Address[];
};

export class OfferRejectedError extends LilypadError {
  override name = 'OfferRejectedError';
}

export class DealNotFoundError extends LilypadError {
  override name = 'DealNotFoundError';
}

const nowSeconds = () => BigInt(Math.floor(Date.now() / 1000));

type Pending = { op: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void };

export class Solver {
  readonly address: Address;
  readonly hub = new EventHub();
  readonly limits: SolverLimits;
  readonly #options: SolverOptions;
  readonly #log: Logger;
  readonly #hashes: OfferHashes;
  #store!: Store;
  #events!: EventLog;
  #market!: Market;
  #directory!: Directory;
  #blockstore!: Blockstore;
  #public!: LilypadPublicClient;
  #wallet!: LilypadWalletClient;
  #follower!: ChainFollower;
  #app!: FastifyInstance;
  #url = '';
  #pending: Pending[] = [];
  #flushScheduled = false;
  /** Deadlines of proposals, in the order they were proposed. */
  readonly #proposalDeadlines = new Map<Hex, number>();
  readonly #agreeing = new Set<Hex>();
  /** Deals signed while an `agree` is on its way go together in one `agreeMany`. */
  #agreements!: ReturnType<typeof agreeBatcher>;
  #expiryTimer: NodeJS.Timeout | undefined;
  #collectTimer: NodeJS.Timeout | undefined;
  #collecting: Promise<void> | undefined;
  #proposalTimer: NodeJS.Timeout | undefined;

  constructor(options: SolverOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.address = privateKeyToAddress(options.privateKey);
    this.limits = { ...defaultSolverLimits, ...options.limits };
    this.#hashes = new OfferHashes(options.network);
  }

  get url(): string {
    return this.#url;
  }

  get store(): Store {
    return this.#store;
  }

  get blockstore(): Blockstore {
    return this.#blockstore;
  }

  get directory(): Directory {
    return this.#directory;
  }

  get network() {
    return this.#options.network;
  }

  get mediators(): Address[] {
    return this.#options.mediators ?? [];
  }

  async start(): Promise<string> {
    const { network, dataDir } = this.#options;
    await mkdir(dataDir, { recursive: true });
    this.#store = new SqliteStore(join(dataDir, 'solver.sqlite'));
    this.#blockstore = await openBlockstore(join(dataDir, 'blocks'));
    this.#events = new EventLog(this.#store, this.hub);
    this.#market = new Market({
      store: this.#store,
      solver: this.address,
      hashes: this.#hashes,
      publish: (to, event) => this.#events.publish(to, event),
      onProposed: (deal) => this.#armProposalDeadline(deal.id),
    });
    this.#directory = new Directory({
      store: this.#store,
      blockstore: this.#blockstore,
      limits: this.limits,
      moduleOf: (deal) => this.#store.getJobOffer(deal.jobOfferId)?.signed.offer.module,
    });
    this.#transact(() => {
      this.#events.load();
      this.#market.load();
    });
    this.#public = publicClientFor(network.rpcUrl, network.chainId);
    this.#wallet = walletClientFor(network.rpcUrl, network.chainId, this.#options.privateKey);
    this.#agreements = agreeBatcher(this.#wallet, network);
    this.#follower = new ChainFollower({
      client: this.#public,
      address: network.deals,
      // A local chain is read as often as its client polls (clients.ts), so its events are seen at once.
      intervalMs: this.#options.pollIntervalMs ?? Math.min(1000, this.#public.pollingInterval),
      cursor: () => this.#store.getChainCursor(),
      startBlock: BigInt(network.deployBlock ?? 0),
      apply: (logs, toBlock) =>
        this.#transact(() => {
          this.#applyChainLogs(logs);
          this.#store.setChainCursor(toBlock);
        }),
    });
    // Catch up with the chain before answering anyone: deals may have moved while we were down.
    await this.#follower.poll();
    this.#follower.start();
    this.#app = await buildSolverApi(this);
    this.#url = await this.#app.listen({
      host: this.#options.host ?? '127.0.0.1',
      port: this.#options.port ?? 0,
    });
    // Proposals from before a restart get a fresh deadline, or their `agree` if both parties signed.
    for (const deal of this.#store.activeDeals()) {
      if (deal.status !== 'proposed') continue;
      if (deal.signatureJC && deal.signatureRP) void this.#submitAgree(deal);
      else this.#armProposalDeadline(deal.id);
    }
    this.#expiryTimer = setInterval(() => {
      this.#run(() => this.#market.expire()).catch((error: unknown) =>
        this.#log.error({ err: error }, 'expiry failed'),
      );
    }, this.#options.expiryIntervalMs ?? 1000);
    this.#expiryTimer.unref();
    this.#collectTimer = setInterval(
      () => void this.collectGarbage(),
      this.#options.collectIntervalMs ?? 60_000,
    );
    this.#collectTimer.unref();
    this.#log.info({ url: this.#url, address: this.address }, 'solver started');
    return this.#url;
  }

  async stop(): Promise<void> {
    clearInterval(this.#expiryTimer);
    clearInterval(this.#collectTimer);
    clearTimeout(this.#proposalTimer);
    await this.#follower?.stop();
    this.hub.closeAll();
    await this.#app?.close();
    if (this.#pending.length > 0) this.#flush();
    await this.#collecting;
    this.#store?.close();
  }

  logError(error: unknown): void {
    this.#log.error({ err: error }, 'request failed');
  }

  // ---- one queue, one commit per turn -------------------------------------------------------------

  /** Runs `op` with the other changes of this turn, in one transaction; resolves once committed. */
  #run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ op, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    const outcomes: ({ value: unknown } | { error: unknown })[] = [];
    try {
      this.#transact(() => {
        for (const { op } of batch) {
          try {
            outcomes.push({ value: op() });
          } catch (error) {
            // A refusal is decided before anything is written; anything else fails the whole batch.
            if (!(error instanceof LilypadError)) throw error;
            outcomes.push({ error });
          }
        }
      });
    } catch (error) {
      for (const { reject } of batch) reject(error);
      return;
    }
    batch.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i] as { value: unknown } | { error: unknown };
      if ('error' in outcome) reject(outcome.error);
      else resolve(outcome.value);
    });
  }

  /** One transaction; its events are sent once it commits. A failure rebuilds memory from the store. */
  #transact<T>(work: () => T): T {
    try {
      const value = this.#store.transaction(work);
      this.#events.flush();
      return value;
    } catch (error) {
      this.#log.error({ err: error }, 'transaction failed; reloading the market from the store');
      this.#events.discard();
      this.#store.transaction(() => this.#market.load());
      this.#events.flush();
      throw error;
    }
  }

  // ---- offers -------------------------------------------------------------------------------------

  /** With `private`, the deal's uploads are served to its members only (see contentRefusal). */
  async addJobOffer(signed: SignedJobOffer, options: { private?: boolean } = {}): Promise<JobOfferOutcome> {
    const { offer, signature } = signed;
    const id = this.#hashes.jobOfferId(offer);
    this.#checkOffer(offer, id, signature, offer.jobCreator, 'job creator');
    const job = { id, signed, createdAt: Date.now(), ...(options.private ? { private: true } : {}) };
    return this.#run(() => this.#market.addJobOffer(job));
  }

  async addResourceOffer(signed: SignedResourceOffer): Promise<ResourceOfferOutcome> {
    const { offer, signature } = signed;
    const id = this.#hashes.resourceOfferId(offer);
    this.#checkOffer(offer, id, signature, offer.resourceProvider, 'resource provider');
    return this.#run(() => this.#market.addResourceOffer({ id, signed, createdAt: Date.now() }));
  }

  cancelJobOffer(id: Hex, sender: Address) {
    return this.#run(() => this.#market.cancelJobOffer(id, sender));
  }

  cancelResourceOffer(id: Hex, sender: Address) {
    return this.#run(() => this.#market.cancelResourceOffer(id, sender));
  }

  /** An offer must name this solver, be unexpired, and be signed by the party it speaks for. */
  #checkOffer(
    offer: { solver: Address; expiry: bigint },
    id: Hex,
    signature: Hex,
    party: Address,
    role: string,
  ): void {
    if (offer.solver.toLowerCase() !== this.address.toLowerCase()) {
      throw new OfferRejectedError(`the offer names solver ${offer.solver}; this solver is ${this.address}`);
    }
    if (offer.expiry <= nowSeconds()) {
      throw new OfferRejectedError('the offer has expired', { hint: 'sign it with a later expiry' });
    }
    const signer = recoverSigner(id, signature);
    if (signer !== party.toLowerCase()) {
      throw new OfferRejectedError(
        `the offer is signed by ${signer ?? 'nobody'}, not by its ${role} ${party}`,
        {
          hint: 'sign the EIP-712 typed data of this offer, for this chain and deal contract',
        },
      );
    }
  }

  /** A job offer as stored, with a fresh reason while it waits. */
  jobOffer(id: Hex): StoredJobOffer | undefined {
    const job = this.#store.getJobOffer(id);
    if (job?.status !== 'queued') return job;
    return { ...job, reason: this.#market.whyWaiting(id) ?? job.reason };
  }

  // ---- proposals and agreement --------------------------------------------------------------------

  #armProposalDeadline(id: Hex): void {
    const timeout = this.#options.proposalTimeoutMs ?? 30_000;
    this.#proposalDeadlines.delete(id);
    this.#proposalDeadlines.set(id, Date.now() + timeout);
    if (!this.#proposalTimer) this.#scheduleProposalCheck(timeout);
  }

  #scheduleProposalCheck(ms: number): void {
    this.#proposalTimer = setTimeout(() => {
      this.#proposalTimer = undefined;
      const now = Date.now();
      const due: Hex[] = [];
      for (const [id, deadline] of this.#proposalDeadlines) {
        if (deadline > now) break;
        due.push(id);
        this.#proposalDeadlines.delete(id);
      }
      if (due.length > 0) {
        void this.#run(() => {
          for (const id of due) {
            const deal = this.#store.getDeal(id);
            if (deal?.status !== 'proposed') continue;
            if (deal.signatureJC && deal.signatureRP) continue; // agree is under way
            this.#market.cancelProposal(id, 'not signed by both parties in time', {
              jobCreator: !deal.signatureJC,
              resourceProvider: !deal.signatureRP,
            });
          }
        }).catch((error: unknown) => this.#log.error({ err: error }, 'proposal timeout failed'));
      }
      const next = this.#proposalDeadlines.values().next();
      if (!next.done) this.#scheduleProposalCheck(Math.max(10, next.value - now));
    }, ms);
    this.#proposalTimer.unref();
  }

  async addDealSignature(id: Hex, signature: Hex): Promise<StoredDeal> {
    const deal = this.#store.getDeal(id);
    if (!deal) throw new DealNotFoundError(`no deal ${id}`);
    const signer = recoverSigner(id, signature);
    const isJC = signer === deal.deal.jobCreator.toLowerCase();
    const isRP = signer === deal.deal.resourceProvider.toLowerCase();
    if (!isJC && !isRP) throw new OfferRejectedError(`${signer ?? 'nobody'} is not a party to deal ${id}`);
    const updated = await this.#run(() => {
      const current = this.#store.getDeal(id) as StoredDeal;
      if (current.status !== 'proposed') return current;
      const patch = isJC ? { signatureJC: signature } : { signatureRP: signature };
      this.#store.updateDeal(id, { ...patch, updatedAt: Date.now() });
      return { ...current, ...patch };
    });
    if (updated.status === 'proposed' && updated.signatureJC && updated.signatureRP) {
      void this.#submitAgree(updated);
    }
    return updated;
  }

  async #submitAgree(deal: StoredDeal): Promise<void> {
    if (this.#agreeing.has(deal.id)) return;
    this.#agreeing.add(deal.id);
    this.#proposalDeadlines.delete(deal.id);
    try {
      const { hash } = await this.#agreements.call({
        deal: deal.deal,
        sigJC: deal.signatureJC as Hex,
        sigRP: deal.signatureRP as Hex,
      });
      await this.#run(() => this.#store.updateDeal(deal.id, { agreeTx: hash, updatedAt: Date.now() }));
      await this.#follower.poll();
    } catch (error) {
      const reason = error instanceof LilypadError ? error.message : String(error);
      this.#log.warn({ dealId: deal.id, err: error }, 'agree failed');
      // Agreed after all (sent before a restart, or by a party)? Then the chain events will say so.
      await this.#follower.poll().catch(() => {});
      const onChain = await dealStatus(this.#public, this.network, deal.id).catch(() => undefined);
      if (onChain && onChain.state !== DealState.None) return;
      await this.#run(() =>
        this.#market.cancelProposal(deal.id, `agree failed: ${reason}`, {
          jobCreator: true,
          resourceProvider: false,
        }),
      );
    } finally {
      this.#agreeing.delete(deal.id);
    }
  }

  markRunning(id: Hex, sender: Address): Promise<StoredDeal> {
    return this.#run(() => {
      const deal = this.#store.getDeal(id);
      if (!deal) throw new DealNotFoundError(`no deal ${id}`);
      if (sender.toLowerCase() !== deal.deal.resourceProvider.toLowerCase()) {
        throw new OfferRejectedError(`${sender} is not the resource provider of deal ${id}`);
      }
      if (deal.status !== 'agreed') return deal;
      this.#store.updateDeal(id, { status: 'running', updatedAt: Date.now() });
      this.#publishDeal(deal, { type: 'deal:running', dealId: id });
      return { ...deal, status: 'running' };
    });
  }

  // ---- chain events -------------------------------------------------------------------------------

  /**
   * In log order. `ResultsSubmitted` is itself the transition to ResultsSubmitted (the contract emits no
   * DealStateChanged for it) and carries the result; the other transitions are `DealStateChanged`.
   */
  #applyChainLogs(logs: DealLog[]): void {
    for (const log of logs) {
      if (log.eventName === 'ResultsSubmitted') {
        const deal = this.#store.getDeal(log.args.dealId);
        if (!deal) continue;
        if (!deal.resultCID) {
          this.#store.updateDeal(deal.id, {
            resultCID: CID.decode(hexToBytes(log.args.resultCID)).toString(),
            instructionCount: log.args.instructionCount,
            cost: log.args.cost,
          });
        }
        this.#applyState(deal.id, DealState.ResultsSubmitted, log.transactionHash);
      } else if (log.eventName === 'DealStateChanged') {
        this.#applyState(log.args.dealId, Number(log.args.state), log.transactionHash);
      }
    }
  }

  /** Idempotent: a state the store already has is skipped, so re-read logs do nothing. */
  #applyState(id: Hex, state: number, txHash: Hex): void {
    const deal = this.#store.getDeal(id);
    if (!deal || deal.chainState >= state) return;
    const now = Date.now();
    if (state === DealState.Agreed) {
      this.#proposalDeadlines.delete(id);
      this.#store.updateDeal(id, { status: 'agreed', chainState: state, agreeTx: txHash, updatedAt: now });
    } else if (state === DealState.ResultsSubmitted) {
      this.#store.updateDeal(id, { status: 'results-submitted', chainState: state, updatedAt: now });
      // The provider's work is done: its capacity goes back on the market.
      this.#market.releaseResourceOffer(deal);
    } else if (isFinal(state)) {
      this.#market.dealSettled(deal, state);
    } else {
      this.#store.updateDeal(id, { chainState: state, updatedAt: now });
    }
    const updated = this.#store.getDeal(id) as StoredDeal;
    this.#log.info({ dealId: id, state }, 'deal state');
    this.#publishDeal(updated, this.#eventFor(updated));
  }

  // ---- events -------------------------------------------------------------------------------------

  /** The event that describes a deal's current state: what a party that (re)connects needs to act. */
  #eventFor(deal: StoredDeal): SolverEvent {
    switch (deal.status) {
      case 'proposed':
        return this.#proposedEvent(deal);
      case 'agreed':
        return { type: 'deal:agreed', dealId: deal.id, txHash: deal.agreeTx as Hex };
      case 'running':
        return { type: 'deal:running', dealId: deal.id };
      case 'results-submitted':
        return {
          type: 'deal:results-submitted',
          dealId: deal.id,
          resultCID: deal.resultCID as string,
          instructionCount: deal.instructionCount ?? 0n,
          cost: deal.cost ?? 0n,
        };
      case 'settled':
        return { type: 'deal:settled', dealId: deal.id, state: deal.chainState };
      case 'cancelled':
        return { type: 'deal:cancelled', dealId: deal.id, reason: deal.reason ?? 'cancelled' };
    }
  }

  #proposedEvent(deal: StoredDeal): SolverEvent {
    const jobOffer = this.#store.getJobOffer(deal.jobOfferId);
    const resourceOffer = this.#store.getResourceOffer(deal.resourceOfferId);
    if (!jobOffer || !resourceOffer) throw new Error(`deal ${deal.id} lost its offers`);
    return {
      type: 'deal:proposed',
      dealId: deal.id,
      deal: deal.deal,
      jobOffer: jobOffer.signed,
      resourceOffer: resourceOffer.signed,
    };
  }

  #publishDeal(deal: StoredDeal, event: SolverEvent): void {
    this.#events.publish([deal.deal.jobCreator, deal.deal.resourceProvider], event);
  }

  /**
   * What a party that (re)connects is sent: the events after `since` when the log still has them all,
   * else the current state of its deals and waiting jobs, stamped with its last seq.
   */
  eventsOnConnect(address: Address, since: number | undefined): SequencedEvent[] {
    if (since !== undefined) {
      const missed = this.#events.replay(address, since, (dealId) => {
        const deal = this.#store.getDeal(dealId);
        return deal && this.#proposedEvent(deal);
      });
      if (missed) return missed;
    }
    const seq = this.#events.lastSeq(address);
    const events: SolverEvent[] = [];
    for (const id of this.#market.activeDealIds(address)) {
      const deal = this.#store.getDeal(id);
      if (deal) events.push(this.#eventFor(deal));
    }
    for (const job of this.#market.waitingJobs(address)) {
      const reason = this.#market.whyWaiting(job.id) ?? job.reason ?? 'waiting for a match';
      events.push({ type: 'job:queued', jobOfferId: job.id, reason });
    }
    return events.map((event) => ({ seq, event }));
  }

  // ---- housekeeping -------------------------------------------------------------------------------

  /** Collects the content of finished deals past their retention, and events past theirs. */
  collectGarbage(now = Date.now()): Promise<void> {
    this.#collecting ??= (async () => {
      try {
        const collected = await this.#directory.collect(now);
        if (collected.deals > 0 || collected.modules > 0)
          this.#log.info(collected, 'directory: collected finished deals and unused published modules');
        this.#store.pruneEvents(now - (this.#options.eventRetentionMs ?? 7 * 24 * 3600 * 1000));
      } catch (error) {
        this.#log.error({ err: error }, 'collection failed');
      } finally {
        this.#collecting = undefined;
      }
    })();
    return this.#collecting;
  }
}
