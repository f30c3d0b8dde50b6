/**
 * The network's statistics as the solver serves them (GET /api/v1/network/stats): the resource offers
 * on the market with their prices and machines, a page at a time (always current), and the counts and
 * deals of the last hour per minute (recomputed every few seconds). Public and read-only; the web app's
 * network page is drawn from it.
 */
import type { Hex } from 'viem';
import { z } from 'zod';
import { LilypadError } from './errors.js';
import { describeIssues, hashSchema, parseWire, resourceOfferSchema } from './wire.js';

export const NETWORK_STATS_PATH = '/api/v1/network/stats';
export const MAX_STATS_PAGE = 100;

const pageSize = z
  .string()
  .regex(/^\d{1,3}$/, `expected a page size, an integer from 1 to ${MAX_STATS_PAGE}`)
  .transform(Number)
  .pipe(z.number().int().min(1).max(MAX_STATS_PAGE));

/** The query string: `limit` offers per page (default 20), `after` the `next` of the page before. */
export const networkStatsQuerySchema = z.strictObject({
  limit: pageSize.default(20),
  after: hashSchema.optional(),
});
/** The query as a program passes it. */
export type NetworkStatsQuery = { limit?: number; after?: Hex };

export const onlineResourceOfferSchema = z.object({
  id: hashSchema,
  /** `busy` while it serves a deal (it comes back `open` when the deal is settled). */
  status: z.enum(['open', 'busy']),
  createdAt: z.number().int().describe('when the solver received it, ms since the epoch'),
  offer: resourceOfferSchema,
});

export const dealsInMinuteSchema = z.object({
  minute: z.number().int().describe('the minute’s start, ms since the epoch'),
  deals: z.number().int().min(0).describe('deals proposed in this minute (cancelled proposals left out)'),
  settled: z.number().int().min(0).describe('of those, the ones settled since'),
});

export const networkStatsSchema = z.object({
  at: z
    .number()
    .int()
    .describe('when the counts and the hour were computed (at most a few seconds ago), ms since the epoch'),
  resourceProviders: z.number().int().min(0).describe('resource providers with at least one offer online'),
  resourceOffers: z.object({
    total: z.number().int().min(0).describe('offers online (open or busy)'),
    items: z.array(onlineResourceOfferSchema).describe('this page, oldest first'),
    next: hashSchema.nullable().describe('`after` for the next page; null on the last'),
  }),
  dealsPerMinute: z.number().min(0).describe('deals proposed over the last ten minutes, per minute'),
  lastHour: z.array(dealsInMinuteSchema).length(60).describe('the last 60 minutes, oldest first'),
});
export type NetworkStats = z.output<typeof networkStatsSchema>;

/** One page of the solver's statistics, validated. */
export async function fetchNetworkStats(
  solverUrl: string,
  query: NetworkStatsQuery = {},
  signal?: AbortSignal,
): Promise<NetworkStats> {
  const params = new URLSearchParams();
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  if (query.after !== undefined) params.set('after', query.after);
  const url = `${solverUrl.replace(/\/+$/, '')}${NETWORK_STATS_PATH}${params.size > 0 ? `?${params}` : ''}`;
  const response = await fetch(url, { signal: signal ?? AbortSignal.timeout(10_000) });
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = z.object({ error: z.string() }).safeParse(body).data?.error;
    throw new LilypadError(`the solver answered ${response.status} to ${url}: ${error ?? 'no error given'}`, {
      hint: 'check that the solver URL is right and the solver is running',
    });
  }
  const parsed = networkStatsSchema.safeParse(body);
  if (!parsed.success)
    throw new LilypadError(`the solver's statistics are malformed: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** The query string of a request, validated: a WireError (400) that says which parameter to fix. */
export const parseNetworkStatsQuery = (query: unknown) =>
  parseWire(networkStatsQuerySchema, query, 'query string');
