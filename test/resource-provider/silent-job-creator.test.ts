/**
 * Silence is acceptance: when a job creator never accepts, the resource provider settles the deal with
 * `timeoutJudge` once the judging window has passed, and is paid exactly the cost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { zeroAddress } from 'viem';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { publicClientFor } from '../../src/chain/clients.js';
import { dealStatus, escrowBalance } from '../../src/chain/deals.js';
import { type Devnet, startDevnet } from '../../src/devnet/devnet.js';
import { canonicalInputs } from '../../src/modules/inputs.js';
import { resolveModule } from '../../src/modules/resolve.js';
import { DealState } from '../../src/protocol/deal-states.js';
import { defaults } from '../../src/protocol/defaults.js';
import { dealTypedData, type JobOffer, jobOfferTypedData, PricingMode } from '../../src/protocol/eip712.js';
import { SolverClient } from '../../src/protocol/solver-client.js';
import type { SolverEvent } from '../../src/protocol/wire.js';
import { memoryBlockstore } from '../../src/storage/blockstore.js';
import { exportCar } from '../../src/storage/car.js';
import { importFolder } from '../../src/storage/unixfs.js';
import { accounts } from '../protocol/fixtures.js';

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

  const module = await resolveModule('cowsay:v0.0.1');
  const offer: JobOffer = {
    jobCreator: jc,
    solver: network.solver,
    module: module.cid,
    inputs: canonicalInputs({ Message: 'anyone there?' }),
    spec: module.manifest.spec,
    pricingMode: PricingMode.market,
    maxPrice: defaults.maxPrice,
    mediationFee: defaults.mediationFee,
    mediators: devnet.mediators,
    target: zeroAddress,
    submitTimeout: 60n,
    judgeTimeout: 1n,
    mediateTimeout: 60n,
    nonce: 7n,
    expiry: BigInt(Math.floor(Date.now() / 1000) + 600),
  };
  const solver = new SolverClient(network.solverUrl, accounts.jobCreator);
  const events: SolverEvent[] = [];
  const subscription = await solver.subscribe(async (event) => {
    events.push(event);
    if (event.type !== 'deal:proposed') return;
    // This job creator publishes the module and signs the deal, then never accepts.
    const blockstore = memoryBlockstore();
    const root = await importFolder(blockstore, module.dir);
    await solver.uploadCar(event.dealId, await exportCar(blockstore, root));
    await solver.signDeal(
      event.dealId,
      await accounts.jobCreator.signTypedData(dealTypedData(network, event.deal)),
    );
  });
  try {
    await solver.postJobOffer({
      offer,
      signature: await accounts.jobCreator.signTypedData(jobOfferTypedData(network, offer)),
    });
    const settled = await waitFor(() => events.find((e) => e.type === 'deal:settled'), 15_000);
    const dealId = (settled as Extract<SolverEvent, { type: 'deal:settled' }>).dealId;
    expect((await dealStatus(client, network, dealId)).state).toBe(DealState.Accepted);
    expect(events.map((e) => e.type)).toEqual(
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
  } finally {
    subscription.close();
  }
});

async function waitFor<T>(probe: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const found = probe();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing after ${ms} ms`);
}
