/**
 * Restart safety: a real provider process is killed with SIGKILL at every step of one deal in turn (signed,
 * running, ran, uploaded, submitted), each time right after the step was committed, and started again on
 * the same data dir. The deal still ends Accepted and paid: the signature is sent again, the job re-run, the
 * result uploaded and submitted, and the silent job creator's deal settled by timeoutJudge. Then
 * `lilypad resource-provider status` reads the figures from the state, and `withdraw` takes the pay out.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { formatEther } from 'viem';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lilypadTokenAbi } from '../../src/chain/artifacts/index.js';
import { publicClientFor } from '../../src/chain/clients.js';
import { dealStatus, escrowBalance } from '../../src/chain/deals.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { type Devnet, startDevnet } from '../../src/devnet/devnet.js';
import { DealState } from '../../src/protocol/deal-states.js';
import { defaults } from '../../src/protocol/defaults.js';
import type { SolverEvent } from '../../src/protocol/wire.js';
import { runCli } from '../e2e/cli.js';
import { postSilentJob, waitFor } from './fixtures/silent-job.js';

const script = fileURLToPath(new URL('./fixtures/provider-process.ts', import.meta.url));
const operator = devAccount('user5');

let devnet: Devnet;
let dataDir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-rp-restart-'));
  devnet = await startDevnet({
    dataDir: join(dataDir, 'devnet'),
    logger: pino({ level: 'silent' }),
    slots: 1,
  });
}, 60_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await devnet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Starts the provider process; resolves with what it printed once it is ready, or killed itself. */
function startProvider(killAt?: string): Promise<{ exited: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', script], {
      env: {
        ...process.env,
        LILYPAD_TEST_NETWORK: JSON.stringify(devnet.network),
        LILYPAD_TEST_MEDIATORS: JSON.stringify(devnet.mediators),
        WEB3_PRIVATE_KEY: operator.privateKey,
        LILYPAD_DATA_DIR: join(dataDir, 'provider', 'devnet'),
        ...(killAt ? { LILYPAD_TEST_KILL_AT: killAt } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = process_;
    let stdout = '';
    let stderr = '';
    const exited = new Promise<string>((done) => process_.once('exit', () => done(stdout)));
    process_.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (/ready|killed at/.test(stdout)) resolve({ exited });
    });
    process_.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    process_.once('exit', (code, signal) => {
      if (!/ready|killed at/.test(stdout))
        reject(new Error(`the provider exited (${code ?? signal}):\n${stderr}`));
    });
  });
}

it('completes and is paid for a deal while killed at every step of it', async () => {
  const { network } = devnet;
  const client = publicClientFor(network.rpcUrl, network.chainId);
  const before = await escrowBalance(client, network, operator.address);
  let job: Awaited<ReturnType<typeof postSilentJob>> | undefined;
  try {
    const steps = ['signed', 'running', 'ran', 'uploaded', 'submitted'];
    let dealId: string | undefined;
    for (const [i, step] of steps.entries()) {
      const started = await startProvider(step);
      // The job is posted once the provider's offer is open.
      job ??= await postSilentJob(network, {
        message: 'killed five times',
        mediators: devnet.mediators,
        target: operator.address,
        judgeTimeout: 2n,
        nonce: 77n,
      });
      const printed = await started.exited;
      const killed = /killed at (\w+) (0x[0-9a-f]{64})/.exec(printed);
      expect(killed?.[1], `run ${i}`).toBe(step);
      // On a loaded machine the solver may give up on the proposal signed just before the first kill and
      // propose the job again: from the job's start on, it is one deal.
      if (step === 'running') dealId = killed?.[2];
      if (dealId) expect(killed?.[2]).toBe(dealId);
    }
    // The last start runs to the end: the payment that fell due while it was down is claimed.
    await startProvider();
    const id = dealId as `0x${string}`;
    await waitFor(async () => {
      const { state } = await dealStatus(client, network, id);
      return state === DealState.Accepted ? state : undefined;
    }, 30_000);
    const settled = await waitFor(
      () =>
        job?.events.find(
          (e): e is Extract<SolverEvent, { type: 'deal:settled' }> => e.type === 'deal:settled',
        ),
      10_000,
    );
    expect(settled.dealId).toBe(id);
    const after = await escrowBalance(client, network, operator.address);
    expect(after.free - before.free).toBe(defaults.resourceProvider.fixedPrice);
    expect(after.locked).toBe(before.locked);

    const status = await runCli(['resource-provider', 'status', '--data-dir', join(dataDir, 'provider')], {});
    expect(status.stderr).toBe('');
    expect(status.stdout).toContain('devnet:');
    expect(status.stdout).toContain('deals settled with pay: 1');
    expect(status.stdout).toContain(
      `LP earned from settled deals: ${formatEther(defaults.resourceProvider.fixedPrice)} LP`,
    );
    expect(status.stdout).toContain('jobs running or publishing their result: 0');
  } finally {
    job?.close();
    child?.kill('SIGTERM');
  }

  // Withdraw: the free balance goes back to the wallet.
  const env = {
    WEB3_RPC_URL: network.rpcUrl,
    LILYPAD_SOLVER_URL: network.solverUrl,
    WEB3_PRIVATE_KEY: operator.privateKey,
  };
  const { free } = await escrowBalance(client, network, operator.address);
  const held = () =>
    client.readContract({
      address: network.token,
      abi: lilypadTokenAbi,
      functionName: 'balanceOf',
      args: [operator.address],
    });
  const heldBefore = await held();
  const withdrawn = await runCli(['resource-provider', 'withdraw', formatEther(free)], env);
  expect(withdrawn.code, withdrawn.stderr).toBe(0);
  expect(withdrawn.stdout).toContain(`withdrew ${formatEther(free)} LP`);
  expect(await held()).toBe(heldBefore + free);
  const again = await runCli(['resource-provider', 'withdraw'], env);
  expect(again.code).not.toBe(0);
  expect(again.stderr).toContain('nothing is free yet');
}, 300_000);
