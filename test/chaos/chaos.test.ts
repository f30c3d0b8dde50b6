/**
 * Faults, with jobs in flight, on a devnet whose services each run in a process of their own: every service
 * (solver, resource provider, mediator, bridge, web) is killed with SIGKILL at a random moment and started
 * again, the chain stops mining for a while and is frozen (SIGSTOP), the provider is cut off from the solver in
 * the middle of an upload, and its disk fills up. Jobs come from job creators (some challenge every result, so
 * the mediator has work), from a smart contract through the bridge, and from the web API.
 *
 * Afterwards: every deal reaches a final state on-chain (what the services leave unfinished is timed out after
 * a time jump, as anyone may), the result of every deal that was paid for is in the directory and verifies
 * against its CID, no job offer is paid for twice, `token.balanceOf(deals) == Σ free + Σ locked`, and no
 * service crashed by itself.
 *
 * LILYPAD_CHAOS_SEED (printed: run it again with the same one), LILYPAD_CHAOS_JOBS (the least number of jobs,
 * default 8) and LILYPAD_CHAOS_FAULTS (default 9: each kind once) choose the run; LILYPAD_CHAOS_KEEP=1 keeps the
 * services' logs of a run that passed (those of a run that failed are always kept).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CID } from 'multiformats/cid';
import { type Address, createTestClient, getAddress, hexToBytes, http, parseEther, zeroAddress } from 'viem';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JobStatus } from '../../src/bridge/job-status.js';
import { lilypadCowsayAbi, lilypadCowsayBytecode } from '../../src/chain/artifacts/index.js';
import { chainFor, publicClientFor, walletClientFor } from '../../src/chain/clients.js';
import { dealStatus, timeoutJudge, timeoutMediate, timeoutSubmit } from '../../src/chain/deals.js';
import { type DevRole, devAccount } from '../../src/chain/dev-accounts.js';
import { depositFor } from '../../src/chain/jobs.js';
import { parseCheck } from '../../src/job-creator/check.js';
import { runJob } from '../../src/job-creator/run-job.js';
import { DealState, dealStateName, isFinal } from '../../src/protocol/deal-states.js';
import { defaults } from '../../src/protocol/defaults.js';
import { Random } from '../../src/sim/random.js';
import { memoryBlockstore } from '../../src/storage/blockstore.js';
import { downloadFolder } from '../../src/storage/verified-fetch.js';
import { createClient } from '../../src/web/client.js';
import { dealsOnChain, escrowTotals } from './chain-audit.js';
import { type ProcessNetwork, type ServiceName, startProcessNetwork } from './process-network.js';

const seed = Number(process.env.LILYPAD_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 32));
const jobCount = Number(process.env.LILYPAD_CHAOS_JOBS ?? 8);
const faultCount = Number(process.env.LILYPAD_CHAOS_FAULTS ?? 9);

const FAULTS = [
  'kill solver',
  'kill resource provider',
  'kill mediator',
  'kill bridge',
  'kill web',
  'stop mining',
  'freeze the chain',
  'cut the provider off mid-upload',
  "fill the provider's disk",
] as const;
type Fault = (typeof FAULTS)[number];

/** Deal timeouts of the job creators' jobs: short enough for the run, long enough for a restart or two. */
const TIMEOUTS = { submit: 90, judge: 30, mediate: 90 };
const PAID = new Set<number>([DealState.Accepted, DealState.MediationAccepted]);

let dir: string;
let net: ProcessNetwork;
let passed = false;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-chaos-'));
  net = await startProcessNetwork(dir);
}, 180_000);

afterAll(async () => {
  await net?.stop();
  // The services' logs stay for a run that failed.
  if (dir && passed && !process.env.LILYPAD_CHAOS_KEEP) await rm(dir, { recursive: true, force: true });
  else if (dir) console.log(`chaos: the services' logs are in ${join(dir, 'logs')}`);
});

