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
import { SqliteStore } from '../../src/solver/sqlite-store.js';
import type { StoredDeal } from '../../src/solver/store.js';
import { memoryBlockstore, openBlockstore } from '../../src/storage/blockstore.js';
import { exportCar } from '../../src/storage/car.js';
import { importBytes } from '../../src/storage/unixfs.js';
import { accounts, jobOffer, resourceOffer, testNetwork } from '../protocol/fixtures.js';

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

async function setup(limits: { uploadQuotaBytes?: number; retentionMs?: number } = {}) {
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
});
