/**
 * The market simulator: a deterministic discrete-event, agent-based model of the network.
 *
 * Each round, job creators post jobs at random times in the round's window. The solver matches each with the
 * project's matching rule (`offer-index.ts`, or `matchJob` itself) and derives the deal with `deriveDeal`;
 * then the deal runs through the protocol's states in simulated time, every party acting by its strategy
 * (`strategies.ts`) and every movement of money made by the protocol's reference model
 * (`src/protocol/settlement.ts`, through `ledger.ts`). A resource offer is busy from its match until its deal
 * settles, as in the solver. A round ends when its last deal has settled; adaptive agents then learn from it.
 *
 * Simulated time is whole seconds (block timestamps); a timeout fires the second after its deadline, which is
 * when the contract first allows it. Nothing reads the clock or Math.random: the seed decides everything.
 */
import type { Address, Hex } from 'viem';
import { DealState } from '../protocol/deal-states.js';
import { deriveDeal } from '../protocol/derive-deal.js';
import type { Deal, JobOffer } from '../protocol/eip712.js';
import { jobCost, resultsCollateral } from '../protocol/pricing.js';
import * as settlement from '../protocol/settlement.js';
import type { StoredResourceOffer } from '../solver/store.js';
import {
  buildPopulation,
  type JobCreatorAgent,
  type MediatorAgent,
  type Population,
  type ProviderAgent,
  simId,
} from './agents.js';
import { EventQueue, type Timed } from './event-queue.js';
import { type EscrowAccount, SimLedger } from './ledger.js';
import { OfferIndex, type OfferMatcher } from './offer-index.js';
import { Random } from './random.js';
import { ReferenceMatcher } from './reference-matcher.js';
import {
  type GroupStats,
  noOutcomes,
  type Outcome,
  type RoundStats,
  type RunResult,
  type RunSummary,
  tidy,
} from './results.js';
import type { Scenario } from './scenario.js';
import { judge, mediatorVote, type ProviderAction, providerAction, type Verdict } from './strategies.js';
import { detectionProbability, deterrence, expectedPayoffs, toLP } from './theory.js';

export type SimulateOptions = {
  /** `indexed` (default): the fast equivalent of the solver's matching; `reference`: `matchJob` itself. */
  matcher?: 'indexed' | 'reference';
  /** Keep every deal's steps, e.g. to replay them on a chain. Memory grows with the number of jobs. */
  trace?: boolean;
  /** Called after each round. */
  onRound?: (done: number, total: number) => void;
};

/** One step of a deal, as the contract would see it; `at` is the simulated second. */
export type TraceEvent =
  | { step: 'agree'; at: number }
  | { step: 'submitResult'; at: number; instructionCount: bigint }
  | { step: 'timeoutSubmit'; at: number }
  | { step: 'accept'; at: number }
  | { step: 'timeoutJudge'; at: number }
  | { step: 'challenge'; at: number; drawn: Address[] }
  | { step: 'vote'; at: number; mediator: Address; verdict: Verdict }
  | { step: 'verdictAccepted'; at: number; paid: Address[] }
  | { step: 'verdictRejected'; at: number; paid: Address[] }
  | { step: 'timeoutMediate'; at: number; silent: Address[] };

/** A step and its place in the whole run: steps of all deals sorted by `seq` replay the run in order. */
export type TraceStep = TraceEvent & { seq: number };

export type DealTrace = {
  deal: Deal;
  action: ProviderAction;
  outcome: Outcome | undefined;
  steps: TraceStep[];
};

export type Simulation = {
  result: RunResult;
  /** The escrow at the end: every account's free and locked balance. */
  ledger: SimLedger;
  population: Population;
  /** Every deal's steps, in the order the deals were agreed (empty unless `trace`). */
  traces: DealTrace[];
};

type SimJob = { jobCreator: JobCreatorAgent; offer: JobOffer; id: Hex };

type SimDeal = {
  job: SimJob;
  provider: ProviderAgent;
  resourceOffer: StoredResourceOffer;
  deal: Deal;
  /** The escrow accounts of the job creator and the provider. */
  parties: [EscrowAccount, EscrowAccount];
  action: ProviderAction;
  state: DealState;
  agreedAt: number;
  resultsAt: number;
  cost: bigint;
  drawn: MediatorAgent[];
  votes: { mediator: MediatorAgent; verdict: Verdict }[];
  /** The provider's escrow change from this deal so far. */
  providerNet: bigint;
  trace: DealTrace | undefined;
};

