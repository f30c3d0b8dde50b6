/**
 * A provider started again takes back the offers the solver still holds, also when its machine spec is written
 * with its fields in another order than the wire's (as `lilypad resource-provider` builds it from its flags):
 * it used to withdraw them and post new ones, and a busy one it forgot came back to the market after its deal,
 * an offer more than it had slots for.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { defaults } from '../../src/protocol/defaults.js';
import { SolverClient } from '../../src/protocol/solver-client.js';
import { ResourceProvider, stateFile } from '../../src/resource-provider/resource-provider.js';
import { ProviderStore } from '../../src/resource-provider/state-store.js';
import { accounts } from '../protocol/fixtures.js';
import { useDevnet } from './fixtures/devnet.js';

const shared = useDevnet('rp-offers-restart');
const operator = devAccount('user5');

it('keeps its open offers across a restart, whatever the order of its spec fields', async () => {
  const { devnet, dataDir } = shared;
  const dir = join(dataDir, 'provider');
  const { cpu, ram, disk, gpu, gpuVram } = defaults.devnetSpec;
  const start = async () => {
    const provider = new ResourceProvider({
      network: devnet.network,
      privateKey: operator.privateKey,
      dataDir: dir,
      logger: pino({ level: 'silent' }),
      spec: { cpu, ram, disk, gpu, gpuVram },
      pricing: defaults.resourceProvider,
      mediators: devnet.mediators,
      slots: 2,
    });
    await provider.start();
    return provider;
  };
  const offerIds = () => {
    const store = new ProviderStore(stateFile(dir), { readonly: true });
    try {
      return store
        .offers()
        .map((o) => o.id)
        .sort();
    } finally {
      store.close();
    }
  };
  await (await start()).stop();
  const before = offerIds();
  expect(before).toHaveLength(2);
  await (await start()).stop();
  expect(offerIds()).toEqual(before);
  const solver = new SolverClient(devnet.network.solverUrl, accounts.jobCreator);
  for (const id of before) expect((await solver.getResourceOffer(id)).status).toBe('open');
}, 60_000);
