/**
 * GET /api/v1/network/stats: what anyone may know about the market, from the store. The offers online
 * come a page at a time, in the order they arrived (`after` is the last offer of the page before, so a
 * page never repeats or skips an offer that stays online); deals are counted per minute over the hour.
 */
import type { FastifyInstance } from 'fastify';
import { NETWORK_STATS_PATH, type NetworkStats, parseNetworkStatsQuery } from '../protocol/network-stats.js';
import { toWire, WireError } from '../protocol/wire.js';
import type { Store } from './store.js';

const MINUTE = 60_000;
/** How long the counts and the hour are reused: they cost tens of ms on a large market, a page does not. */
const AGGREGATES_MAX_AGE_MS = 2_000;

type Aggregates = Pick<NetworkStats, 'resourceProviders' | 'dealsPerMinute' | 'lastHour'> & {
  offers: number;
  at: number;
};

/** The statistics, one answer at a time; the aggregates are recomputed at most every two seconds. */
export class NetworkStatistics {
  readonly #store: Store;
  #aggregates: Aggregates | undefined;

  constructor(store: Store) {
    this.#store = store;
  }

  answer(query: unknown, now = Date.now()): NetworkStats {
    const { limit, after } = parseNetworkStatsQuery(query);
    if (after && !this.#store.getResourceOffer(after))
      throw new WireError(`invalid query string: after: no resource offer ${after}; pass the next of a page`);
    // One more than asked tells whether there is a next page.
    const offers = this.#store.onlineResourceOffers({ after, limit: limit + 1 });
    const page = offers.slice(0, limit);
    const { offers: total, ...aggregates } = this.#aggregatesAt(now);
    return {
      ...aggregates,
      resourceOffers: {
        total,
        items: page.map((o) => ({
          id: o.id,
          status: o.status as 'open' | 'busy',
          createdAt: o.createdAt,
          offer: o.signed.offer,
        })),
        next: offers.length > limit ? (page.at(-1)?.id ?? null) : null,
      },
    };
  }

  #aggregatesAt(now: number): Aggregates {
    const cached = this.#aggregates;
    if (cached && now - cached.at < AGGREGATES_MAX_AGE_MS && now >= cached.at) return cached;
    const counts = this.#store.onlineResourceOfferCounts();
    const firstMinute = (Math.floor(now / MINUTE) - 59) * MINUTE;
    const byMinute = new Map(this.#store.dealsByMinute(firstMinute).map((m) => [m.minute, m]));
    const lastHour = Array.from({ length: 60 }, (_, i) => {
      const minute = firstMinute + i * MINUTE;
      return { minute, deals: byMinute.get(minute)?.deals ?? 0, settled: byMinute.get(minute)?.settled ?? 0 };
    });
    const lastTen = lastHour.slice(-10).reduce((sum, m) => sum + m.deals, 0);
    this.#aggregates = {
      at: now,
      offers: counts.offers,
      resourceProviders: counts.providers,
      dealsPerMinute: lastTen / 10,
      lastHour,
    };
    return this.#aggregates;
  }
}

export function registerNetworkStatsRoute(app: FastifyInstance, store: Store): void {
  const statistics = new NetworkStatistics(store);
  app.get(NETWORK_STATS_PATH, async (request) => toWire(statistics.answer(request.query)));
}
