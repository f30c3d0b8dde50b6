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

export function networkStats(store: Store, query: unknown, now = Date.now()): NetworkStats {
  const { limit, after } = parseNetworkStatsQuery(query);
  if (after && !store.getResourceOffer(after))
    throw new WireError(`invalid query string: after: no resource offer ${after}; pass the next of a page`);
  // One more than asked tells whether there is a next page.
  const offers = store.onlineResourceOffers({ after, limit: limit + 1 });
  const page = offers.slice(0, limit);
  const counts = store.onlineResourceOfferCounts();
  const firstMinute = (Math.floor(now / MINUTE) - 59) * MINUTE;
  const byMinute = new Map(store.dealsByMinute(firstMinute).map((m) => [m.minute, m]));
  const lastHour = Array.from({ length: 60 }, (_, i) => {
    const minute = firstMinute + i * MINUTE;
    return { minute, deals: byMinute.get(minute)?.deals ?? 0, settled: byMinute.get(minute)?.settled ?? 0 };
  });
  const lastTen = lastHour.slice(-10).reduce((sum, m) => sum + m.deals, 0);
  return {
    at: now,
    resourceProviders: counts.providers,
    resourceOffers: {
      total: counts.offers,
      items: page.map((o) => ({
        id: o.id,
        status: o.status as 'open' | 'busy',
        createdAt: o.createdAt,
        offer: o.signed.offer,
      })),
      next: offers.length > limit ? (page.at(-1)?.id ?? null) : null,
    },
    dealsPerMinute: lastTen / 10,
    lastHour,
  };
}

export function registerNetworkStatsRoute(app: FastifyInstance, store: Store): void {
  app.get(NETWORK_STATS_PATH, async (request) => toWire(networkStats(store, request.query)));
}
