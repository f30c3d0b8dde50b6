/**
 * Keeps exactly `slots` resource offers open at the solver for each offer group (the default price, and one
 * group per module with a price of its own). An offer busy with a deal comes back to the market when its
 * result is submitted, so it still counts. Offers are recorded in the state store: a restarted provider takes
 * back those the solver still holds (and withdraws those that no longer match its flags) instead of doubling
 * them. Offers are renewed before they expire, so a provider can run for weeks.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Hex } from 'viem';
import type { ResourceOffer } from '../protocol/eip712.js';
import type { SolverClient } from '../protocol/solver-client.js';
import { resourceOfferSchema, toWire } from '../protocol/wire.js';
import type { ResourceProviderPricing } from './pricing.js';
import type { ProviderStore } from './state-store.js';

export type OfferTerms = Omit<ResourceOffer, 'nonce' | 'expiry'>;

export type OfferKeeperOptions = {
  solver: SolverClient;
  store: ProviderStore;
  logger: Logger;
  slots: number;
  ttlSeconds: number;
  groups: { pricing: ResourceProviderPricing; modules: string[] }[];
  /** The terms of a group's offers (all but nonce and expiry). */
  terms: (group: { pricing: ResourceProviderPricing; modules: string[] }) => OfferTerms;
  sign: (offer: ResourceOffer) => Promise<Hex>;
  /** The offer's id (its EIP-712 hash), as the solver will name it. */
  idOf: (offer: ResourceOffer) => Hex;
};

/**
 * An offer's terms in one canonical form (the wire schema's field order, checksummed addresses): an offer read
 * back from the store and the terms built from the flags (whose spec may list its fields in another order)
 * compare equal when they say the same.
 */
const termsKey = (offer: OfferTerms | ResourceOffer) => {
  const canonical = resourceOfferSchema.parse(toWire({ ...offer, nonce: 0n, expiry: 0n }));
  const { nonce: _n, expiry: _e, ...terms } = canonical;
  return JSON.stringify(toWire(terms));
};

export class OfferKeeper {
  readonly #options: OfferKeeperOptions;
  readonly #terms: OfferTerms[];
  /** Open (or busy) offers by id, with the index of their group. */
  readonly #open = new Map<Hex, { offer: ResourceOffer; group: number }>();
  #maintaining: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: OfferKeeperOptions) {
    this.#options = options;
    this.#terms = options.groups.map((group) => options.terms(group));
  }

  get count(): number {
    return this.#open.size;
  }

  /** Takes back the offers the solver still holds, then opens what is missing. */
  async start(): Promise<void> {
    const { solver, store } = this.#options;
    const keys = this.#terms.map(termsKey);
    for (const { id, offer } of store.offers()) {
      const view = await solver.getResourceOffer(id).catch(() => undefined);
      const group = keys.indexOf(termsKey(offer));
      const alive = view?.status === 'open' || view?.status === 'busy';
      if (alive && group >= 0 && !this.#expiresSoon(offer)) {
        this.#open.set(id, { offer, group });
        continue;
      }
      // A busy offer is withdrawn too: else it would come back to the market after its deal, unknown to us.
      if (alive) await solver.cancelResourceOffer(id).catch(() => {});
      store.removeOffer(id);
    }
    await this.maintain();
    const every = Math.min(this.#options.ttlSeconds / 4, 3600) * 1000;
    this.#timer = setInterval(() => void this.maintain().catch(() => {}), every);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#maintaining;
  }

  /** An offer the solver will cancel (its proposal was refused): forgotten, and replaced on the next maintain. */
  lost(id: Hex): void {
    this.#open.delete(id);
    this.#options.store.removeOffer(id);
  }

  /** Opens missing offers, renews those about to expire, withdraws surplus; one pass at a time. */
  maintain(): Promise<void> {
    if (this.#maintaining) {
      this.#again = true;
      return this.#maintaining;
    }
    this.#maintaining = this.#maintainOnce().finally(() => {
      this.#maintaining = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        void this.maintain().catch(() => {});
      }
    });
    return this.#maintaining;
  }

  async #maintainOnce(): Promise<void> {
    const { solver, store, logger, slots } = this.#options;
    for (const [id, { offer }] of this.#open) {
      if (!this.#expiresSoon(offer)) continue;
      await solver.cancelResourceOffer(id).catch(() => {});
      this.lost(id);
    }
    for (let group = 0; group < this.#terms.length && !this.#stopped; group++) {
      const mine = [...this.#open].filter(([, entry]) => entry.group === group);
      for (const [id] of mine.slice(slots)) {
        await solver.cancelResourceOffer(id).catch(() => {});
        this.lost(id);
      }
      for (let n = mine.length; n < slots && !this.#stopped; n++) {
        const offer: ResourceOffer = {
          ...(this.#terms[group] as OfferTerms),
          nonce: BigInt(`0x${randomBytes(8).toString('hex')}`),
          expiry: BigInt(Math.floor(Date.now() / 1000) + this.#options.ttlSeconds),
        };
        const signature = await this.#options.sign(offer);
        // Recorded before it is posted: a crash in between leaves an offer to take back, never one forgotten.
        const id = this.#options.idOf(offer);
        store.addOffer(id, offer);
        try {
          await solver.postResourceOffer({ offer, signature });
        } catch (error) {
          store.removeOffer(id);
          logger.warn({ err: error }, 'posting a resource offer failed; trying again later');
          break;
        }
        this.#open.set(id, { offer, group });
      }
    }
  }

  #expiresSoon(offer: ResourceOffer): boolean {
    const margin = this.#options.ttlSeconds / 10;
    return Number(offer.expiry) < Date.now() / 1000 + margin;
  }
}
