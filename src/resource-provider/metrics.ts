/**
 * The provider's figures for operators: as Prometheus text on `GET /metrics` (`--metrics-port`), and as
 * the lines of `lilypad resource-provider status`. Both read the same figures from the state store.
 */
import { createServer, type Server } from 'node:http';
import { formatEther } from 'viem';
import type { ProviderFigures } from './state-store.js';

export type ProviderGauges = ProviderFigures & { slots: number; openOffers: number };

const HELP: Record<keyof ProviderGauges, [name: string, help: string]> = {
  slots: ['lilypad_rp_slots', 'jobs this provider can run at once'],
  openOffers: ['lilypad_rp_open_offers', 'resource offers open at the solver'],
  waiting: ['lilypad_rp_deals_waiting', 'deals signed, waiting for agreement on-chain'],
  running: ['lilypad_rp_jobs_running', 'jobs running or publishing their result'],
  awaitingPayment: ['lilypad_rp_results_awaiting_payment', 'results submitted, waiting to be accepted'],
  done: ['lilypad_rp_jobs_done_total', 'deals settled with pay'],
  unpaid: ['lilypad_rp_jobs_unpaid_total', 'deals settled without pay (timed out, rejected)'],
  earned: ['lilypad_rp_earned_lp_total', 'LP earned from settled deals'],
  collateralLocked: ['lilypad_rp_collateral_locked_lp', 'LP locked as timeout and results collateral'],
};

/** The Prometheus text exposition format (version 0.0.4). */
export function prometheusText(gauges: ProviderGauges): string {
  const lines: string[] = [];
  for (const key of Object.keys(HELP) as (keyof ProviderGauges)[]) {
    const [name, help] = HELP[key];
    const value = gauges[key];
    lines.push(`# HELP ${name} ${help}`);
    lines.push(`# TYPE ${name} ${name.endsWith('_total') ? 'counter' : 'gauge'}`);
    lines.push(`${name} ${typeof value === 'bigint' ? formatEther(value) : value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `status`: one figure a line, amounts in LP. */
export function statusLines(gauges: ProviderGauges): string[] {
  return (Object.keys(HELP) as (keyof ProviderGauges)[]).map((key) => {
    const value = gauges[key];
    const shown = typeof value === 'bigint' ? `${formatEther(value)} LP` : String(value);
    return `${HELP[key][1]}: ${shown}`;
  });
}

/** Serves `GET /metrics` on 127.0.0.1 (or `host`); port 0 picks a free port. Resolves with the server's port. */
export async function startMetricsServer(
  port: number,
  gauges: () => ProviderGauges,
  host = '127.0.0.1',
): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    try {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheusText(gauges()));
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
