/**
 * `lilypad mediator` as its own process, killed with SIGKILL and started again on the same data dir: a deal
 * it was drawn for while it was down is judged after the restart (no verdict missed), and the deal it had
 * judged before is not judged again (no verdict repeated).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lilypadDealsAbi } from '../../src/chain/artifacts/index.js';
import { publicClientFor } from '../../src/chain/clients.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { type Devnet, startDevnet } from '../../src/devnet/devnet.js';
import { writeDevnetState } from '../../src/devnet/state-file.js';
import { parseCheck } from '../../src/job-creator/check.js';
import type { JobProgress } from '../../src/job-creator/progress.js';
import { runJob } from '../../src/job-creator/run-job.js';
import { MediatorStore } from '../../src/mediator/mediator-store.js';
import { defaults } from '../../src/protocol/defaults.js';
import { startCli, stopCli } from '../e2e/cli.js';

let devnet: Devnet;
let dir: string;
let child: ChildProcess | undefined;
const mediatorKey = devAccount('mediator');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-mediator-restart-'));
  devnet = await startDevnet({ dataDir: join(dir, 'devnet'), logger: pino({ level: 'silent' }), slots: 1 });
  // The devnet's own mediator service gives way to the command under test (same account).
  await devnet.mediator.stop();
  await writeDevnetState(dir, { pid: process.pid, network: devnet.network, mediators: devnet.mediators });
}, 60_000);

afterAll(async () => {
  if (child) await stopCli(child);
  await devnet?.stop();
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({
  LILYPAD_DATA_DIR: dir,
  WEB3_PRIVATE_KEY: mediatorKey.privateKey,
  LILYPAD_LOG_LEVEL: 'info',
});
const startMediator = () => startCli(['mediator', '--network', 'devnet'], env(), /mediator started/);
const challengedJob = (message: string, events: JobProgress[] = []) =>
  runJob({
    network: devnet.network,
    privateKey: devAccount('jobCreator').privateKey,
    dataDir: join(dir, 'job-creator'),
    module: 'cowsay:v0.0.1',
    inputs: { Message: message },
    maxPrice: defaults.maxPrice,
    mediationFee: defaults.mediationFee,
    mediators: devnet.mediators,
    timeouts: { submit: 60, judge: 30, mediate: 60 },
    check: parseCheck('p=1'),
    chainPollMs: 100,
    onProgress: (event) => events.push(event),
  });

it('judges the deal it was drawn for while killed, and gives no verdict twice', async () => {
  child = await startMediator();
  const first = await challengedJob('before the crash');
  expect(first.state).toBe('MediationAccepted');

  child.kill('SIGKILL');
  await new Promise((resolve) => child?.once('exit', resolve));
  const events: JobProgress[] = [];
  const second = challengedJob('while the mediator is down', events);
  // Drawn while nobody is there to see it.
  await expect
    .poll(() => events.some((e) => e.type === 'job:challenged'), { timeout: 30_000, interval: 100 })
    .toBe(true);

  child = await startMediator();
  expect((await second).state).toBe('MediationAccepted');
  await stopCli(child);
  child = undefined;

  const client = publicClientFor(devnet.network.rpcUrl, devnet.network.chainId);
  const verdicts = await client.getContractEvents({
    address: devnet.network.deals,
    abi: lilypadDealsAbi,
    eventName: 'VerdictGiven',
    args: { mediator: mediatorKey.address },
    fromBlock: 0n,
  });
  expect(verdicts.map((v) => v.args.dealId).sort()).toEqual([first.dealId, (await second).dealId].sort());
  const store = new MediatorStore(join(dir, 'mediator', 'devnet', 'mediator.sqlite'));
  try {
    expect(store.all().map((m) => [m.dealId, m.status, m.resultCorrect])).toEqual([
      [first.dealId.toLowerCase(), 'done', true],
      [(await second).dealId.toLowerCase(), 'done', true],
    ]);
    expect(store.all().every((m) => m.txHash !== null)).toBe(true);
  } finally {
    store.close();
  }
}, 120_000);
