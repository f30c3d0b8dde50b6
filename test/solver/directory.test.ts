/**
 * The solver's directory: uploads count against their uploader's quota, and the content of finished
 * deals is kept for the retention period, then collected, except blocks a kept deal still needs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CID } from 'multiformats/cid';
import type { Hex } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveDeal } from '../../src/protocol/derive-deal.js';
import { jobOfferId, resourceOfferId } from '../../src/protocol/eip712.js';
import { Directory, QuotaExceededError } from '../../src/solver/directory.js';
import { NotAModuleError } from '../../src/solver/module-car.js';
import { SqliteStore } from '../../src/solver/sqlite-store.js';
import type { StoredDeal } from '../../src/solver/store.js';
import { memoryBlockstore, openBlockstore } from '../../src/storage/blockstore.js';
import { exportCar } from '../../src/storage/car.js';
import { importBytes } from '../../src/storage/unixfs.js';
import { accounts, jobOffer, resourceOffer, testNetwork } from '../protocol/fixtures.js';
import { folderCar, moduleCar, testManifest } from './fixtures/module-car.js';

const signature = `0x${'11'.repeat(65)}` as Hex;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A CAR of `bytes` (as UnixFS, in chunks: several blocks) and its root. */
async function carOf(bytes: Uint8Array): Promise<{ root: CID; car: Uint8Array }> {
  const scratch = memoryBlockstore();
  const root = await importBytes(scratch, bytes);
  return { root, car: await exportCar(scratch, root) };
}

async function setup(
  limits: { uploadQuotaBytes?: number; retentionMs?: number; moduleRetentionMs?: number } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'lilypad-directory-'));
  dirs.push(dir);
  const store = new SqliteStore(join(dir, 'solver.sqlite'));
  const blockstore = await openBlockstore(join(dir, 'blocks'));
  const modules = new Map<Hex, string>();
  const directory = new Directory({
    store,
    blockstore,
    limits: {
      maxUploadBytes: 1024 * 1024,
      uploadQuotaBytes: limits.uploadQuotaBytes ?? 1024 * 1024,
      retentionMs: limits.retentionMs ?? 1000,
      moduleRetentionMs: limits.moduleRetentionMs ?? 5000,
    },
    moduleOf: (deal) => modules.get(deal.id),
  });
  let n = 0;
  const addDeal = (): StoredDeal => {
    n++;
    const job = jobOffer({ nonce: BigInt(n) });
    const resource = resourceOffer({ nonce: BigInt(n) });
    const deal: StoredDeal = {
      id: `0x${n.toString(16).padStart(64, '0')}` as Hex,
      deal: deriveDeal({
        jobOffer: job,
        jobOfferId: jobOfferId(testNetwork, job),
        resourceOffer: resource,
        resourceOfferId: resourceOfferId(testNetwork, resource),
      }),
      jobOfferId: jobOfferId(testNetwork, job),
      resourceOfferId: resourceOfferId(testNetwork, resource),
      status: 'agreed',
      chainState: 1,
      signatureJC: signature,
      signatureRP: signature,
      agreeTx: null,
      resultCID: null,
      instructionCount: null,
      cost: null,
      reason: null,
      proposedAt: n,
      updatedAt: n,
    };
    store.addDeal(deal);
    return deal;
  };
  return { store, blockstore, directory, addDeal, modules };
}

