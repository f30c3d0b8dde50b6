/**
 * A full disk in the middle of a deal: the provider cannot record that its job ran, so the step fails. Once
 * there is room again it tries the step again by itself (it used to leave the deal there until a restart, past
 * its submit deadline), and the deal is submitted and paid.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { it } from 'vitest';
import { publicClientFor } from '../../src/chain/clients.js';
import { dealStatus } from '../../src/chain/deals.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { DealState } from '../../src/protocol/deal-states.js';
import { defaults } from '../../src/protocol/defaults.js';
import { ResourceProvider } from '../../src/resource-provider/resource-provider.js';
import { gatedExecutor } from '../fixtures/gated-executor.js';
import { mountSmallDisk } from '../fixtures/small-disk.js';
import { useDevnet } from './fixtures/devnet.js';
import { postSilentJob, waitFor } from './fixtures/silent-job.js';

const shared = useDevnet('rp-disk-full');
const operator = devAccount('user5');

it.skipIf(process.getuid?.() !== 0)(
  'takes up a deal again once its full disk has room',
  async () => {
    const { devnet, dataDir } = shared;
    const disk = await mountSmallDisk(join(dataDir, 'provider-disk'), 32);
    if (!disk) return;
    const log: { msg: string; dealId?: string }[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          log.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    // The job waits at a gate, so the disk fills while it runs.
    const { executor: gated, running, release } = gatedExecutor();
    const provider = new ResourceProvider({
      network: devnet.network,
      privateKey: operator.privateKey,
      dataDir: disk.dir,
      logger,
      spec: defaults.devnetSpec,
      pricing: defaults.resourceProvider,
      mediators: devnet.mediators,
      slots: 1,
      executors: { wasm: gated },
    });
    await provider.start();
    const job = await postSilentJob(devnet.network, {
      message: 'a full disk',
      mediators: devnet.mediators,
      target: operator.address,
      judgeTimeout: 1n,
      nonce: 1201n,
    });
    try {
      await running;
      await disk.fill();
      release();
      // The step that could not be recorded failed (and was logged as such).
      await waitFor(() => log.find((line) => /failed/.test(line.msg)), 30_000);
      await disk.free();
      const ran = log.find((line) => line.msg.endsWith('running')) as { dealId: `0x${string}` };
      const client = publicClientFor(devnet.network.rpcUrl, devnet.network.chainId);
      await waitFor(async () => {
        const { state } = await dealStatus(client, devnet.network, ran.dealId);
        return state === DealState.Accepted ? state : undefined;
      }, 60_000);
    } finally {
      release();
      job.close();
      await provider.stop();
      disk.unmount();
    }
  },
  120_000,
);
