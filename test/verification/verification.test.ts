/**
 * Verification end to end, through the real services of one devnet (anvil, solver, resource providers,
 * mediators, the job creator's `runJob`): every scenario of the verification issue, each asserting every
 * escrow balance (free, locked) and stake that changes. Deadlines are passed with anvil time travel.
 *
 * Terms of every deal here: P = 10 LP, F = 1 LP, cost = 1 LP (fixed price), R = max(F, 2 × cost) = 2 LP,
 * Ts = 2 LP.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type Address, createTestClient, type Hex, http, parseEther } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { publicClientFor } from '../../src/chain/clients.js';
import { dealStatus, escrowBalance, userOf } from '../../src/chain/deals.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { DEVNET_MEDIATOR_STAKE, type Devnet, startDevnet } from '../../src/devnet/devnet.js';
import { WasmExecutor } from '../../src/executors/wasm/wasm-executor.js';
import { parseCheck } from '../../src/job-creator/check.js';
import type { JobProgress } from '../../src/job-creator/progress.js';
import { type RunJobOptions, runJob } from '../../src/job-creator/run-job.js';
import { Mediator } from '../../src/mediator/mediator.js';
import { resolveModule } from '../../src/modules/resolve.js';
import { DealState } from '../../src/protocol/deal-states.js';
import { defaults } from '../../src/protocol/defaults.js';
import { ResourceProvider } from '../../src/resource-provider/resource-provider.js';
import { MisbehavingExecutor } from './misbehaving-executor.js';

const LP = (n: number) => parseEther(String(n));
const logger = pino({ level: process.env.LILYPAD_TEST_LOG ?? 'silent' });
const jobCreator = devAccount('jobCreator');
const consortium = [devAccount('user5'), devAccount('user6'), devAccount('user7')];
const testProvider = devAccount('user8');

let devnet: Devnet;
let dir: string;
let client: ReturnType<typeof publicClientFor>;
let testClient: ReturnType<typeof createTestClient>;
/** The provider under test: a real ResourceProvider whose executor misbehaves as each test asks. */
let provider: ResourceProvider;
const providerExecutor = new MisbehavingExecutor(new WasmExecutor());
let devMediator: Mediator;
const consortiumMediators: Mediator[] = [];
let nondeterministicModule: string;

const startMediator = (key: Hex, name: string, executor?: MisbehavingExecutor) =>
  new Mediator({
    network: devnet.network,
    privateKey: key,
    dataDir: join(dir, name),
    logger,
    stake: DEVNET_MEDIATOR_STAKE,
    pollIntervalMs: 100,
    ...(executor ? { executors: { wasm: executor } } : {}),
  });

beforeAll(async () => {
  // No bridge: its dev account (user6) is one of this file's consortium mediators.
  dir = await mkdtemp(join(tmpdir(), 'lilypad-verification-'));
  devnet = await startDevnet({ dataDir: join(dir, 'devnet'), logger, slots: 1, bridge: false });
  devMediator = devnet.mediator;
  client = publicClientFor(devnet.network.rpcUrl, devnet.network.chainId);
  testClient = createTestClient({ mode: 'anvil', transport: http(devnet.network.rpcUrl) });
  provider = new ResourceProvider({
    network: devnet.network,
    privateKey: testProvider.privateKey,
    dataDir: join(dir, 'test-provider'),
    logger,
    spec: defaults.devnetSpec,
    pricing: defaults.resourceProvider,
    mediators: [...devnet.mediators, ...consortium.map((m) => m.address)],
    slots: 1,
    executors: { wasm: providerExecutor },
  });
  // The third consortium member is dishonest: its re-runs never match.
  const members = consortium.map((m, i) =>
    startMediator(
      m.privateKey,
      `mediator-${m.role}`,
      i === 2 ? new MisbehavingExecutor(new WasmExecutor(), 'wrong-stdout') : undefined,
    ),
  );
  consortiumMediators.push(...members);
  await Promise.all([provider.start(), ...members.map((m) => m.start())]);
  // cowsay, marked not deterministic: judged by its evidence of work rather than its CID.
  const cowsay = await resolveModule('cowsay:v0.0.1');
  nondeterministicModule = join(dir, 'cowsay-nondeterministic');
  await cp(cowsay.dir, nondeterministicModule, { recursive: true });
  const manifestFile = join(nondeterministicModule, 'lilypad.module.json');
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  await writeFile(manifestFile, JSON.stringify({ ...manifest, deterministic: false }));
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([
    provider?.stop(),
    ...consortiumMediators.map((m) => m.stop()),
    devMediator?.stop(),
  ]);
  await devnet?.stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  providerExecutor.behaviour = 'honest';
});

type Snapshot = Map<string, { free: bigint; locked: bigint; stake: bigint }>;

async function snapshot(accounts: Address[]): Promise<Snapshot> {
  const entries = await Promise.all(
    accounts.map(async (a) => {
      const [balance, user] = await Promise.all([
        escrowBalance(client, devnet.network, a),
        userOf(client, devnet.network, a),
      ]);
      return [a.toLowerCase(), { ...balance, stake: user.stake }] as const;
    }),
  );
  return new Map(entries);
}