it('loses no deal, no result and no money to killed services, a stalled chain, a cut link and a full disk', async () => {
  const random = new Random(seed);
  const moments = random.stream('moments');
  console.log(
    `chaos: seed ${seed} (LILYPAD_CHAOS_SEED=${seed} runs it again), ${jobCount} jobs, ${faultCount} faults`,
  );
  const { network } = net;
  const client = publicClientFor(network.rpcUrl, network.chainId);
  const test = createTestClient({
    mode: 'anvil',
    chain: chainFor(network.chainId, network.rpcUrl),
    transport: http(network.rpcUrl),
  });
  const cowsay = await deployCowsay();
  const web = await webClient();

  // ---- jobs: lanes that keep starting jobs until enough are done and every fault is injected ----
  let started = 0;
  let faultsDone = false;
  const completed: string[] = [];
  const failed: string[] = [];
  const more = () => started < jobCount || !faultsDone;
  const lane = async (kind: string, runOne: (n: number) => Promise<void>) => {
    while (more()) {
      const n = started++;
      try {
        await runOne(n);
        completed.push(`${kind} ${n}`);
      } catch (error) {
        failed.push(`${kind} ${n}: ${(error as Error).message.split('\n')[0]}`);
        await sleep(1_000); // a service is down for a moment: not a job a millisecond until it is back
      }
    }
  };
  const creatorLane = (role: DevRole) =>
    lane(`job of ${role}`, async (n) => {
      const result = await runJob({
        network,
        privateKey: devAccount(role).privateKey,
        dataDir: join(dir, 'job-creators', role),
        module: 'cowsay:v0.0.1',
        inputs: { Message: `chaos ${n}` },
        maxPrice: defaults.maxPrice,
        mediationFee: defaults.mediationFee,
        mediators: net.mediators,
        timeouts: TIMEOUTS,
        // Every third job is challenged: the mediator re-runs it.
        check: parseCheck(n % 3 === 2 ? 'p=1' : 'accept'),
        chainPollMs: 250,
        signal: AbortSignal.timeout(150_000),
      });
      expect(result.stdout).toContain(`chaos ${n}`);
    });
  const bridgeLane = lane('contract job', async (n) => {
    const hash = await walletClientFor(
      network.rpcUrl,
      network.chainId,
      devAccount('user5').privateKey,
    ).writeContract({
      address: cowsay,
      abi: lilypadCowsayAbi,
      functionName: 'runCowsay',
      args: [`chaos ${n}`],
      gas: 500_000n,
    });
    const receipt = await client.waitForTransactionReceipt({ hash, timeout: 60_000 });
    const [event] = await client.getContractEvents({
      address: cowsay,
      abi: lilypadCowsayAbi,
      eventName: 'CowsayRequested',
      blockHash: receipt.blockHash,
      strict: true,
    });
    if (!event) throw new Error('no CowsayRequested event');
    const status = await poll(150_000, async () => {
      const s = await client.readContract({
        address: cowsay,
        abi: lilypadCowsayAbi,
        functionName: 'statuses',
        args: [event.args.jobId],
      });
      return s === JobStatus.Pending ? undefined : s;
    });
    if (status !== JobStatus.Succeeded) throw new Error(`the contract's job ended ${status}`);
  });
  const webLane = lane('web job', async (n) => {
    const job = await retry(() =>
      web.submitJob({ module: 'cowsay:v0.0.1', inputs: { Message: `chaos ${n}` } }),
    );
    const done = await poll(150_000, async () => {
      const view = await web.job(job.id).catch(() => undefined); // the web app may be down for a moment
      return view?.status === 'paid' || view?.status === 'failed' ? view : undefined;
    });
    if (done.status !== 'paid') throw new Error(`the web job ended ${done.status}: ${JSON.stringify(done)}`);
  });

  // ---- faults: each kind once (in a seeded order), then at random, a random moment apart ----
  const injected = new Map<Fault, number>();
  const notInjected: string[] = [];
  const order = random.stream('faults').sample(FAULTS, FAULTS.length);
  const faults = (async () => {
    for (let i = 0; i < faultCount; i++) {
      await sleep(moments.uniform(1_500, 6_000));
      const fault = i < order.length ? (order[i] as Fault) : (FAULTS[random.int(FAULTS.length)] as Fault);
      const at = Date.now();
      const done = await inject(fault, moments, test);
      console.log(`chaos: ${new Date(at).toISOString()} ${fault}${done ? '' : ' (not injected)'}`);
      if (done) injected.set(fault, (injected.get(fault) ?? 0) + 1);
      else notInjected.push(fault);
      await restartCrashed();
    }
    faultsDone = true;
  })();
  await Promise.all([
    faults,
    creatorLane('jobCreator'),
    creatorLane('user7'),
    creatorLane('user8'),
    bridgeLane,
    webLane,
  ]);

  // ---- every deal to a final state: first by the services, then by the timeouts anyone may call ----
  await restartCrashed();
  const finalWithin = async (ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const open = (await dealsOnChain(client, network)).filter((d) => !isFinal(d.state));
      if (open.length === 0 || Date.now() > deadline) return open;
      await sleep(500);
    }
  };
  let open = await finalWithin(30_000);
  let timedOut = 0;
  if (open.length > 0) {
    // Past every deadline: the provider settles what silence accepted; the rest is timed out here.
    await test.increaseTime({ seconds: TIMEOUTS.submit + TIMEOUTS.judge + TIMEOUTS.mediate + 3600 });
    await test.mine({ blocks: 1 });
    open = await finalWithin(20_000);
    const anyone = walletClientFor(network.rpcUrl, network.chainId, devAccount('user9').privateKey);
    for (const { id, deal } of open) {
      const { state } = await dealStatus(client, network, id);
      if (state === DealState.Agreed) await timeoutSubmit(anyone, network, deal);
      else if (state === DealState.ResultsSubmitted) await timeoutJudge(anyone, network, deal);
      else if (state === DealState.Challenged) await timeoutMediate(anyone, network, deal);
      timedOut++;
    }
  }
  const deals = await dealsOnChain(client, network);
  const states = new Map<string, number>();
  for (const d of deals) states.set(dealStateName(d.state), (states.get(dealStateName(d.state)) ?? 0) + 1);
  const faultsTotal = [...injected.values()].reduce((a, b) => a + b, 0);
  console.log(
    [
      `chaos: seed ${seed}: ${faultsTotal} faults injected (${[...injected].map(([f, n]) => `${f} ×${n}`).join(', ')})` +
        (notInjected.length ? `; not injected: ${notInjected.join(', ')}` : ''),
      `chaos: ${completed.length} jobs completed, ${failed.length} failed${failed.length ? `:\n  ${failed.join('\n  ')}` : ''}`,
      `chaos: ${deals.length} deals on-chain (${[...states].map(([s, n]) => `${s} ${n}`).join(', ')}); ${timedOut} timed out by the test`,
    ].join('\n'),
  );

  expect(deals.filter((d) => !isFinal(d.state)).map((d) => [d.id, dealStateName(d.state)])).toEqual([]);
  expect(completed.length).toBeGreaterThan(0);

  // No job offer paid for twice.
  const paidPerOffer = new Map<string, number>();
  for (const d of deals.filter((d) => PAID.has(d.state)))
    paidPerOffer.set(d.deal.jobOffer, (paidPerOffer.get(d.deal.jobOffer) ?? 0) + 1);
  expect([...paidPerOffer].filter(([, n]) => n > 1)).toEqual([]);

  // No result lost: every paid deal's result is in the directory, and verifies block by block.
  for (const d of deals.filter((d) => PAID.has(d.state))) {
    expect(d.resultCID, `deal ${d.id} was paid without a result`).toBeDefined();
    const cid = CID.decode(hexToBytes(d.resultCID as `0x${string}`)).toString();
    const out = join(dir, 'results', cid);
    await downloadFolder(network.solverUrl, cid, memoryBlockstore(), out);
    expect(await readFile(join(out, 'stdout'), 'utf8')).toMatch(/chaos \d+/);
  }

  // Not a token lost or made: the contract holds exactly what it owes.
  const { held, owed } = await escrowTotals(client, network, deals);
  expect(owed).toBe(held);

  // A service may be killed, but never die by itself.
  expect(Object.values(net.services).flatMap((s) => s.crashes)).toEqual([]);
  passed = true;
}, 600_000);