type SimEvent = Timed &
  (
    | { kind: 'submit'; deal: SimDeal }
    | { kind: 'timeoutSubmit'; deal: SimDeal }
    | { kind: 'judge'; deal: SimDeal }
    | { kind: 'timeoutJudge'; deal: SimDeal }
    | { kind: 'vote'; deal: SimDeal; mediator: MediatorAgent; verdict: Verdict }
    | { kind: 'timeoutMediate'; deal: SimDeal }
  );

/** A round's jobs before they arrive: job creator and time by posting order, and the order of arrival. */
type Arrivals = { creator: Int32Array; time: Float64Array; order: Int32Array; firstIndex: number };

/** Arrays a deal fills only if it is challenged. */
const NONE: never[] = [];

/** Runs a scenario to the end. Same scenario (seed included) → same result, byte for byte. */
export function simulate(scenario: Scenario, options: SimulateOptions = {}): Simulation {
  return new Market(scenario, options).run();
}

class Market {
  readonly #s: Scenario;
  readonly #options: SimulateOptions;
  readonly #population: Population;
  readonly #ledger = new SimLedger();
  readonly #matcher: OfferMatcher;
  readonly #events = new EventQueue<SimEvent>();
  readonly #random: { arrivals: Random; providers: Random; jobCreators: Random; mediators: Random };
  readonly #traces: DealTrace[] = [];
  readonly #providerByOffer = new Map<StoredResourceOffer, ProviderAgent>();
  /** Jobs waiting for an offer, oldest first; matched ones leave holes until the next compaction. */
  #queue: (SimJob | undefined)[] = [];
  #queueHead = 0;
  #now = 0;
  #jobCount = 0;
  #traceSeq = 0;
  #round!: RoundStats;
  readonly #rounds: RoundStats[] = [];
  readonly #totals = {
    cheatsCaught: 0,
    wrongResultsAccepted: 0,
    falseChallenges: 0,
    wrongVerdicts: 0,
    checks: 0,
    challenges: 0,
    challengesRefused: 0,
    providersBroke: 0,
  };
  // The scenario's numbers, converted once.
  readonly #instructionCount: bigint;
  readonly #durations: { compute: number; judge: number; mediate: number };
  readonly #timeouts: { submit: number; judge: number; mediate: number };

  constructor(scenario: Scenario, options: SimulateOptions) {
    this.#s = scenario;
    this.#options = options;
    const root = new Random(scenario.seed);
    this.#population = buildPopulation(scenario, root.stream('population'), this.#ledger);
    for (const provider of this.#population.providers) {
      for (const offer of provider.offers) this.#providerByOffer.set(offer, provider);
    }
    this.#matcher = options.matcher === 'reference' ? new ReferenceMatcher() : new OfferIndex();
    this.#random = {
      arrivals: root.stream('arrivals'),
      providers: root.stream('providers'),
      jobCreators: root.stream('job-creators'),
      mediators: root.stream('mediators'),
    };
    this.#instructionCount = BigInt(scenario.instructions);
    this.#durations = scenario.durations;
    this.#timeouts = scenario.timeouts;
  }

  run(): Simulation {
    const s = this.#s;
    const { jobCreators, providers, mediators } = this.#population;
    for (const agent of [...jobCreators, ...providers, ...mediators])
      this.#ledger.deposit(agent.address, agent.deposit);
    if (s.mediation.stake > 0n) for (const m of mediators) this.#ledger.stake(m.address, s.mediation.stake);
    for (const provider of providers) for (const offer of provider.offers) this.#matcher.open(offer);

    let roundStart = 0;
    for (let r = 0; r < s.rounds; r++) {
      this.#round = {
        round: r,
        jobs: 0,
        deals: 0,
        unmatched: 0,
        unfunded: 0,
        cheats: 0,
        adaptiveDeals: 0,
        adaptiveCheats: 0,
        outcomes: noOutcomes(),
        endSeconds: 0,
      };
      this.#drain(this.#arrivals(roundStart));
      // Nothing is in flight: a job still queued can never be matched.
      for (let i = this.#queueHead; i < this.#queue.length; i++) if (this.#queue[i]) this.#round.unmatched++;
      this.#queue = [];
      this.#queueHead = 0;
      this.#round.endSeconds = this.#now;
      this.#rounds.push(this.#round);
      for (const learner of new Set(providers.map((p) => p.learner))) learner?.endRound();
      roundStart = Math.max(this.#now, roundStart + s.roundSeconds);
      this.#options.onRound?.(r + 1, s.rounds);
    }
    return {
      result: this.#result(),
      ledger: this.#ledger,
      population: this.#population,
      traces: this.#traces,
    };
  }

  /**
   * The round's jobs: a job creator and a time each, drawn in posting order, then sorted by time (ties in
   * posting order). They stay numbers until they arrive: a round can post many thousands.
   */
  #arrivals(roundStart: number): Arrivals {
    const count = this.#s.jobsPerRound;
    const random = this.#random.arrivals;
    const jobCreators = this.#population.jobCreators.length;
    const creator = new Int32Array(count);
    const time = new Float64Array(count);
    for (let j = 0; j < count; j++) {
      creator[j] = random.int(jobCreators);
      time[j] = roundStart + random.int(this.#s.roundSeconds);
    }
    const order = new Int32Array(count);
    for (let j = 0; j < count; j++) order[j] = j;
    order.sort((a, b) => (time[a] as number) - (time[b] as number) || a - b);
    const firstIndex = this.#jobCount;
    this.#jobCount += count;
    return { creator, time, order, firstIndex };
  }

  /**
   * Runs the round's events in time order: the next arrival or the next scheduled event, the arrival first on
   * a tie (it was posted before anything the round scheduled).
   */
  #drain(arrivals: Arrivals): void {
    const { creator, time, order, firstIndex } = arrivals;
    let next = 0;
    for (;;) {
      const top = this.#events.peek();
      const j = order[next];
      if (j !== undefined && (top === undefined || (time[j] as number) <= top.time)) {
        next++;
        this.#now = time[j] as number;
        const jobCreator = this.#population.jobCreators[creator[j] as number] as JobCreatorAgent;
        this.#round.jobs++;
        this.#queue.push({ jobCreator, offer: jobCreator.offer, id: simId(0x0a, firstIndex + j) });
        this.#matchPass();
        continue;
      }
      const event = this.#events.pop();
      if (!event) return;
      this.#now = event.time;
      switch (event.kind) {
        case 'submit':
          this.#submit(event.deal);
          break;
        case 'timeoutSubmit':
          this.#timeoutSubmit(event.deal);
          break;
        case 'judge':
          this.#judge(event.deal);
          break;
        case 'timeoutJudge':
          this.#timeoutJudge(event.deal);
          break;
        case 'vote':
          this.#vote(event.deal, event.mediator, event.verdict);
          break;
        case 'timeoutMediate':
          this.#timeoutMediate(event.deal);
          break;
      }
    }
  }

  // ---- the solver ---------------------------------------------------------------------------------------------

  /** The solver's pass over its queue: every waiting job, oldest first, against the open offers. */
  #matchPass(): void {
    const queue = this.#queue;
    const now = BigInt(this.#now);
    for (let i = this.#queueHead; i < queue.length && this.#matcher.openCount > 0; i++) {
      const job = queue[i];
      if (!job) continue;
      const offer = this.#matcher.take(job.offer, now, job.jobCreator.jobClass);
      if (!offer) continue;
      offer.status = 'busy';
      const started = this.#agree(job, offer);
      if (started === 'provider-broke')
        i--; // the same job tries the next offer
      else queue[i] = undefined;
    }
    while (this.#queueHead < queue.length && queue[this.#queueHead] === undefined) this.#queueHead++;
    if (this.#queueHead > 1024 && this.#queueHead * 2 > queue.length) {
      this.#queue = queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  // ---- deal steps ---------------------------------------------------------------------------------------------

  #step<S extends settlement.Step>(
    d: SimDeal,
    parties: readonly EscrowAccount[],
    transition: (l: settlement.Ledger) => S,
  ): S {
    const step = this.#ledger.apply(parties, transition);
    const change = step.changes.get(d.provider.escrow.key);
    if (change) d.providerNet += change.free + change.locked;
    return step;
  }

  #agree(job: SimJob, resourceOffer: StoredResourceOffer): 'agreed' | 'unfunded' | 'provider-broke' {
    const provider = this.#providerOf(resourceOffer);
    const deal = deriveDeal({
      jobOffer: job.offer,
      jobOfferId: job.id,
      resourceOffer: resourceOffer.signed.offer,
      resourceOfferId: resourceOffer.id,
    });
    // deriveDeal fixes k = n = 1 until offers carry k-of-n terms: the scenario's consortium goes into the deal.
    deal.mediatorsDrawn = this.#s.mediation.n;
    deal.verdictsNeeded = this.#s.mediation.k;
    if (provider.escrow.balance.free < deal.timeoutCollateral) {
      this.#retire(provider, resourceOffer);
      return 'provider-broke';
    }
    if (job.jobCreator.escrow.balance.free < deal.paymentCollateral) {
      this.#round.unfunded++;
      this.#release(provider, resourceOffer);
      return 'unfunded';
    }
    const d: SimDeal = {
      job,
      provider,
      resourceOffer,
      deal,
      parties: [job.jobCreator.escrow, provider.escrow],
      action: providerAction(provider, this.#random.providers),
      state: DealState.Agreed,
      agreedAt: this.#now,
      resultsAt: 0,
      cost: 0n,
      drawn: NONE,
      votes: NONE,
      providerNet: 0n,
      trace: undefined,
    };
    if (this.#options.trace) {
      d.trace = { deal, action: d.action, outcome: undefined, steps: [] };
      this.#traces.push(d.trace);
    }
    this.#step(d, d.parties, (l) => settlement.agree(l, deal));
    if (d.trace) this.#trace(d, { step: 'agree', at: this.#now });
    this.#round.deals++;
    job.jobCreator.deals++;
    provider.deals++;
    if (d.action === 'cheat') {
      this.#round.cheats++;
      provider.cheats++;
    }
    if (provider.learner) {
      this.#round.adaptiveDeals++;
      if (d.action === 'cheat') this.#round.adaptiveCheats++;
    }
    if (d.action === 'lazy') {
      this.#events.push(this.#now + this.#timeouts.submit + 1, {
        time: 0,
        seq: 0,
        kind: 'timeoutSubmit',
        deal: d,
      });
    } else {
      const costs = this.#s.costs;
      provider.spent += d.action === 'cheat' ? costs.compute - costs.cheatSaving : costs.compute;
      if (this.#durations.compute <= this.#timeouts.submit) {
        this.#events.push(this.#now + this.#durations.compute, { time: 0, seq: 0, kind: 'submit', deal: d });
      } else {
        this.#events.push(this.#now + this.#timeouts.submit + 1, {
          time: 0,
          seq: 0,
          kind: 'timeoutSubmit',
          deal: d,
        });
      }
    }
    return 'agreed';
  }

  #submit(d: SimDeal): void {
    const { deal } = d;
    const provider = d.provider.escrow.balance;
    const needed = resultsCollateral(deal, jobCost(deal, this.#instructionCount));
    if (provider.free + deal.timeoutCollateral < needed) {
      // It cannot lock R: the result is never posted, and the deal times out.
      this.#retire(d.provider, undefined);
      this.#events.push(d.agreedAt + this.#timeouts.submit + 1, {
        time: 0,
        seq: 0,
        kind: 'timeoutSubmit',
        deal: d,
      });
      return;
    }
    const step = this.#step(d, [d.provider.escrow], (l) =>
      settlement.submitResult(l, deal, this.#instructionCount),
    );
    d.cost = step.cost;
    d.state = DealState.ResultsSubmitted;
    d.resultsAt = this.#now;
    if (d.trace)
      this.#trace(d, { step: 'submitResult', at: this.#now, instructionCount: this.#instructionCount });
    if (d.job.jobCreator.strategy.strategy === 'silent' || this.#durations.judge > this.#timeouts.judge) {
      this.#events.push(this.#now + this.#timeouts.judge + 1, {
        time: 0,
        seq: 0,
        kind: 'timeoutJudge',
        deal: d,
      });
    } else {
      this.#events.push(this.#now + this.#durations.judge, { time: 0, seq: 0, kind: 'judge', deal: d });
    }
  }

  /** Records a step of a traced deal (callers check `d.trace` first: most runs trace nothing). */
  #trace(d: SimDeal, event: TraceEvent): void {
    d.trace?.steps.push({ ...event, seq: this.#traceSeq++ });
  }

  #timeoutSubmit(d: SimDeal): void {
    if (d.state !== DealState.Agreed) return;
    this.#step(d, d.parties, (l) => settlement.timeoutSubmit(l, d.deal));
    if (d.trace) this.#trace(d, { step: 'timeoutSubmit', at: this.#now });
    this.#settle(d, 'TimedOutSubmit');
  }

  #judge(d: SimDeal): void {
    const jobCreator = d.job.jobCreator;
    const wrong = d.action === 'cheat';
    const judgement = judge(jobCreator, wrong, this.#random.jobCreators);
    if (judgement.kind === 'silent') {
      this.#events.push(d.resultsAt + this.#timeouts.judge + 1, {
        time: 0,
        seq: 0,
        kind: 'timeoutJudge',
        deal: d,
      });
      return;
    }
    if (judgement.checked) {
      this.#totals.checks++;
      jobCreator.spent += this.#s.costs.check;
    }
    // The contract refuses a challenge the job creator cannot pay F for, or with too few eligible mediators.
    const eligible = judgement.kind === 'challenge' ? this.#eligibleMediators(d.deal) : [];
    const refused =
      judgement.kind === 'challenge' &&
      (jobCreator.escrow.balance.free < d.deal.mediationFee || eligible.length < d.deal.mediatorsDrawn);
    if (refused) this.#totals.challengesRefused++;
    if (judgement.kind === 'accept' || refused) {
      this.#step(d, d.parties, (l) => settlement.accept(l, d.deal, d.cost));
      if (d.trace) this.#trace(d, { step: 'accept', at: this.#now });
      this.#settle(d, 'Accepted');
      return;
    }
    this.#challenge(d, eligible);
  }

  /** The deal's mediators the contract may draw: registered (all simulated ones are) with a stake of at least F. */
  #eligibleMediators(deal: Deal): MediatorAgent[] {
    const eligible: MediatorAgent[] = [];
    for (const address of deal.mediators) {
      const mediator = this.#population.mediatorByAddress.get(address.toLowerCase());
      if (mediator && mediator.escrow.stake >= deal.mediationFee && !eligible.includes(mediator)) {
        eligible.push(mediator);
      }
    }
    return eligible;
  }

  /** Drawn mediators in the deal's `mediators` order: the order the contract pays and slashes them in. */
  #inDealOrder(d: SimDeal, mediators: readonly MediatorAgent[]): MediatorAgent[] {
    return d.drawn
      .filter((m) => mediators.includes(m))
      .sort((a, b) => d.deal.mediators.indexOf(a.address) - d.deal.mediators.indexOf(b.address));
  }

  #timeoutJudge(d: SimDeal): void {
    if (d.state !== DealState.ResultsSubmitted) return;
    this.#step(d, d.parties, (l) => settlement.timeoutJudge(l, d.deal, d.cost));
    if (d.trace) this.#trace(d, { step: 'timeoutJudge', at: this.#now });
    this.#settle(d, 'Accepted');
  }

  #challenge(d: SimDeal, eligible: MediatorAgent[]): void {
    const { deal } = d;
    this.#step(d, d.parties, (l) => settlement.challenge(l, deal));
    d.state = DealState.Challenged;
    this.#totals.challenges++;
    if (d.action !== 'cheat') this.#totals.falseChallenges++;
    // The contract draws n with on-chain randomness; the simulator with its own stream.
    d.drawn = this.#random.mediators.sample(eligible, deal.mediatorsDrawn);
    d.votes = [];
    if (d.trace) this.#trace(d, { step: 'challenge', at: this.#now, drawn: d.drawn.map((m) => m.address) });
    const wrong = d.action === 'cheat';
    for (const mediator of d.drawn) {
      mediator.deals++;
      const vote = mediatorVote(mediator, wrong, this.#durations.mediate);
      if (!vote) continue;
      if (vote.reran) mediator.spent += this.#s.costs.mediate;
      if (vote.delay <= this.#timeouts.mediate) {
        this.#events.push(this.#now + vote.delay, {
          time: 0,
          seq: 0,
          kind: 'vote',
          deal: d,
          mediator,
          verdict: vote.verdict,
        });
      }
    }
    this.#events.push(this.#now + this.#timeouts.mediate + 1, {
      time: 0,
      seq: 0,
      kind: 'timeoutMediate',
      deal: d,
    });
  }

  /** A vote arrives; the first verdict to gather k votes decides, and its first k voters are paid. */
  #vote(d: SimDeal, mediator: MediatorAgent, verdict: Verdict): void {
    if (d.state !== DealState.Challenged) return;
    d.votes.push({ mediator, verdict });
    if (d.trace) this.#trace(d, { step: 'vote', at: this.#now, mediator: mediator.address, verdict });
    const agreeing = d.votes.filter((v) => v.verdict === verdict).map((v) => v.mediator);
    if (agreeing.length < d.deal.verdictsNeeded) return;
    const deciding = this.#inDealOrder(d, agreeing);
    const paid = deciding.map((m) => m.address);
    const parties = [...d.parties, ...deciding.map((m) => m.escrow)];
    const wrong = d.action === 'cheat';
    if ((verdict === 'wrong') !== wrong) this.#totals.wrongVerdicts++;
    if (verdict === 'correct') {
      this.#step(d, parties, (l) => settlement.verdictAccepted(l, d.deal, d.cost, paid));
      if (d.trace) this.#trace(d, { step: 'verdictAccepted', at: this.#now, paid });
      this.#settle(d, 'MediationAccepted');
    } else {
      this.#step(d, parties, (l) => settlement.verdictRejected(l, d.deal, d.cost, paid));
      if (d.trace) this.#trace(d, { step: 'verdictRejected', at: this.#now, paid });
      this.#settle(d, 'MediationRejected');
    }
  }

  #timeoutMediate(d: SimDeal): void {
    if (d.state !== DealState.Challenged) return;
    const voted = new Set(d.votes.map((v) => v.mediator));
    const absent = this.#inDealOrder(
      d,
      d.drawn.filter((m) => !voted.has(m)),
    );
    const silent = absent.map((m) => m.address);
    this.#step(d, [...d.parties, ...absent.map((m) => m.escrow)], (l) =>
      settlement.timeoutMediate(l, d.deal, d.cost, silent),
    );
    if (d.trace) this.#trace(d, { step: 'timeoutMediate', at: this.#now, silent });
    this.#settle(d, 'TimedOutMediate');
  }

  #settle(d: SimDeal, outcome: Outcome): void {
    d.state = DealState[outcome];
    this.#round.outcomes[outcome]++;
    if (d.trace) d.trace.outcome = outcome;
    if (d.action === 'cheat') {
      if (outcome === 'MediationRejected') this.#totals.cheatsCaught++;
      if (outcome === 'Accepted' || outcome === 'MediationAccepted') this.#totals.wrongResultsAccepted++;
    }
    const { provider } = d;
    if (provider.learner && d.action !== 'lazy') {
      const costs = this.#s.costs;
      const spent = d.action === 'cheat' ? costs.compute - costs.cheatSaving : costs.compute;
      provider.learner.record(d.action, toLP(d.providerNet - spent));
    }
    this.#release(provider, d.resourceOffer);
    this.#matchPass();
  }

  // ---- offers -------------------------------------------------------------------------------------------------

  #providerOf(offer: StoredResourceOffer): ProviderAgent {
    return this.#providerByOffer.get(offer) as ProviderAgent;
  }

  /** The offer is free again (the solver reopens it when its deal settles), unless its provider left. */
  #release(provider: ProviderAgent, offer: StoredResourceOffer): void {
    if (!provider.active) {
      offer.status = 'cancelled';
      return;
    }
    offer.status = 'open';
    this.#matcher.open(offer);
  }

  /** A provider that cannot cover its collateral leaves: its open offers are withdrawn. */
  #retire(provider: ProviderAgent, busy: StoredResourceOffer | undefined): void {
    if (!provider.active) return;
    provider.active = false;
    this.#totals.providersBroke++;
    for (const offer of provider.offers) {
      if (offer.status === 'open') this.#matcher.close(offer);
      if (offer.status === 'open' || offer === busy) offer.status = 'cancelled';
    }
  }

  // ---- results ------------------------------------------------------------------------------------------------

  #result(): RunResult {
    const s = this.#s;
    const rounds = this.#rounds;
    const sum = (f: (r: RoundStats) => number) => rounds.reduce((acc, r) => acc + f(r), 0);
    const outcomes = noOutcomes();
    for (const r of rounds) for (const o of Object.keys(outcomes) as Outcome[]) outcomes[o] += r.outcomes[o];
    const deals = sum((r) => r.deals);
    const cheats = sum((r) => r.cheats);
    const adaptiveProviders = this.#population.providers.filter((p) => p.learner).length;
    const late = rounds.slice(Math.floor(rounds.length / 2));
    const rate = (a: number, b: number) => (b === 0 ? 0 : a / b);
    const theory = deterrence(s);
    const p = detectionProbability(s);
    const expected = expectedPayoffs(theory, p);
    const summary: RunSummary = {
      jobs: sum((r) => r.jobs),
      deals,
      unmatched: sum((r) => r.unmatched),
      unfunded: sum((r) => r.unfunded),
      outcomes,
      cheats,
      cheatingRate: tidy(rate(cheats, deals)),
      ...this.#totals,
      adaptive:
        adaptiveProviders === 0
          ? null
          : {
              providers: adaptiveProviders,
              deals: sum((r) => r.adaptiveDeals),
              cheatingRate: tidy(
                rate(
                  late.reduce((a, r) => a + r.adaptiveCheats, 0),
                  late.reduce((a, r) => a + r.adaptiveDeals, 0),
                ),
              ),
              cheatingRateAllRounds: tidy(
                rate(
                  sum((r) => r.adaptiveCheats),
                  sum((r) => r.adaptiveDeals),
                ),
              ),
              payoffPerDeal: this.#learntPayoffs(),
            },
      detectionProbability: tidy(p),
      theory: {
        payment: tidy(theory.payment),
        collateral: tidy(theory.collateral),
        saving: tidy(theory.saving),
        compute: tidy(theory.compute),
        threshold: tidy(theory.threshold),
        cheatingPays: p * (theory.payment + theory.collateral) < theory.saving,
        expectedPayoffHonest: tidy(expected.honest),
        expectedPayoffCheat: tidy(expected.cheat),
      },
      simulatedSeconds: this.#now,
      escrowHeld: tidy(toLP(this.#ledger.held)),
      escrowInvariantHolds: this.#ledger.invariantHolds(),
    };
    return { scenario: s.name, seed: s.seed, summary, rounds, groups: this.#groups() };
  }

  /** What adaptive providers earned per deal with each action, over all their learners. */
  #learntPayoffs(): { honest: number | null; cheat: number | null } {
    const learners = new Set(this.#population.providers.map((p) => p.learner));
    const total = { honest: { sum: 0, jobs: 0 }, cheat: { sum: 0, jobs: 0 } };
    for (const learner of learners) {
      if (!learner) continue;
      const beliefs = learner.beliefs();
      for (const action of ['honest', 'cheat'] as const) {
        total[action].sum += beliefs[action].mean * beliefs[action].jobs;
        total[action].jobs += beliefs[action].jobs;
      }
    }
    const mean = (a: { sum: number; jobs: number }) => (a.jobs === 0 ? null : tidy(a.sum / a.jobs));
    return { honest: mean(total.honest), cheat: mean(total.cheat) };
  }

  #groups(): GroupStats[] {
    const { jobCreators, providers, mediators, labels } = this.#population;
    const s = this.#s;
    const groups: GroupStats[] = [];
    const add = (
      role: GroupStats['role'],
      groupLabels: string[],
      strategies: { strategy: string }[],
      agents: (JobCreatorAgent | ProviderAgent | MediatorAgent)[],
    ) => {
      groupLabels.forEach((label, group) => {
        const members = agents.filter((a) => a.group === group);
        let escrow = 0n;
        let spent = 0n;
        let deals = 0;
        let cheats = 0;
        for (const a of members) {
          escrow += this.#ledger.totalOf(a.address) - a.deposit;
          spent += a.spent;
          deals += a.deals;
          cheats += a.cheats;
        }
        const payoff = toLP(escrow - spent);
        groups.push({
          role,
          label,
          strategy: (strategies[group] as { strategy: string }).strategy,
          agents: members.length,
          deals,
          cheats,
          payoff: tidy(payoff),
          payoffPerAgent: tidy(members.length === 0 ? 0 : payoff / members.length),
          payoffPerDeal: tidy(deals === 0 ? 0 : payoff / deals),
          escrowChange: tidy(toLP(escrow)),
          spent: tidy(toLP(spent)),
        });
      });
    };
    add('job-creator', labels.jobCreators, s.population.jobCreators, jobCreators);
    add('resource-provider', labels.providers, s.population.resourceProviders, providers);
    add('mediator', labels.mediators, s.population.mediators, mediators);
    return groups;
  }
}
