/**
 * State that survives: the solver runs in its own process and is killed with SIGKILL in the middle of
 * matching and twice in the middle of a deal, then restarted on the same data dir and port. Nothing it
 * acknowledged is lost, nothing is booked twice, the deal completes with the real ResourceProvider and
 * runJob, and after a restart the solver catches up with chain events it missed while it was down.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { type Address, type Hex, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, freePort, startAnvil } from '../../src/chain/anvil.js';
import { publicClientFor, walletClientFor } from '../../src/chain/clients.js';
import { dealStatus } from '../../src/chain/deals.js';
import { deployContracts, fundDevNetwork } from '../../src/chain/deploy.js';
import { type DevRole, devAccount, devAccounts } from '../../src/chain/dev-accounts.js';
import { runJob } from '../../src/job-creator/run-job.js';
import { DealState } from '../../src/protocol/deal-states.js';
import { defaults } from '../../src/protocol/defaults.js';
import type { NetworkConfig } from '../../src/protocol/network.js';
import { SolverClient } from '../../src/protocol/solver-client.js';
import { toWire } from '../../src/protocol/wire.js';
import { ResourceProvider } from '../../src/resource-provider/resource-provider.js';
import { matchJob } from '../../src/solver/matcher.js';
import type { StoredJobOffer, StoredResourceOffer } from '../../src/solver/store.js';
import { gatedExecutor } from '../fixtures/gated-executor.js';
import { jobOffer, resourceOffer, signJobOffer, signResourceOffer } from '../protocol/fixtures.js';

const script = fileURLToPath(new URL('./fixtures/solver-process.ts', import.meta.url));

let anvil: Anvil;
let dataDir: string;
let network: NetworkConfig;
let env: Record<string, string>;
let solverProcess: ChildProcess | undefined;

function startSolver(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('ready ')) resolve(child);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.once('exit', (code) =>
      reject(new Error(`the solver exited (${code}) before it was ready:\n${output}`)),
    );
    solverProcess = child;
  });
}

async function killSolver(): Promise<void> {
  const child = solverProcess;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const account = (role: DevRole) => privateKeyToAccount(devAccount(role).privateKey);

beforeAll(async () => {
  anvil = await startAnvil();
  const contracts = await deployContracts(
    walletClientFor(anvil.rpcUrl, anvil.chainId, devAccount('deployer').privateKey),
    publicClientFor(anvil.rpcUrl, anvil.chainId),
  );
  await fundDevNetwork({
    rpcUrl: anvil.rpcUrl,
    chainId: anvil.chainId,
    ...contracts,
    accounts: devAccounts.filter((a) => a.role !== 'deployer'),
    amountLP: parseEther('1000'),
  });
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-crash-'));
  const port = await freePort();
  env = {
    CHAIN_ID: String(anvil.chainId),
    WEB3_RPC_URL: anvil.rpcUrl,
    WEB3_PRIVATE_KEY: devAccount('solver').privateKey,
    LILYPAD_DEALS_ADDRESS: contracts.deals,
    LILYPAD_TOKEN_ADDRESS: contracts.token,
    LILYPAD_DATA_DIR: join(dataDir, 'solver'),
    PORT: String(port),
  };
  network = {
    chainId: anvil.chainId,
    rpcUrl: anvil.rpcUrl,
    ...contracts,
    solver: devAccount('solver').address,
    solverUrl: `http://127.0.0.1:${port}`,
  };
}, 60_000);

afterAll(async () => {
  await killSolver();
  await anvil?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** The solver's tables, read beside the running solver (WAL lets a reader in). */