/** Starts again a service that died by itself (its crash is kept, and fails the test at the end). */
async function restartCrashed(): Promise<void> {
  for (const service of Object.values(net.services)) if (!service.running) await service.start();
}

async function inject(
  fault: Fault,
  moments: Random,
  test: ReturnType<typeof createTestClient>,
): Promise<boolean> {
  const kill = fault.startsWith('kill ') ? (fault.slice(5) as ServiceName) : undefined;
  if (kill) {
    const service = net.services[kill];
    await service.kill();
    await sleep(moments.uniform(0, 2_000));
    await service.start();
    return true;
  }
  if (fault === 'stop mining') {
    await test.setAutomine(false);
    await sleep(moments.uniform(2_000, 6_000));
    await test.setAutomine(true);
    await test.mine({ blocks: 1 });
    return true;
  }
  if (fault === 'freeze the chain') {
    process.kill(net.anvil.pid, 'SIGSTOP');
    await sleep(moments.uniform(1_000, 4_000));
    process.kill(net.anvil.pid, 'SIGCONT');
    return true;
  }
  if (fault === 'cut the provider off mid-upload') {
    return net.proxy.cutNextUpload(moments.uniform(1_000, 4_000), 60_000);
  }
  if (!net.disk) return false; // no tmpfs without root
  await net.disk.fill();
  await sleep(moments.uniform(2_000, 5_000));
  await net.disk.free();
  return true;
}

/** The cowsay contract on the jobs contract, funded for many jobs. */
async function deployCowsay(): Promise<Address> {
  const { network } = net;
  const client = publicClientFor(network.rpcUrl, network.chainId);
  const deployer = walletClientFor(network.rpcUrl, network.chainId, devAccount('deployer').privateKey);
  const hash = await deployer.deployContract({
    abi: lilypadCowsayAbi,
    bytecode: lilypadCowsayBytecode,
    args: [network.jobs, parseEther('2')],
  });
  const receipt = await client.waitForTransactionReceipt({ hash });
  const cowsay = getAddress(receipt.contractAddress ?? zeroAddress);
  await depositFor(deployer, network, cowsay, parseEther('100'));
  return cowsay;
}

/** A web account with an API key. */
async function webClient() {
  const signup = await fetch(`${net.webUrl}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'chaos@example.org', password: 'correct horse battery' }),
  });
  expect(signup.status).toBe(201);
  const cookie = (signup.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const { csrfToken } = (await signup.json()) as { csrfToken: string };
  const key = await fetch(`${net.webUrl}/api/v1/keys`, {
    method: 'POST',
    headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'chaos' }),
  });
  const { secret } = (await key.json()) as { secret: string };
  return createClient({ url: net.webUrl, apiKey: secret });
}

async function poll<T>(ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe().catch(() => undefined);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`nothing after ${ms} ms`);
    await sleep(250);
  }
}

/** Tries again while the service is down (its restart takes a few seconds). */
async function retry<T>(action: () => Promise<T>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await action();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}
