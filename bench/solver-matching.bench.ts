/**
 * The solver at market scale.
 *
 * - `solver_match_100k_ms`: 100,000 resource offers, then 100,000 job offers (shuffled), each taken by
 *   the solver's Market exactly as a posted offer is (indexed match, deal derived and hashed, offers,
 *   deal and both parties' events written to the SQLite tables on disk), in commits of 1,000
 *   operations (the solver's group commit under load), one commit per event-loop turn as the solver
 *   runs them, until every job has its deal and every write is committed. Not included: HTTP, zod
 *   parsing, the offers' ids and signature checks (offers are made beforehand with a placeholder
 *   signature: those per-request costs are what `solver_offer_p99_ms` measures). Also reported: the
 *   same matching on the in-memory OfferBook alone (`solver_match_100k_index_ms`), the process's CPU
 *   time over the same span as `solver_match_100k_ms`, checkpointer thread included
 *   (`solver_match_100k_cpu_ms`: steadier than wall time on a shared machine), and one pass of the reference `matchJob` (every pair) over 1,000 jobs, scaled
 *   (`solver_match_100k_pairwise_estimate_ms`).
 * - `solver_offer_p99_ms`: a real solver (on anvil) with 100,000 resource offers open; 400 signed job and
 *   resource offers posted one after the other over HTTP; the 99th percentile of their latency.
 * - `solver_ws_clients`: event sockets opened at once on the same solver (each a signed upgrade by its own
 *   account); each posts a job offer and must receive its own `job:queued` event; the figure is the
 *   number of clients that did, with no error (it is 0 if any failed).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type Address, type Hex, keccak256, parseEther, toHex, zeroAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { startAnvil } from '../src/chain/anvil.js';
import { publicClientFor, walletClientFor } from '../src/chain/clients.js';
import { deployContracts } from '../src/chain/deploy.js';
import { devAccount } from '../src/chain/dev-accounts.js';
import {
  type JobOffer,
  jobOfferTypedData,
  type MachineSpec,
  type Network,
  PricingMode,
  type ResourceOffer,
  resourceOfferTypedData,
} from '../src/protocol/eip712.js';
import { SolverClient } from '../src/protocol/solver-client.js';
import type { SolverEvent } from '../src/protocol/wire.js';
import { EventHub } from '../src/solver/event-hub.js';
import { EventLog } from '../src/solver/event-log.js';
import { Market } from '../src/solver/market.js';
import { matchJob } from '../src/solver/matcher.js';
import { OfferBook } from '../src/solver/offer-book.js';
import { OfferHashes } from '../src/solver/offer-hashes.js';
import { Solver } from '../src/solver/solver.js';
import { SqliteStore } from '../src/solver/sqlite-store.js';
import type { StoredJobOffer, StoredResourceOffer } from '../src/solver/store.js';

export const name = 'solver-matching';

const N = 100_000;
const COMMIT = 1000;
const SIGNATURE = `0x${'11'.repeat(65)}` as Hex;
const MODULE = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi';

const addressOf = (kind: number, i: number) =>
  toHex(BigInt(kind) * 2n ** 152n + BigInt(i), { size: 20 }) as Address;
const mediators = [addressOf(9, 1), addressOf(9, 2), addressOf(9, 3)];
const groups: Address[][] = [[mediators[0] as Address, mediators[1] as Address], [mediators[2] as Address]];

// Three machine types, each job type fitting its own type and the larger ones; prices rise with size,
// so market-price jobs take their own type first, and fixed-price jobs can afford only their own.
const types: { spec: MachineSpec; price: (i: number) => bigint; maxPrice: bigint }[] = [
  {
    spec: { cpu: 2000, gpu: 0, gpuVram: 0, ram: 4096, disk: 10_000 },
    price: (i) => parseEther(`${1 + (i % 100) / 100}`),
    maxPrice: parseEther('2'),
  },
  {
    spec: { cpu: 8000, gpu: 0, gpuVram: 0, ram: 32_768, disk: 50_000 },
    price: (i) => parseEther(`${3 + (i % 100) / 100}`),
    maxPrice: parseEther('4'),
  },
  {
    spec: { cpu: 8000, gpu: 1, gpuVram: 24, ram: 65_536, disk: 100_000 },
    price: (i) => parseEther(`${5 + (i % 300) / 100}`),
    maxPrice: parseEther('8'),
  },
];
const typeOf = (i: number) => (i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2);
const groupOf = (i: number) => Math.floor(i / 10) % 2;
const jobSpec = (spec: MachineSpec): MachineSpec => ({
  ...spec,
  cpu: spec.cpu / 2,
  ram: spec.ram / 2,
  disk: spec.disk / 2,
});

function resourceOfferAt(
  i: number,
  solver: Address,
  expiry: bigint,
  provider = addressOf(1, i % 500),
): ResourceOffer {
  const type = types[typeOf(i)] as (typeof types)[number];
  return {
    resourceProvider: provider,
    solver,
    spec: type.spec,
    fixedPrice: type.price(i),
    pricePerInstruction: 0n,
    timeoutCollateral: parseEther('2'),
    resultsCollateralMultipleBps: 20_000,
    mediators: groups[groupOf(i)] as Address[],
    modules: [],
    nonce: BigInt(i),
    expiry,
  };
}

function jobOfferAt(i: number, solver: Address, expiry: bigint, creator = addressOf(2, i % 1000)): JobOffer {
  const type = types[typeOf(i)] as (typeof types)[number];
  const fixed = i % 5 === 0;
  return {
    jobCreator: creator,
    solver,
    module: MODULE,
    inputs: `{"Message":"job ${i}"}`,
    spec: jobSpec(type.spec),
    pricingMode: fixed ? PricingMode.fixed : PricingMode.market,
    maxPrice: fixed ? type.maxPrice : parseEther('10'),
    mediationFee: parseEther('1'),
    mediators: groups[groupOf(i)] as Address[],
    target: zeroAddress,
    submitTimeout: 300n,
    judgeTimeout: 60n,
    mediateTimeout: 300n,
    nonce: BigInt(i),
    expiry,
  };
}

/** A deterministic shuffle (xorshift), so every run matches the same market. */
function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  let state = 0x9e3779b9;
  for (let i = out.length - 1; i > 0; i--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = (state >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;

/** `reference: false` skips the pairwise estimate (for profiling the rest). */
export async function matchAtScale({ reference = true } = {}): Promise<Record<string, number>> {
  const network: Network = { chainId: 31337, deals: addressOf(7, 1) };
  const solver = addressOf(8, 1);
  const hashes = new OfferHashes(network);
  const expiry = BigInt(Math.floor(Date.now() / 1000) + 3600);
  const resources: StoredResourceOffer[] = [];
  const jobs: StoredJobOffer[] = [];
  for (let i = 0; i < N; i++) {
    const offer = resourceOfferAt(i, solver, expiry);
    resources.push({
      id: hashes.resourceOfferId(offer),
      signed: { offer, signature: SIGNATURE },
      status: 'open',
      dealId: null,
      createdAt: i,
    });
  }
  for (const i of shuffled([...Array(N).keys()])) {
    const offer = jobOfferAt(i, solver, expiry);
    jobs.push({
      id: hashes.jobOfferId(offer),
      signed: { offer, signature: SIGNATURE },
      status: 'queued',
      dealId: null,
      reason: null,
      createdAt: N + jobs.length,
    });
  }

  // The index alone.
  const now = BigInt(Math.floor(Date.now() / 1000));
  const book = new OfferBook(solver);
  let started = performance.now();
  for (const resource of resources) book.addResource(resource);
  let indexMatches = 0;
  for (const job of jobs) {
    const best = book.bestResourceFor(job.signed.offer, now);
    if (best) {
      book.removeResource(best.id);
      indexMatches++;
    } else book.addJob(job);
  }
  const indexMs = performance.now() - started;
  if (indexMatches !== N) throw new Error(`the index matched ${indexMatches} of ${N} jobs`);

  // The reference, every pair, on 1,000 jobs against the 100,000 offers (then scaled).
  started = performance.now();
  for (const job of jobs.slice(0, reference ? 1000 : 0)) matchJob(job.signed.offer, resources, now);
  const pairwiseEstimateMs = ((performance.now() - started) * N) / 1000;

  // The market with the store, as the solver runs it.
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-bench-match-'));
  const store = new SqliteStore(join(dir, 'solver.sqlite'));
  const events = new EventLog(store, new EventHub());
  const market = new Market({ store, solver, hashes, publish: (to, event) => events.publish(to, event) });
  let deals = 0;
  try {
    started = performance.now();
    const cpu = process.cpuUsage();
    for (let from = 0; from < N; from += COMMIT) {
      store.transaction(() => {
        for (const r of resources.slice(from, from + COMMIT)) market.addResourceOffer(r);
      });
      events.flush();
      await turn();
    }
    for (let from = 0; from < N; from += COMMIT) {
      store.transaction(() => {
        for (const j of jobs.slice(from, from + COMMIT)) {
          if (market.addJobOffer(j).status === 'matched') deals++;
        }
      });
      events.flush();
      await turn();
    }
    const storeMs = performance.now() - started;
    const { user, system } = process.cpuUsage(cpu);
    if (deals !== N) throw new Error(`the market matched ${deals} of ${N} jobs`);
    return {
      solver_match_100k_ms: Math.round(storeMs),
      solver_match_100k_cpu_ms: Math.round((user + system) / 1000),
      solver_match_100k_index_ms: Math.round(indexMs),
      solver_match_100k_pairwise_estimate_ms: Math.round(pairwiseEstimateMs),
    };
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** `sockets: false` skips the event sockets (for profiling the posts). */
export async function solverOverHttp({ sockets: withSockets = true } = {}): Promise<Record<string, number>> {
  const anvil = await startAnvil();
  const dataDir = await mkdtemp(join(tmpdir(), 'lilypad-bench-solver-'));
  let solver: Solver | undefined;
  const sockets: { close(): void }[] = [];
  try {
    const contracts = await deployContracts(
      walletClientFor(anvil.rpcUrl, anvil.chainId, devAccount('deployer').privateKey),
      publicClientFor(anvil.rpcUrl, anvil.chainId),
    );
    const network = { chainId: anvil.chainId, rpcUrl: anvil.rpcUrl, ...contracts };
    const solverAccount = privateKeyToAccount(devAccount('solver').privateKey);
    const hashes = new OfferHashes(network);
    const expiry = BigInt(Math.floor(Date.now() / 1000) + 3600);

    // 100,000 open resource offers, written to the solver's store before it starts (it loads them).
    const prefill = new SqliteStore(join(dataDir, 'solver.sqlite'));
    prefill.transaction(() => {
      for (let i = 0; i < N; i++) {
        const offer = resourceOfferAt(i, solverAccount.address, expiry);
        prefill.addResourceOffer({
          id: hashes.resourceOfferId(offer),
          signed: { offer, signature: SIGNATURE },
          status: 'open',
          dealId: null,
          createdAt: i,
        });
      }
    });
    prefill.close();

    solver = new Solver({
      network,
      privateKey: devAccount('solver').privateKey,
      dataDir,
      logger: pino({ level: 'silent' }),
      pollIntervalMs: 1000,
    });
    const url = await solver.start();

    // Each post by its own account, signed beforehand: half job offers (each matched against the
    // 100,000), half resource offers (each added to the book).
    const key = (i: number) => keccak256(toHex(`lilypad bench account ${i}`));
    const posts: { path: string; body: string }[] = [];
    for (let i = 0; i < 400; i++) {
      const account = privateKeyToAccount(key(i));
      if (i % 2 === 0) {
        const offer = jobOfferAt(i, solverAccount.address, expiry, account.address);
        const signature = await account.signTypedData(jobOfferTypedData(network, offer));
        posts.push({ path: '/api/v1/job-offers', body: JSON.stringify({ offer, signature }, bigints) });
      } else {
        const offer = resourceOfferAt(N + i, solverAccount.address, expiry, account.address);
        const signature = await account.signTypedData(resourceOfferTypedData(network, offer));
        posts.push({ path: '/api/v1/resource-offers', body: JSON.stringify({ offer, signature }, bigints) });
      }
    }
    const latencies: number[] = [];
    for (const [i, post] of posts.entries()) {
      const started = performance.now();
      const response = await fetch(`${url}${post.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: post.body,
      });
      await response.arrayBuffer();
      if (response.status !== 201) throw new Error(`post ${i} answered ${response.status}`);
      if (i >= 20) latencies.push(performance.now() - started); // the first ones warm the JIT up
    }
    latencies.sort((a, b) => a - b);

    // Event sockets: each client its own account; each gets the event of its own job offer.
    const clients = withSockets ? 3000 : 0;
    const errors: unknown[] = [];
    const received = new Set<number>();
    const accounts = Array.from({ length: clients }, (_, i) => privateKeyToAccount(key(10_000 + i)));
    for (let from = 0; from < clients; from += 100) {
      const opened = await Promise.allSettled(
        accounts.slice(from, from + 100).map((account, k) =>
          new SolverClient(url, account).subscribe((event: SolverEvent) => {
            if (event.type === 'job:queued') received.add(from + k);
          }),
        ),
      );
      for (const result of opened) {
        if (result.status === 'fulfilled') sockets.push(result.value);
        else errors.push(result.reason);
      }
    }
    // A job nobody can run (a GPU with 1 TB of VRAM), so each waits and its creator hears job:queued.
    for (let from = 0; from < clients; from += 100) {
      await Promise.all(
        accounts.slice(from, from + 100).map(async (account, k) => {
          const offer = {
            ...jobOfferAt(from + k, solverAccount.address, expiry, account.address),
            spec: { cpu: 1, gpu: 1, gpuVram: 1_000_000, ram: 1, disk: 1 },
          };
          const signature = await account.signTypedData(jobOfferTypedData(network, offer));
          await new SolverClient(url, account)
            .postJobOffer({ offer, signature })
            .catch((error: unknown) => errors.push(error));
        }),
      );
    }
    const deadline = Date.now() + 10_000;
    while (received.size < clients && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (errors.length > 0)
      process.stderr.write(`ws clients: ${errors.length} errors, first: ${String(errors[0])}\n`);
    return {
      solver_offer_p50_ms: Number(percentile(latencies, 50).toFixed(2)),
      solver_offer_p99_ms: Number(percentile(latencies, 99).toFixed(2)),
      solver_ws_clients: errors.length === 0 && received.size === clients ? clients : 0,
      solver_ws_clients_reached: received.size,
    };
  } finally {
    for (const socket of sockets) socket.close();
    await solver?.stop();
    await anvil.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function bigints(_key: string, value: unknown) {
  return typeof value === 'bigint' ? value.toString() : value;
}

export async function run(): Promise<Record<string, number>> {
  return { ...(await matchAtScale()), ...(await solverOverHttp()) };
}