const everyone = () => [
  jobCreator.address,
  devnet.resourceProvider.address,
  testProvider.address,
  devnet.mediators[0] as Address,
  ...consortium.map((m) => m.address),
];

/** Runs `action` and checks that exactly these balances changed (free and locked, stake; the rest unchanged). */
async function expectChanges<T>(
  action: () => Promise<T>,
  changes: Record<Address, { free?: bigint; locked?: bigint; stake?: bigint }>,
): Promise<T> {
  const before = await snapshot(everyone());
  const result = await action();
  const after = await snapshot(everyone());
  const expected = new Map(Object.entries(changes).map(([a, c]) => [a.toLowerCase(), c]));
  for (const [account, now] of after) {
    const was = before.get(account) ?? { free: 0n, locked: 0n, stake: 0n };
    const change = expected.get(account) ?? {};
    expect({
      account,
      free: now.free - was.free,
      locked: now.locked - was.locked,
      stake: now.stake - was.stake,
    }).toEqual({ account, free: change.free ?? 0n, locked: change.locked ?? 0n, stake: change.stake ?? 0n });
  }
  return result;
}

let jobs = 0;
function job(options: Partial<RunJobOptions> & { events?: JobProgress[] }) {
  const events = options.events ?? [];
  return runJob({
    network: devnet.network,
    privateKey: jobCreator.privateKey,
    dataDir: join(dir, 'job-creator'),
    module: 'cowsay:v0.0.1',
    inputs: { Message: `verification job ${++jobs}` },
    maxPrice: defaults.maxPrice,
    mediationFee: defaults.mediationFee,
    mediators: devnet.mediators,
    timeouts: { submit: 60, judge: 30, mediate: 20 },
    // The devnet's honest provider unless a test names another.
    target: devnet.resourceProvider.address,
    chainPollMs: 100,
    onProgress: (event) => events.push(event),
    ...options,
  });
}

const travel = async (seconds: number) => {
  await testClient.increaseTime({ seconds });
  await testClient.mine({ blocks: 1 });
};

