/**
 * `lilypad mediator` as its own process, killed with SIGKILL and started again on the same data dir: the deals
 * it was drawn for while it was down are judged after the restart (no verdict missed), at once (two at a
 * time), and the deal it had judged before is not judged again (no verdict repeated).
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
  devnet = await startDevnet({ dataDir: join(dir, 'devnet'), logger: pino({ level: 'silent' }), slots: 2 });
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
const startMediator = () =>
  startCli(['mediator', '--network', 'devnet', '--concurrency', '2'], env(), /mediator started/);
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

it('judges the deals it was drawn for while killed, two at once, and gives no verdict twice', async () => {
  child = await startMediator();
  const first = await challengedJob('before the crash');
  expect(first.state).toBe('MediationAccepted');

  child.kill('SIGKILL');
  await new Promise((resolve) => child?.once('exit', resolve));
  const events: JobProgress[][] = [[], []];
  const whileDown = events.map((progress, i) => challengedJob(`while the mediator is down ${i}`, progress));
  // Both drawn while nobody is there to see it.
  await expect
    .poll(() => events.every((progress) => progress.some((e) => e.type === 'job:challenged')), {
      timeout: 60_000,
      interval: 100,
    })
    .toBe(true);

  child = await startMediator();
  const log: { msg: string; dealId?: string }[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('{')) log.push(JSON.parse(line));
  });
  const [second, third] = await Promise.all(whileDown);
  if (!second || !third) throw new Error('two jobs were run');
  expect([second.state, third.state]).toEqual(['MediationAccepted', 'MediationAccepted']);
  await stopCli(child);
  child = undefined;
  // Concurrency 2: both mediations began before either ended.
  const steps = log.filter((l) => l.msg === 'mediating' || l.msg === 'mediation done').map((l) => l.msg);
  expect(steps.slice(0, 2)).toEqual(['mediating', 'mediating']);

  const client = publicClientFor(devnet.network.rpcUrl, devnet.network.chainId);
  const verdicts = await client.getContractEvents({
    address: devnet.network.deals,
    abi: lilypadDealsAbi,
    eventName: 'VerdictGiven',
    args: { mediator: mediatorKey.address },
    fromBlock: 0n,
  });
  const judged = [first.dealId, second.dealId, third.dealId].map((id) => id.toLowerCase()).sort();
  expect(verdicts.map((v) => v.args.dealId?.toLowerCase()).sort()).toEqual(judged);
  const store = new MediatorStore(join(dir, 'mediator', 'devnet', 'mediator.sqlite'));
  try {
    expect(
      store
        .all()
        .map((m) => [m.dealId, m.status, m.resultCorrect])
        .sort(),
    ).toEqual(judged.map((id) => [id, 'done', true]));
    expect(store.all().every((m) => m.txHash !== null)).toBe(true);
  } finally {
    store.close();
  }
}, 180_000);
