/**
 * A solver on a real anvil for the hostile-input tests, and a snapshot of everything it keeps (every
 * table of its store, every block of its directory), so a test can check that a refused request
 * changed nothing.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Anvil } from '../../src/chain/anvil.js';
import type { Network } from '../../src/protocol/eip712.js';
import { SolverClient } from '../../src/protocol/solver-client.js';
import type { SolverEvent } from '../../src/protocol/wire.js';
import type { Solver, SolverLimits } from '../../src/solver/solver.js';
import { accounts, jobOffer, resourceOffer, signJobOffer, signResourceOffer } from '../protocol/fixtures.js';
import { startSolverOnAnvil } from '../solver/fixtures/solver-on-anvil.js';

/** The tables that hold what the solver knows (the chain cursor moves on its own). */
const KEPT_TABLES = ['job_offers', 'resource_offers', 'deals', 'uploads', 'events', 'event_seqs'];

export type ProposedDeal = Extract<SolverEvent, { type: 'deal:proposed' }>;

export type SolverFixture = {
  anvil: Anvil;
  solver: Solver;
  network: Network;
  dataDir: string;
  /** Every row of the store's tables and every block file, as one comparable string. */
  snapshot(): Promise<string>;
  /**
   * Posts matching offers of the dev job creator and provider (this nonce) and waits for their deal;
   * with `private`, the job creator asks for the deal's uploads to be served to its members only.
   */
  proposeDeal(nonce: bigint, options?: { private?: boolean }): Promise<ProposedDeal>;
  stop(): Promise<void>;
};

export async function startSolverFixture(limits: Partial<SolverLimits> = {}): Promise<SolverFixture> {
  const { anvil, solver, network, dataDir, stop } = await startSolverOnAnvil(limits);
  const reader = new Database(join(dataDir, 'solver.sqlite'), { readonly: true });
  const blockFiles = async (dir: string): Promise<string[]> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const names: string[] = [];
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) names.push(...(await blockFiles(path)));
      else names.push(path);
    }
    return names.sort();
  };
  return {
    anvil,
    solver,
    network,
    dataDir,
    snapshot: async () => {
      return JSON.stringify({
        tables: KEPT_TABLES.map((table) => reader.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all()),
        blocks: await blockFiles(join(dataDir, 'blocks')),
      });
    },
    proposeDeal: async (nonce, options = {}) => {
      const rp = new SolverClient(solver.url, accounts.resourceProvider);
      const events: SolverEvent[] = [];
      const subscription = await rp.subscribe((event) => events.push(event));
      try {
        await rp.postResourceOffer(await signResourceOffer(resourceOffer({ nonce }), network));
        const jc = new SolverClient(solver.url, accounts.jobCreator);
        const { id } = await jc.postJobOffer(await signJobOffer(jobOffer({ nonce }), network), options);
        const deadline = Date.now() + 30_000;
        for (;;) {
          const found = events.find((e) => e.type === 'deal:proposed' && e.deal.jobOffer === id);
          if (found) return found as ProposedDeal;
          if (Date.now() > deadline) throw new Error('no deal proposed in 30 s');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        subscription.close();
      }
    },
    stop: async () => {
      reader.close();
      await stop();
    },
  };
}
