/**
 * Publishing a module to the solver's directory outside any deal, over real HTTP against a solver on a
 * real anvil: a signed, whole module folder is pinned and served; an unsigned request, one past the
 * publisher's quota and one that is not a module are refused with a status and words that say why.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, startAnvil } from '../../src/chain/anvil.js';
import { publicClientFor, walletClientFor } from '../../src/chain/clients.js';
import { deployContracts } from '../../src/chain/deploy.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { signRequest } from '../../src/protocol/signed-request.js';
import { SolverClient, type SolverRequestError } from '../../src/protocol/solver-client.js';
import { Solver } from '../../src/solver/solver.js';
import { CAR_CONTENT_TYPE } from '../../src/storage/car.js';
import { accounts } from '../protocol/fixtures.js';
import { folderCar, moduleCar } from './fixtures/module-car.js';

const QUOTA = 20_000;

let anvil: Anvil;
let solver: Solver;
let dataDir: string;

beforeAll(async () => {
  anvil = await startAnvil();
  const contracts = await deployContracts(
    walletClientFor(anvil.rpcUrl, anvil.chainId, devAccount('deployer').privateKey),
    publicClientFor(anvil.rpcUrl, anvil.chainId),
  );
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-module-publishing-'));
  solver = new Solver({
    network: { chainId: anvil.chainId, rpcUrl: anvil.rpcUrl, ...contracts },
    privateKey: devAccount('solver').privateKey,
    dataDir,
    logger: pino({ level: 'silent' }),
    limits: { uploadQuotaBytes: QUOTA },
  });
  await solver.start();
}, 60_000);

afterAll(async () => {
  await solver?.stop();
  await anvil?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const publisher = () => new SolverClient(solver.url, accounts.jobCreator, { retryForMs: 0 });
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error as SolverRequestError,
  );

describe('POST /api/v1/modules', () => {
  it('pins a signed module folder and serves it from the gateway', async () => {
    const module = await moduleCar('greeter', 8000);
    const published = await publisher().publishModule(module.car);
    expect(published).toMatchObject({ cid: module.root.toString(), name: 'greeter', version: 'v1.0.0' });
    // Pinned for the default module retention, 30 days.
    const days = (Date.parse(published.pinnedUntil) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    const served = await fetch(`${solver.url}/ipfs/${module.root}`, {
      headers: { accept: CAR_CONTENT_TYPE },
    });
    expect(served.status).toBe(200);
    expect(solver.store.uploadedBytes(accounts.jobCreator.address)).toBe(module.car.byteLength);
  });

  it('refuses an unsigned upload, and one signed over other bytes, with 401', async () => {
    const module = await moduleCar('unsigned', 500);
    const unsigned = await fetch(`${solver.url}/api/v1/modules`, {
      method: 'POST',
      headers: { 'content-type': CAR_CONTENT_TYPE },
      body: new Uint8Array(module.car),
    });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error: string }).error).toContain('this request must be signed');

    const headers = await signRequest(accounts.jobCreator, 'POST', '/api/v1/modules', new Uint8Array(10));
    const tampered = await fetch(`${solver.url}/api/v1/modules`, {
      method: 'POST',
      headers: { ...headers, 'content-type': CAR_CONTENT_TYPE },
      body: new Uint8Array(module.car),
    });
    expect(tampered.status).toBe(401);
    expect(((await tampered.json()) as { error: string }).error).toContain('does not match its address');
  });

  it("refuses a module past the publisher's quota with 413, and takes it from someone else", async () => {
    const module = await moduleCar('large', 15_000);
    const error = await refusal(publisher().publishModule(module.car));
    expect(error.status).toBe(413);
    expect(error.message).toMatch(/keeps \d+ bytes in the directory; \d+ more would pass its quota of 20000/);
    const other = new SolverClient(solver.url, accounts.resourceProvider, { retryForMs: 0 });
    expect((await other.publishModule(module.car)).cid).toBe(module.root.toString());
  });

  it('refuses what is not a module folder with 422, and what is not a CAR with 400 or 415', async () => {
    const noManifest = await folderCar({ 'index.html': '<p>not a module</p>' });
    const error = await refusal(publisher().publishModule(noManifest.car));
    expect(error.status).toBe(422);
    expect(error.message).toContain('has no lilypad.module.json');
    expect(error.message).toContain('lilypad module publish PATH');
    const notACar = await refusal(publisher().publishModule(new TextEncoder().encode('hello')));
    expect(notACar.status).toBe(400);
    expect(notACar.message).toContain('the CAR cannot be parsed');
    const json = await fetch(`${solver.url}/api/v1/modules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    // Nothing refused was stored or counted.
    expect(await solver.blockstore.has(noManifest.root)).toBe(false);
  });
});