describe('Directory', () => {
  it('refuses an upload past the uploader’s quota, and frees it once the deal’s content is collected', async () => {
    const { store, directory, addDeal } = await setup({ uploadQuotaBytes: 3000, retentionMs: 1000 });
    const first = addDeal();
    const second = addDeal();
    const a = await carOf(new Uint8Array(2000).fill(1));
    const b = await carOf(new Uint8Array(2000).fill(2));
    const uploader = accounts.jobCreator.address;
    expect((await directory.upload(first.id, uploader, a.car)).map(String)).toEqual([a.root.toString()]);
    const refused = await directory.upload(second.id, uploader, b.car).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(QuotaExceededError);
    expect((refused as Error).message).toMatch(
      /keeps \d+ bytes in the directory; \d+ more would pass its quota of 3000/,
    );
    // Another address has its own quota.
    await directory.upload(second.id, accounts.resourceProvider.address, b.car);

    store.updateDeal(first.id, { status: 'settled', updatedAt: 10_000 });
    expect((await directory.collect(10_500)).deals).toBe(0); // within the retention
    expect((await directory.collect(11_001)).deals).toBe(1);
    const c = await carOf(new Uint8Array(2000).fill(3));
    await directory.upload(second.id, uploader, c.car);
    expect(store.uploadedBytes(uploader)).toBe(c.car.byteLength);
  });

  it('collects the content of deals past retention, except what a kept deal still needs', async () => {
    const { store, blockstore, directory, addDeal, modules } = await setup({ retentionMs: 1000 });
    const old = addDeal();
    const recent = addDeal();
    const active = addDeal();
    const module = await carOf(new Uint8Array(5000).fill(7)); // shared by the old and the active deal
    const oldResult = await carOf(new Uint8Array(3000).fill(8));
    const recentResult = await carOf(new Uint8Array(3000).fill(9));
    await directory.upload(old.id, accounts.jobCreator.address, module.car);
    await directory.upload(old.id, accounts.resourceProvider.address, oldResult.car);
    await directory.upload(recent.id, accounts.resourceProvider.address, recentResult.car);
    // The active deal reuses the module without uploading it again: it is its job offer's module.
    modules.set(active.id, module.root.toString());
    store.updateDeal(old.id, { status: 'settled', resultCID: oldResult.root.toString(), updatedAt: 1000 });
    store.updateDeal(recent.id, {
      status: 'settled',
      resultCID: recentResult.root.toString(),
      updatedAt: 5000,
    });

    const collected = await directory.collect(5500);
    expect(collected.deals).toBe(1);
    expect(collected.blocks).toBeGreaterThan(0);
    expect(await blockstore.has(oldResult.root)).toBe(false);
    expect(await blockstore.has(module.root)).toBe(true);
    expect(await blockstore.has(recentResult.root)).toBe(true);

    // Once the active deal is settled and past retention too, the module goes.
    store.updateDeal(active.id, { status: 'settled', updatedAt: 6000 });
    await directory.collect(7100);
    expect(await blockstore.has(module.root)).toBe(false);
    expect(await blockstore.has(recentResult.root)).toBe(false);
    expect(store.finishedDealsToCollect(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });

  it('pins a published module, counts it once against the publisher’s quota, and refuses what is not a module', async () => {
    const { store, blockstore, directory } = await setup({ uploadQuotaBytes: 5000 });
    const publisher = accounts.jobCreator.address;
    const module = await moduleCar('greeter', 2000);
    const published = await directory.publishModule(publisher, module.car, 1000);
    expect(published.cid.toString()).toBe(module.root.toString());
    expect(published.manifest.name).toBe('greeter');
    expect(published.pinnedUntil).toBe(6000);
    expect(await blockstore.has(module.root)).toBe(true);
    expect(store.uploadedBytes(publisher)).toBe(module.car.byteLength);
    // Publishing it again renews the pin; it does not count twice.
    await directory.publishModule(publisher, module.car, 2000);
    expect(store.uploadedBytes(publisher)).toBe(module.car.byteLength);
    expect(store.modulePin(module.root.toString(), publisher)?.publishedAt).toBe(2000);

    const other = await moduleCar('other', 3000);
    const refused = await directory.publishModule(publisher, other.car).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(QuotaExceededError);
    expect(await blockstore.has(other.root)).toBe(false);

    const notModules: [Promise<{ car: Uint8Array }>, RegExp][] = [
      [carOf(new Uint8Array(100)), /is not a folder \(it is a UnixFS raw\): a module is a folder/],
      [folderCar({ 'README.md': 'no manifest' }), /has no lilypad\.module\.json/],
      [folderCar({ 'lilypad.module.json': '{ "name": ' }), /lilypad\.module\.json is not JSON/],
      [
        folderCar({ 'lilypad.module.json': JSON.stringify({ ...testManifest(), timeoutSeconds: -1 }) }),
        /invalid module manifest lilypad\.module\.json: timeoutSeconds/,
      ],
      [
        folderCar({ 'lilypad.module.json': JSON.stringify(testManifest('lost')) }),
        /has no lost\.wasm, its entry\.wasm/,
      ],
    ];
    for (const [make, message] of notModules) {
      const { car } = await make;
      const error = await directory.publishModule(publisher, car).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotAModuleError);
      expect((error as Error).message).toMatch(message);
    }
    expect(store.uploadedBytes(publisher)).toBe(module.car.byteLength);
  });

  it('keeps a published module while it was published or used by a deal within the module retention', async () => {
    const { store, blockstore, directory, addDeal, modules } = await setup({
      retentionMs: 1000,
      moduleRetentionMs: 5000,
    });
    const publisher = accounts.jobCreator.address;
    const used = await moduleCar('used', 3000, 1);
    const unused = await moduleCar('unused', 3000, 2);
    await directory.publishModule(publisher, used.car, 1000);
    await directory.publishModule(publisher, unused.car, 1000);
    const deal = addDeal();
    modules.set(deal.id, used.root.toString());

    // Past the publication window: the module a running deal uses stays, the other goes.
    expect(await directory.collect(7000)).toMatchObject({ deals: 0, modules: 1 });
    expect(await blockstore.has(used.root)).toBe(true);
    expect(await blockstore.has(unused.root)).toBe(false);
    expect(store.uploadedBytes(publisher)).toBe(used.car.byteLength);

    // The deal settles and its content is collected; its module stays pinned from the deal's last use…
    store.updateDeal(deal.id, { status: 'settled', updatedAt: 8000 });
    expect(await directory.collect(9500)).toMatchObject({ deals: 1, modules: 0 });
    expect(await blockstore.has(used.root)).toBe(true);
    expect(await directory.collect(12_900)).toMatchObject({ modules: 0 });
    expect(await blockstore.has(used.root)).toBe(true);
    // …until the module retention has passed since then.
    expect(await directory.collect(13_100)).toMatchObject({ modules: 1 });
    expect(await blockstore.has(used.root)).toBe(false);
    expect(store.uploadedBytes(publisher)).toBe(0);
    // Publishing it again pins it again.
    await directory.publishModule(publisher, used.car, 14_000);
    expect(await blockstore.has(used.root)).toBe(true);
  });
});