async function readStore<T>(read: (db: Database.Database) => T): Promise<T> {
  const db = new Database(join(dataDir, 'solver', 'solver.sqlite'), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

describe('a solver killed with SIGKILL', () => {
  it('loses no acknowledged offer and books nothing twice when killed in the middle of matching', async () => {
    await startSolver();
    // A market of its own (its own mediator), away from the deal below: 4 providers, 4 job creators.
    const mediator = '0x00000000000000000000000000000000000000ed' as Address;
    const providers: DevRole[] = ['user5', 'user6'];
    const creators: DevRole[] = ['user7', 'user8'];
    const posts: { path: string; body: string; id?: Hex }[] = [];
    for (let i = 0; i < 160; i++) {
      const machine = {
        cpu: 1000 * (1 + (i % 4)),
        gpu: i % 5 === 0 ? 1 : 0,
        gpuVram: 0,
        ram: 1024,
        disk: 100,
      };
      const resource = await signResourceOffer(
        resourceOffer({
          resourceProvider: account(providers[i % 2] as DevRole).address,
          spec: machine,
          fixedPrice: parseEther(String(1 + (i % 3))),
          mediators: [mediator],
          nonce: BigInt(1000 + i),
        }),
        network,
        account(providers[i % 2] as DevRole),
      );
      posts.push({ path: '/api/v1/resource-offers', body: JSON.stringify(toWire(resource)) });
      const job = await signJobOffer(
        jobOffer({
          jobCreator: account(creators[i % 2] as DevRole).address,
          spec: { cpu: 1000 * (1 + (i % 5)), gpu: i % 7 === 0 ? 1 : 0, gpuVram: 0, ram: 512, disk: 100 },
          maxPrice: parseEther(String(1 + (i % 4))),
          pricingMode: i % 3 === 0 ? 1 : 0,
          mediators: [mediator],
          nonce: BigInt(2000 + i),
        }),
        network,
        account(creators[i % 2] as DevRole),
      );
      posts.push({ path: '/api/v1/job-offers', body: JSON.stringify(toWire(job)) });
    }

    // Posted 12 at a time; the solver is killed once 120 have been acknowledged.
    const acknowledged = new Map<number, { id: Hex; status: string; dealId: Hex | null }>();
    let next = 0;
    const worker = async () => {
      while (next < posts.length) {
        const index = next++;
        const post = posts[index] as (typeof posts)[number];
        try {
          const response = await fetch(`${network.solverUrl}${post.path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: post.body,
          });
          if (response.ok) acknowledged.set(index, (await response.json()) as never);
          if (acknowledged.size === 120) await killSolver();
        } catch {
          // the solver is gone: this post was not acknowledged
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, worker));
    expect(acknowledged.size).toBeGreaterThanOrEqual(120);
    expect(acknowledged.size).toBeLessThan(posts.length);

    // Restarted on the same data dir; the clients post again what they are not sure of, and more.
    await startSolver();
    for (const [index, post] of posts.entries()) {
      const response = await fetch(`${network.solverUrl}${post.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: post.body,
      });
      const answer = (await response.json()) as { id: Hex; status: string; dealId: Hex | null };
      post.id = answer.id;
      const before = acknowledged.get(index);
      if (before) {
        // Known already: 200, the same offer, and a match made before the crash is still there.
        expect(response.status).toBe(200);
        expect(answer.id).toBe(before.id);
        if (before.dealId)
          expect(
            await readStore((db) => db.prepare('SELECT id FROM deals WHERE id = ?').get(before.dealId)),
          ).toBeTruthy();
      } else {
        expect([200, 201]).toContain(response.status);
      }
    }

    await readStore((db) => {
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      expect(count('SELECT COUNT(*) AS n FROM job_offers')).toBe(160);
      expect(count('SELECT COUNT(*) AS n FROM resource_offers')).toBe(160);
      const active = "status NOT IN ('settled', 'cancelled')";
      // No resource offer and no job offer in two active deals.
      expect(
        count(
          `SELECT COUNT(*) AS n FROM (SELECT resource_offer_id FROM deals WHERE ${active} GROUP BY 1 HAVING COUNT(*) > 1)`,
        ),
      ).toBe(0);
      expect(
        count(
          `SELECT COUNT(*) AS n FROM (SELECT job_offer_id FROM deals WHERE ${active} GROUP BY 1 HAVING COUNT(*) > 1)`,
        ),
      ).toBe(0);
      // Offers and deals agree both ways.
      expect(
        count(
          `SELECT COUNT(*) AS n FROM job_offers j WHERE j.status = 'matched' AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.id = j.deal_id AND d.job_offer_id = j.id AND d.${active})`,
        ),
      ).toBe(0);
      expect(
        count(
          `SELECT COUNT(*) AS n FROM resource_offers r WHERE r.status = 'busy' AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.id = r.deal_id AND d.resource_offer_id = r.id AND d.${active})`,
        ),
      ).toBe(0);
      expect(
        count(
          `SELECT COUNT(*) AS n FROM deals d WHERE d.${active} AND NOT EXISTS (SELECT 1 FROM job_offers j WHERE j.id = d.job_offer_id AND j.status = 'matched' AND j.deal_id = d.id)`,
        ),
      ).toBe(0);
      // Matching went on to completion: no waiting job has an open offer that fits it.
      const parse = (body: string) =>
        JSON.parse(body, (k, v) =>
          [
            'fixedPrice',
            'maxPrice',
            'expiry',
            'nonce',
            'mediationFee',
            'pricePerInstruction',
            'timeoutCollateral',
            'submitTimeout',
            'judgeTimeout',
            'mediateTimeout',
          ].includes(k)
            ? BigInt(v)
            : v,
        );
      const open = (
        db.prepare("SELECT * FROM resource_offers WHERE status = 'open'").all() as {
          id: Hex;
          body: string;
          created_at: number;
        }[]
      ).map(
        (row): StoredResourceOffer => ({
          id: row.id,
          signed: parse(row.body),
          status: 'open',
          dealId: null,
          createdAt: row.created_at,
        }),
      );
      const queued = (
        db.prepare("SELECT * FROM job_offers WHERE status = 'queued'").all() as { id: Hex; body: string }[]
      ).map((row) => parse(row.body) as StoredJobOffer['signed']);
      const now = BigInt(Math.floor(Date.now() / 1000));
      for (const job of queued) expect(matchJob(job.offer, open, now).match).toBeUndefined();
      expect(count('SELECT COUNT(*) AS n FROM deals')).toBeGreaterThan(0);
    });
  }, 150_000);

  it('completes a deal killed twice in its middle, and catches up with the chain events it missed', async () => {
    if (!solverProcess || solverProcess.exitCode !== null || solverProcess.signalCode !== null)
      await startSolver();
    // The real resource provider, whose job waits at a gate so the solver can be killed while it runs.
    const { executor: gated, running, release } = gatedExecutor();
    const mediators = [devAccount('mediator').address];
    const provider = new ResourceProvider({
      network,
      privateKey: devAccount('resourceProvider').privateKey,
      dataDir: join(dataDir, 'resource-provider'),
      logger: pino({ level: 'silent' }),
      spec: defaults.devnetSpec,
      pricing: defaults.resourceProvider,
      mediators,
      slots: 1,
      executors: { wasm: gated },
    });
    await provider.start();
    try {
      const job = runJob({
        network,
        privateKey: devAccount('jobCreator').privateKey,
        dataDir: join(dataDir, 'job-creator'),
        module: 'cowsay:v0.0.1',
        inputs: { Message: 'survive' },
        maxPrice: defaults.maxPrice,
        mediationFee: defaults.mediationFee,
        mediators,
        signal: AbortSignal.timeout(40_000),
        onProgress: (event) => {
          // Killed once the result is verified: the job creator accepts on-chain while the solver is down.
          if (event.type === 'job:result-verified') void killSolver();
        },
      });

      // Kill 1: the deal is agreed and its job is running.
      await running;
      await killSolver();
      release();
      await new Promise((r) => setTimeout(r, 300)); // the provider's upload now fails, and is retried
      await startSolver();

      // Kill 2 happens in onProgress; the job creator's accept lands on-chain while the solver is down.
      const result = await job;
      expect(result.stdout).toContain('survive');
      const onChain = await dealStatus(
        publicClientFor(network.rpcUrl, network.chainId),
        network,
        result.dealId,
      );
      expect(onChain.state).toBe(DealState.Accepted);

      await startSolver();
      const client = new SolverClient(network.solverUrl, account('jobCreator'));
      const deal = await client.getDeal(result.dealId);
      expect(deal.chainState).toBe(DealState.Accepted);
      expect(deal.status).toBe('settled');
      expect(deal.resultCID).toBe(result.resultCID);
      expect(await client.hasBlock(result.resultCID)).toBe(true);

      await readStore((db) => {
        const deals = db
          .prepare('SELECT id, status FROM deals WHERE job_offer_id = ?')
          .all(result.jobOfferId) as {
          id: Hex;
          status: string;
        }[];
        expect(deals).toEqual([{ id: result.dealId, status: 'settled' }]);
        const uploads = db
          .prepare('SELECT cid, uploader FROM uploads WHERE deal_id = ? ORDER BY cid')
          .all(result.dealId) as {
          cid: string;
          uploader: string;
        }[];
        expect(uploads.filter((u) => u.cid === result.resultCID)).toEqual([
          { cid: result.resultCID, uploader: provider.address.toLowerCase() },
        ]);
        // The provider's offer is back on the market after the deal.
        const offer = db
          .prepare(
            "SELECT status FROM resource_offers WHERE deal_id IS NULL AND status = 'open' AND body LIKE ?",
          )
          .get(`%${provider.address}%`);
        expect(offer).toBeTruthy();
      });
    } finally {
      release();
      await provider.stop();
    }
  }, 90_000);
});
