/**
 * Capacity: the slots are what fits on the machine; a provider runs that many jobs at once and signs no deal
 * beyond them, even when the solver holds more of its offers than it has slots. Its figures are scraped
 * from the Prometheus endpoint.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { type Devnet, startDevnet } from '../../src/devnet/devnet.js';
import type { Executor } from '../../src/executors/executor.js';
import { WasmExecutor } from '../../src/executors/wasm/wasm-executor.js';
import { runJob } from '../../src/job-creator/run-job.js';
import { defaults } from '../../src/protocol/defaults.js';
import { resourceOfferId, resourceOfferTypedData } from '../../src/protocol/eip712.js';
import { SolverClient } from '../../src/protocol/solver-client.js';
import { machineFor, slotsFor } from '../../src/resource-provider/capacity.js';
import { ResourceProvider } from '../../src/resource-provider/resource-provider.js';
import { waitFor } from './fixtures/silent-job.js';

const spec = { cpu: 1000, ram: 1024, disk: 100, gpu: 0, gpuVram: 0 };

describe('slotsFor', () => {
  it('counts the jobs that fit, and names the resource that runs out first', () => {
    expect(slotsFor({ cpu: 8000, ram: 4096, disk: 10_000, gpus: [] }, spec)).toEqual({
      slots: 4,
      limitedBy: 'ram',
    });
    expect(slotsFor({ cpu: 2500, ram: 65_536, disk: 10_000, gpus: [] }, spec)).toEqual({
      slots: 2,
      limitedBy: 'cpu',
    });
    const gpuJob = { ...spec, gpu: 1, gpuVram: 16_000 };
    const gpus = [
      { name: 'a', vramMB: 24_000 },
      { name: 'b', vramMB: 8_000 },
    ];
    expect(slotsFor({ cpu: 64_000, ram: 65_536, disk: 10_000, gpus }, gpuJob)).toEqual({
      slots: 1,
      limitedBy: 'gpuVram',
    });
    expect(slotsFor({ cpu: 64_000, ram: 65_536, disk: 10_000, gpus: [] }, gpuJob).slots).toBe(0);
    expect(slotsFor(machineFor(spec, 3), spec).slots).toBe(3);
  });

  it('refuses to start a provider that cannot run one job', async () => {
    const provider = new ResourceProvider({
      network: {
        chainId: 1,
        rpcUrl: 'http://127.0.0.1:1',
        deals: '0x0000000000000000000000000000000000000001',
        token: '0x0000000000000000000000000000000000000002',
        solver: '0x0000000000000000000000000000000000000003',
        solverUrl: 'http://127.0.0.1:1',
      },
      privateKey: devAccount('user6').privateKey,
      dataDir: '/nonexistent',
      logger: pino({ level: 'silent' }),
      spec,
      machine: { cpu: 500, ram: 8192, disk: 1000, gpus: [] },
      pricing: defaults.resourceProvider,
      mediators: [],
    });
    expect(provider.slots).toBe(0);
    await expect(provider.start()).rejects.toThrow(/cannot run one job.*milli-CPU/);
  });
});

describe('a provider with 2 slots', () => {
  let devnet: Devnet;
  let dataDir: string;
  let provider: ResourceProvider;
  let running = 0;
  let mostAtOnce = 0;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const operator = devAccount('user6');

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lilypad-capacity-'));
    devnet = await startDevnet({
      dataDir: join(dataDir, 'devnet'),
      logger: pino({ level: 'silent' }),
      slots: 1,
    });
    const wasm = new WasmExecutor();
    const gated: Executor = {
      kind: 'wasm',
      run: async (job, options) => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        try {
          await gate;
          return await wasm.run(job, options);
        } finally {
          running--;
        }
      },
    };
    provider = new ResourceProvider({
      network: devnet.network,
      privateKey: operator.privateKey,
      dataDir: join(dataDir, 'provider'),
      logger: pino({ level: 'silent' }),
      spec: defaults.devnetSpec,
      // More slots asked than the machine fits: it offers 2.
      slots: 5,
      machine: machineFor(defaults.devnetSpec, 2),
      pricing: defaults.resourceProvider,
      mediators: devnet.mediators,
      executors: { wasm: gated },
      metricsPort: 0,
    });
    await provider.start();
  }, 60_000);

  afterAll(async () => {
    release();
    await provider?.stop();
    await devnet?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('runs 2 jobs at once, refuses a third deal while they run (its job waits for a slot), and shows it on /metrics', async () => {
    expect(provider.slots).toBe(2);
    const { network } = devnet;
    // A third offer the provider's key signed, beyond its slots: as one left over from an earlier run would be.
    const account = privateKeyToAccount(operator.privateKey);
    const extra = {
      resourceProvider: operator.address,
      solver: network.solver,
      spec: defaults.devnetSpec,
      ...defaults.resourceProvider,
      mediators: devnet.mediators,
      modules: [],
      nonce: 424242n,
      expiry: BigInt(Math.floor(Date.now() / 1000) + 600),
    };
    const extraId = resourceOfferId(network, extra);
    const solver = new SolverClient(network.solverUrl, account);
    await solver.postResourceOffer({
      offer: extra,
      signature: await account.signTypedData(resourceOfferTypedData(network, extra)),
    });

    const matches: { dealId: `0x${string}`; resourceOffer: `0x${string}` }[] = [];
    const jobs = [0, 1, 2].map((i) =>
      runJob({
        network,
        privateKey: devAccount('jobCreator').privateKey,
        dataDir: join(dataDir, 'job-creator'),
        module: 'cowsay:v0.0.1',
        inputs: { Message: `slot ${i}` },
        maxPrice: defaults.maxPrice,
        mediationFee: defaults.mediationFee,
        mediators: devnet.mediators,
        target: operator.address,
        onProgress: (event) => {
          if (event.type === 'job:matched')
            matches.push({ dealId: event.dealId, resourceOffer: event.deal.resourceOffer });
        },
      }),
    );
    const refused = await waitFor(
      () => (running === 2 ? matches.find((m) => m.resourceOffer === extraId) : undefined),
      60_000,
    );
    // Refused without waiting for the proposal deadline: the provider withdraws the offer beyond its slots.
    await waitFor(
      async () => ((await solver.getDeal(refused.dealId)).status === 'cancelled' ? true : undefined),
      20_000,
    );
    expect((await solver.getResourceOffer(extraId)).status).toBe('cancelled');
    expect(mostAtOnce).toBe(2);

    const scrape = async () => {
      const response = await fetch(`http://127.0.0.1:${provider.metricsPort}/metrics`);
      expect(response.headers.get('content-type')).toContain('text/plain');
      return response.text();
    };
    const gauge = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const busy = await scrape();
    expect(gauge(busy, 'lilypad_rp_slots')).toBe(2);
    expect(gauge(busy, 'lilypad_rp_jobs_running')).toBe(2);
    expect(gauge(busy, 'lilypad_rp_collateral_locked_lp')).toBe(4);
    expect(gauge(busy, 'lilypad_rp_jobs_done_total')).toBe(0);

    release();
    // The refused job went back to the market and runs once a slot is free.
    const results = await Promise.all(jobs);
    expect(results.map((r) => r.state)).toEqual(['Accepted', 'Accepted', 'Accepted']);
    await waitFor(
      async () => (gauge(await scrape(), 'lilypad_rp_jobs_done_total') === 3 ? true : undefined),
      20_000,
    );
    const after = await scrape();
    expect(gauge(after, 'lilypad_rp_earned_lp_total')).toBe(3);
    expect(gauge(after, 'lilypad_rp_jobs_running')).toBe(0);
    expect(mostAtOnce).toBe(2);
  }, 120_000);
});
