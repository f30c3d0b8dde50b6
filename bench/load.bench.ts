/**
 * Load: cowsay jobs submitted by many concurrent job creators (each its own funded account, each running its jobs
 * one after another through `runJob`) to several resource providers, on an anvil chain, with the solver in a
 * process of its own so its peak memory is its alone (VmHWM, else sampled RSS; it runs the sources through tsx,
 * whose loader is counted in it). Job creators, providers and the
 * mediator run in this process. Every job has a deadline, and so has the whole run: it stops by itself.
 *
 * LILYPAD_LOAD_JOBS (1000), LILYPAD_LOAD_CREATORS (50), LILYPAD_LOAD_PROVIDERS (4), LILYPAD_LOAD_SLOTS (8 per
 * provider), LILYPAD_LOAD_JOB_TIMEOUT_S (300) set its size; LILYPAD_LOG_LEVEL shows the services' logs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createTestClient, http, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { freePort, startAnvil } from '../src/chain/anvil.js';
import { publicClientFor, walletClientFor } from '../src/chain/clients.js';
import { solverUrlOf } from '../src/chain/deals.js';
import { deployContracts, fundDevNetwork } from '../src/chain/deploy.js';
import { devAccount } from '../src/chain/dev-accounts.js';
import { DEVNET_MEDIATOR_STAKE } from '../src/devnet/devnet.js';
import { runJob } from '../src/job-creator/run-job.js';
import { Mediator } from '../src/mediator/mediator.js';
import { defaults } from '../src/protocol/defaults.js';
import type { NetworkConfig } from '../src/protocol/network.js';
import { ResourceProvider } from '../src/resource-provider/resource-provider.js';

export const name = 'load';

const setting = (variable: string, fallback: number) => {
  const value = Number(process.env[variable] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${variable} must be a positive integer`);
  return value;
};

const root = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function run(): Promise<Record<string, number>> {
  const jobs = setting('LILYPAD_LOAD_JOBS', 1000);
  const creators = setting('LILYPAD_LOAD_CREATORS', 50);
  const providers = setting('LILYPAD_LOAD_PROVIDERS', 4);
  const slots = setting('LILYPAD_LOAD_SLOTS', 8);
  const jobTimeoutMs = setting('LILYPAD_LOAD_JOB_TIMEOUT_S', 300) * 1000;
  const logger = pino({ level: process.env.LILYPAD_LOG_LEVEL ?? 'silent' }, pino.destination(2));
  const dataDir = await mkdtemp(join(tmpdir(), 'lilypad-bench-load-'));
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const anvil = await startAnvil();
    stops.push(() => anvil.stop());
    const { rpcUrl, chainId } = anvil;
    const contracts = await deployContracts(
      walletClientFor(rpcUrl, chainId, devAccount('deployer').privateKey),
      publicClientFor(rpcUrl, chainId),
    );
    const chain = { chainId, rpcUrl, ...contracts };
    const fresh = (count: number) =>
      Array.from({ length: count }, () => {
        const privateKey = generatePrivateKey();
        return { privateKey, address: privateKeyToAddress(privateKey) };
      });
    const creatorAccounts = fresh(creators);
    const providerAccounts = fresh(providers);
    const testClient = createTestClient({ mode: 'anvil', chain: undefined, transport: http(rpcUrl) });
    await Promise.all(
      [...creatorAccounts, ...providerAccounts].map(({ address }) =>
        testClient.setBalance({ address, value: parseEther('100') }),
      ),
    );
    const mediatorAccount = devAccount('mediator');
    await fundDevNetwork({
      ...chain,
      accounts: [...creatorAccounts, ...providerAccounts, mediatorAccount],
      amountLP: parseEther('1000'),
    });

    const solver = await startSolverProcess(chain, join(dataDir, 'solver'));
    stops.push(() => solver.stop());
    const network: NetworkConfig = { ...chain, solver: devAccount('solver').address, solverUrl: solver.url };
    const mediators = [mediatorAccount.address];
    const mediator = new Mediator({
      network,
      privateKey: mediatorAccount.privateKey,
      dataDir: join(dataDir, 'mediator'),
      logger: logger.child({ service: 'mediator' }),
      stake: DEVNET_MEDIATOR_STAKE,
    });
    stops.push(() => mediator.stop());
    const resourceProviders = providerAccounts.map(
      ({ privateKey }, i) =>
        new ResourceProvider({
          network,
          privateKey,
          dataDir: join(dataDir, `resource-provider-${i}`),
          logger: logger.child({ service: `resource-provider-${i}` }),
          spec: defaults.devnetSpec,
          pricing: defaults.resourceProvider,
          mediators,
          slots,
        }),
    );
    for (const provider of resourceProviders) stops.push(() => provider.stop());
    await Promise.all([mediator.start(), ...resourceProviders.map((provider) => provider.start())]);

    let next = 0;
    let completed = 0;
    let failed = 0;
    const reasons = new Map<string, number>();
    const fail = (reason: string) => {
      failed++;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    };
    const progress = setInterval(
      () => process.stderr.write(`load: ${completed} completed, ${failed} failed of ${jobs}\n`),
      30_000,
    );
    const creator = async ({ privateKey }: { privateKey: `0x${string}` }, index: number) => {
      for (let job = next++; job < jobs; job = next++) {
        const message = `moo ${job}`;
        try {
          const result = await runJob({
            network,
            privateKey,
            dataDir: join(dataDir, `job-creator-${index}`),
            module: 'cowsay:v0.0.1',
            inputs: { Message: message },
            maxPrice: defaults.maxPrice,
            mediationFee: defaults.mediationFee,
            mediators,
            signal: AbortSignal.timeout(jobTimeoutMs),
          });
          if (result.state === 'Accepted' && result.stdout.includes(message)) completed++;
          else fail(`ended ${result.state}${result.stdout.includes(message) ? '' : ' without the message'}`);
        } catch (error) {
          fail(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        }
      }
    };
    const started = performance.now();
    await Promise.all(creatorAccounts.map(creator));
    const seconds = (performance.now() - started) / 1000;
    clearInterval(progress);
    for (const [reason, count] of reasons) process.stderr.write(`load: ${count} failed: ${reason}\n`);
    const solverRssMb = await solver.peakRssMb();
    return {
      load_jobs_completed: completed,
      load_jobs_failed: failed,
      load_jobs_per_s: Math.round((completed / seconds) * 10) / 10,
      load_solver_rss_mb: Math.round(solverRssMb),
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  }
}

type SolverProcess = { url: string; peakRssMb(): Promise<number>; stop(): Promise<void> };

/** `lilypad solver` from the sources, on a free port, found registered on-chain; its RSS sampled while it runs. */
async function startSolverProcess(
  chain: Pick<NetworkConfig, 'chainId' | 'rpcUrl' | 'deals'>,
  dataDir: string,
): Promise<SolverProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'src/cli/main.ts'),
      'solver',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        WEB3_PRIVATE_KEY: devAccount('solver').privateKey,
        WEB3_RPC_URL: chain.rpcUrl,
        LILYPAD_DEALS_ADDRESS: chain.deals,
        LILYPAD_DATA_DIR: dataDir,
        LILYPAD_LOG_LEVEL: process.env.LILYPAD_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    clearInterval(sampler);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    process.removeListener('exit', killOnExit);
  };
  let sampledKb = 0;
  const status = async (field: string) => {
    const text = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  };
  const sampler = setInterval(() => {
    void status('VmRSS').then((kb) => {
      sampledKb = Math.max(sampledKb, kb);
    });
  }, 250);
  // Ready once it has registered its URL: the job creators could find it from its address.
  const client = publicClientFor(chain.rpcUrl, chain.chainId);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the solver exited with code ${child.exitCode}`);
    const url = await solverUrlOf(client, chain, devAccount('solver').address).catch(() => undefined);
    if (url) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('the solver did not register within 60 s');
    }
    await sleep(100);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    peakRssMb: async () => Math.max(await status('VmHWM'), sampledKb) / 1024,
    stop,
  };
}
