/**
 * GET /api/v1/network: the network page's figures, from the solver's statistics (every job the solver
 * matched, from this app or not): providers and offers online, their prices, and deals per minute over
 * the last hour. Fetched at most once per few seconds, whoever asks, so visitors do not multiply the
 * solver's load (its read limit counts this server as one client).
 */
import type { FastifyInstance } from 'fastify';
import { fetchNetworkStats, MAX_STATS_PAGE, type NetworkStats } from '../../protocol/network-stats.js';
import type { WebContext } from '../context.js';
import { SolverUnavailableError } from '../errors.js';
import { median } from '../median.js';
import type { NetworkView } from '../schemas.js';

const CACHE_MS = 5_000;
/** Prices are taken over at most this many offers (ten pages). */
const MAX_OFFERS = 10 * MAX_STATS_PAGE;
/** Offers listed on the page. */
const LISTED_OFFERS = 20;

export function registerNetworkRoutes(app: FastifyInstance, context: WebContext): void {
  const { network, limiter } = context;
  let cached: { at: number; view: Promise<NetworkView> } | undefined;

  const load = async (): Promise<NetworkView> => {
    let first: NetworkStats | undefined;
    const offers: NetworkStats['resourceOffers']['items'] = [];
    let after: NetworkStats['resourceOffers']['next'] = null;
    try {
      do {
        const page = await fetchNetworkStats(network.solverUrl, {
          limit: MAX_STATS_PAGE,
          ...(after ? { after } : {}),
        });
        first ??= page;
        offers.push(...page.resourceOffers.items);
        after = page.resourceOffers.next;
      } while (after && offers.length < MAX_OFFERS);
    } catch (error) {
      throw new SolverUnavailableError(
        `the solver's statistics are unavailable: ${(error as Error).message}`,
        {
          cause: error,
          hint: 'try again shortly',
        },
      );
    }
    const stats = first as NetworkStats;
    const prices = offers.map((o) => o.offer.fixedPrice).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      chainId: network.chainId,
      solver: network.solver,
      solverUrl: network.solverUrl,
      providersOnline: stats.resourceProviders,
      offersOnline: stats.resourceOffers.total,
      jobsPerMinute: stats.dealsPerMinute,
      prices: {
        min: prices[0]?.toString() ?? null,
        median: median(prices)?.toString() ?? null,
        max: prices.at(-1)?.toString() ?? null,
      },
      offers: offers.slice(0, LISTED_OFFERS).map((o) => ({
        id: o.id,
        resourceProvider: o.offer.resourceProvider,
        status: o.status,
        spec: o.offer.spec,
        fixedPrice: o.offer.fixedPrice.toString(),
        pricePerInstruction: o.offer.pricePerInstruction.toString(),
      })),
      lastHour: stats.lastHour.map((m) => ({ minute: m.minute, jobs: m.deals, paid: m.settled })),
    };
  };

  app.get('/api/v1/network', async (request): Promise<NetworkView> => {
    limiter.take(`ip:${request.ip}`);
    const now = Date.now();
    if (!cached || now - cached.at >= CACHE_MS) {
      const view = load();
      cached = { at: now, view };
      view.catch(() => {
        if (cached?.view === view) cached = undefined; // a failure is not kept
      });
    }
    return cached.view;
  });
}
