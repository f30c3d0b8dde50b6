/**
 * Silence is acceptance: when a job creator never accepts, the resource provider settles the deal with
 * `timeoutJudgeMany` once the judging window has passed, and is paid exactly the cost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { publicClientFor } from '../../src/chain/clients.js';
import { dealStatus, escrowBalance } from '../../src/chain/deals.js';
import { type Devnet, startDevnet } from '../../src/devnet/devnet.js';
import { DealState } from '../../src/protocol/deal-states.js';
import { defaults } from '../../src/protocol/defaults.js';
import type { SolverEvent } from '../../src/protocol/wire.js';
import { accounts } from '../protocol/fixtures.js';
import { postSilentJob, waitFor } from './fixtures/silent-job.js';

let devnet: Devnet;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-silent-'));
  devnet = await startDevnet({ dataDir, logger: pino({ level: 'silent' }), slots: 1 });
});

afterAll(async () => {
  await devnet.stop();
  await rm(dataDir, { recursive: true, force: true });
});

it('lets the provider settle with timeoutJudge and get paid when the job creator stays silent', async () => {
  const { network } = devnet;
  const client = publicClientFor(network.rpcUrl, network.chainId);
  const rp = devnet.resourceProvider.address;
  const jc = accounts.jobCreator.address;
  const before = {
    rp: await escrowBalance(client, network, rp),
    jc: await escrowBalance(client, network, jc),
  };
  const job = await postSilentJob(network, {
    message: 'anyone there?',
    mediators: devnet.mediators,
    nonce: 7n,
  });
  try {
    const settled = await waitFor(() => job.events.find((e) => e.type === 'deal:settled'), 15_000);
    const dealId = (settled as Extract<SolverEvent, { type: 'deal:settled' }>).dealId;
    expect((await dealStatus(client, network, dealId)).state).toBe(DealState.Accepted);
    expect(job.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['deal:proposed', 'deal:agreed', 'deal:results-submitted', 'deal:settled']),
    );

    const cost = defaults.resourceProvider.fixedPrice;
    const after = {
      rp: await escrowBalance(client, network, rp),
      jc: await escrowBalance(client, network, jc),
    };
    expect(after.rp.free).toBe(before.rp.free + cost);
    expect(after.rp.locked).toBe(before.rp.locked);
    expect(after.jc.free).toBe(before.jc.free - cost);
    expect(after.jc.locked).toBe(before.jc.locked);
    expect(devnet.resourceProvider.gauges()).toMatchObject({ done: 1, earned: cost, awaitingPayment: 0 });
  } finally {
    job.close();
  }
});