const waitFor = async (condition: () => Promise<boolean>, timeoutMs = 30_000) => {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const rp = () => devnet.resourceProvider.address;
const mediator = () => devnet.mediators[0] as Address;

describe('deterministic jobs', () => {
  it('1. honest provider, the job creator accepts: the cost moves to the provider', async () => {
    const result = await expectChanges(() => job({}), {
      [jobCreator.address]: { free: -LP(1) },
      [rp()]: { free: LP(1) },
    });
    expect(result.state).toBe('Accepted');
    expect(result.check.check).toBe('accept');
    expect(result.stdout).toContain('verification job');
  });

  it('2. cheating provider caught by a local check: its results collateral pays the mediator and the job creator', async () => {
    providerExecutor.behaviour = 'wrong-stdout';
    const events: JobProgress[] = [];
    const result = await expectChanges(
      () => job({ target: testProvider.address, check: parseCheck('local'), events }),
      {
        [jobCreator.address]: { free: LP(2) - LP(1) }, // R − F
        [testProvider.address]: { free: -LP(2) }, // R lost
        [mediator()]: { free: LP(1) }, // F
      },
    );
    expect(result.state).toBe('MediationRejected');
    const checked = events.find((e) => e.type === 'job:checked');
    expect(checked).toMatchObject({ check: 'local', challenge: true });
    expect(checked?.type === 'job:checked' && checked.wallTimeMs).toBeGreaterThan(0);
    expect(events.find((e) => e.type === 'job:settled')).toMatchObject({ paid: 0n, received: LP(1) });
    const record = devMediator.mediations().find((m) => m.dealId === result.dealId.toLowerCase());
    expect(record).toMatchObject({ status: 'done', resultCorrect: false });
  });

  it('   a local check of an honest result accepts without a challenge', async () => {
    providerExecutor.behaviour = 'honest';
    const result = await expectChanges(
      () => job({ target: testProvider.address, check: parseCheck('local') }),
      { [jobCreator.address]: { free: -LP(1) }, [testProvider.address]: { free: LP(1) } },
    );
    expect(result.state).toBe('Accepted');
    expect(result.check).toMatchObject({ check: 'local', challenge: false });
  });

  it('3. honest provider falsely challenged (p=1): the job creator pays the fee, the provider is paid', async () => {
    const result = await expectChanges(() => job({ check: parseCheck('p=1') }), {
      [jobCreator.address]: { free: -LP(2) }, // cost + F
      [rp()]: { free: LP(1) },
      [mediator()]: { free: LP(1) },
    });
    expect(result.state).toBe('MediationAccepted');
    expect(result.money).toMatchObject({ paid: LP(2), received: 0n });
  });

  it('   p=0 never challenges', async () => {
    const result = await job({ check: parseCheck('p=0'), random: () => 0.5 });
    expect(result).toMatchObject({ state: 'Accepted', check: { check: 'p=0', challenge: false } });
  });

  it('5. the job creator goes silent: the provider settles with timeoutJudge and is paid', async () => {
    const controller = new AbortController();
    let dealId: Hex | undefined;
    await expectChanges(
      async () => {
        const running = job({
          timeouts: { submit: 60, judge: 2, mediate: 20 },
          signal: controller.signal,
          onProgress: (event) => {
            // The job creator disappears as soon as the result is on-chain.
            if (event.type === 'job:results-submitted') {
              dealId = event.dealId;
              controller.abort();
            }
          },
        });
        await expect(running).rejects.toThrow(/cancelled/);
        await waitFor(
          async () => (await dealStatus(client, devnet.network, dealId as Hex)).state === DealState.Accepted,
        );
      },
      { [jobCreator.address]: { free: -LP(1) }, [rp()]: { free: LP(1) } },
    );
  });

  it('4. the provider never submits: the job creator times it out and takes its timeout collateral', async () => {
    providerExecutor.behaviour = 'crash';
    onTestFinished(() => {
      providerExecutor.behaviour = 'honest';
    });
    await expectChanges(
      async () => {
        const running = job({
          target: testProvider.address,
          onProgress: (event) => {
            if (event.type === 'job:agreed') void travel(61);
          },
        });
        await expect(running).rejects.toThrow(/did not submit a result in time/);
      },
      { [jobCreator.address]: { free: LP(2) }, [testProvider.address]: { free: -LP(2) } },
    );
  });

  it('6. the mediator is absent: timeoutMediate returns everything and cuts its stake; after a restart it does not vote', async () => {
    await devMediator.stop();
    const result = await expectChanges(
      () =>
        job({
          check: parseCheck('p=1'),
          onProgress: (event) => {
            if (event.type === 'job:challenged') void travel(21);
          },
        }),
      {
        [jobCreator.address]: { free: LP(0.5) },
        [rp()]: { free: LP(0.5) },
        [mediator()]: { locked: -LP(1), stake: -LP(1) },
      },
    );
    expect(result.state).toBe('TimedOutMediate');
    expect(result.money.received).toBe(LP(0.5));
    // Restarted on its state: it finds the draw it missed, sees the deal settled, and gives no verdict.
    devMediator = startMediator(devAccount('mediator').privateKey, 'devnet/mediator');
    await devMediator.start();
    await waitFor(async () =>
      devMediator.mediations().some((m) => m.dealId === result.dealId.toLowerCase() && m.status === 'done'),
    );
    expect(devMediator.mediations().find((m) => m.dealId === result.dealId.toLowerCase())).toMatchObject({
      resultCorrect: null,
      txHash: null,
    });
  });

  it('7. a 2-of-3 consortium with one dishonest mediator: the honest majority decides', async () => {
    const [honestA, honestB, dishonest] = consortium.map((m) => m.address) as [Address, Address, Address];
    const result = await expectChanges(
      () =>
        job({
          target: testProvider.address,
          mediators: [honestA, honestB, dishonest],
          check: parseCheck('p=1'),
        }),
      {
        [jobCreator.address]: { free: -LP(2) },
        [testProvider.address]: { free: LP(1) },
        [honestA]: { free: LP(0.5) },
        [honestB]: { free: LP(0.5) },
      },
    );
    expect(result.state).toBe('MediationAccepted');
    await waitFor(async () => consortiumMediators[2]?.mediations()[0]?.status === 'done');
    // The dishonest member either voted "wrong" before the majority decided, or found the deal decided.
    expect(consortiumMediators[2]?.mediations()[0]?.resultCorrect).not.toBe(true);
  });
});

describe('a module that is not deterministic', () => {
  it('8a. outputs differ between runs but the traces agree: the mediator accepts (a private deal: it signs its download of the claimed result)', async () => {
    providerExecutor.behaviour = 'noisy-stdout';
    const result = await expectChanges(
      () =>
        job({
          module: nondeterministicModule,
          target: testProvider.address,
          check: parseCheck('p=1'),
          private: true,
        }),
      {
        [jobCreator.address]: { free: -LP(2) },
        [testProvider.address]: { free: LP(1) },
        [mediator()]: { free: LP(1) },
      },
    );
    expect(result.state).toBe('MediationAccepted');
    expect(result.stdout).toMatch(/run \d+ at/);
    const record = devMediator.mediations().find((m) => m.dealId === result.dealId.toLowerCase());
    expect(record?.outcome).toMatch(/traces agree/);
  });

  it('8b. a fabricated trace: the mediator rejects', async () => {
    providerExecutor.behaviour = 'fabricated-trace';
    const result = await expectChanges(
      () => job({ module: nondeterministicModule, target: testProvider.address, check: parseCheck('p=1') }),
      {
        [jobCreator.address]: { free: LP(1) },
        [testProvider.address]: { free: -LP(2) },
        [mediator()]: { free: LP(1) },
      },
    );
    expect(result.state).toBe('MediationRejected');
    const record = devMediator.mediations().find((m) => m.dealId === result.dealId.toLowerCase());
    expect(record?.outcome).toMatch(/traces disagree/);
    providerExecutor.behaviour = 'honest';
  });
});
