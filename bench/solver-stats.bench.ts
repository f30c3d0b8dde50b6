/**
 * The solver's network statistics (GET /api/v1/network/stats) over a large market, from SQLite on disk.
 *
 * - `solver_stats_first_page_ms`: 100,000 resource offers online from 10,000 providers and 60,000 deals
 *   proposed over the last hour; the mean time of one answer (a page of 100 offers, the counts, the
 *   hour per minute), over 20 answers.
 * - `solver_stats_deep_page_ms`: the same, for the page after the 50,000th offer (`after`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, type Hex, parseEther, toHex, zeroAddress } from 'viem';
import type { Deal, ResourceOffer } from '../src/protocol/eip712.js';
import { NetworkStatistics } from '../src/solver/network-stats.js';
import { SqliteStore } from '../src/solver/sqlite-store.js';

export const name = 'solver-stats';

const OFFERS = 100_000;
const PROVIDERS = 10_000;
const DEALS = 60_000;
const SIGNATURE = `0x${'11'.repeat(65)}` as Hex;
const idOf = (kind: number, i: number) => toHex(BigInt(kind) * 2n ** 200n + BigInt(i), { size: 32 });
const addressOf = (i: number) => toHex(BigInt(i) + 1n, { size: 20 }) as Address;

function offer(i: number): ResourceOffer {
  return {
    resourceProvider: addressOf(i % PROVIDERS),
    solver: addressOf(0),
    spec: { cpu: 4000, gpu: i % 10 === 0 ? 1 : 0, gpuVram: 0, ram: 8192, disk: 10_240 },
    fixedPrice: parseEther('1') + BigInt(i),
    pricePerInstruction: 0n,
    timeoutCollateral: parseEther('2'),
    resultsCollateralMultipleBps: 20_000,
    mediators: [addressOf(1)],
    modules: [],
    nonce: BigInt(i),
    expiry: 2n ** 40n,
  };
}

const mean = (times: number[]) => times.reduce((a, b) => a + b, 0) / times.length;

export async function run(): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-bench-stats-'));
  const store = new SqliteStore(join(dir, 'solver.sqlite'));
  try {
    const now = Date.now();
    for (let start = 0; start < OFFERS; start += 1000) {
      store.transaction(() => {
        for (let i = start; i < start + 1000; i++) {
          store.addResourceOffer({
            id: idOf(1, i),
            signed: { offer: offer(i), signature: SIGNATURE },
            status: i % 7 === 0 ? 'busy' : 'open',
            dealId: null,
            createdAt: now - OFFERS + i,
          });
        }
      });
    }
    const deal = {
      resourceProvider: addressOf(1),
      jobCreator: addressOf(2),
      target: zeroAddress,
    } as unknown as Deal;
    for (let start = 0; start < DEALS; start += 1000) {
      store.transaction(() => {
        for (let i = start; i < start + 1000; i++) {
          const proposedAt = now - 3_600_000 + Math.floor((i * 3_600_000) / DEALS);
          store.addDeal({
            id: idOf(2, i),
            deal,
            jobOfferId: idOf(3, i),
            resourceOfferId: idOf(1, i % OFFERS),
            status: i % 3 === 0 ? 'settled' : 'running',
            chainState: 0,
            signatureJC: null,
            signatureRP: null,
            agreeTx: null,
            resultCID: null,
            instructionCount: null,
            cost: null,
            reason: null,
            proposedAt,
            updatedAt: proposedAt,
          });
        }
      });
    }
    const time = (query: Record<string, string>) => {
      const times: number[] = [];
      for (let i = 0; i < 21; i++) {
        const started = performance.now();
        // A new reader each time: its counts and hour are computed, not reused.
        const stats = new NetworkStatistics(store).answer(query);
        if (stats.resourceOffers.items.length !== 100) throw new Error('expected a full page');
        if (i > 0) times.push(performance.now() - started); // the first warms the statements
      }
      return mean(times);
    };
    return {
      solver_stats_first_page_ms: time({ limit: '100' }),
      solver_stats_deep_page_ms: time({ limit: '100', after: idOf(1, 50_000) }),
    };
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
