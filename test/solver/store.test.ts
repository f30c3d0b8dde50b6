/**
 * The Store compliance suite: every store implementation runs these cases (SQLite today).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Address, Hex } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveDeal } from '../../src/protocol/derive-deal.js';
import { jobOfferId, resourceOfferId } from '../../src/protocol/eip712.js';
import { toWire } from '../../src/protocol/wire.js';
import { SqliteStore } from '../../src/solver/sqlite-store.js';
import type { Store, StoredDeal } from '../../src/solver/store.js';
import {
  accounts,
  jobOffer,
  resourceOffer,
  signJobOffer,
  signResourceOffer,
  testNetwork,
} from '../protocol/fixtures.js';

const implementations: { name: string; open: (dir: string) => Store }[] = [
  { name: 'sqlite', open: (dir) => new SqliteStore(join(dir, 'solver.sqlite')) },
];

for (const { name, open } of implementations) {
  describe(`Store: ${name}`, () => {
    const dirs: string[] = [];
    const fresh = () => {
      const dir = mkdtempSync(join(tmpdir(), 'lilypad-store-'));
      dirs.push(dir);
      return { dir, store: open(dir) };
    };
    afterEach(() => {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    });

    async function seed(store: Store) {
      const job = await signJobOffer(jobOffer());
      const resource = await signResourceOffer(resourceOffer());
      const jobId = jobOfferId(testNetwork, job.offer);
      const resourceId = resourceOfferId(testNetwork, resource.offer);
      store.addJobOffer({
        id: jobId,
        signed: job,
        status: 'queued',
        dealId: null,
        reason: null,
        createdAt: 1,
      });
      store.addResourceOffer({
        id: resourceId,
        signed: resource,
        status: 'open',
        dealId: null,
        createdAt: 2,
      });
      const deal: StoredDeal = {
        id: `0x${'ab'.repeat(32)}` as Hex,
        deal: deriveDeal({
          jobOffer: job.offer,
          jobOfferId: jobId,
          resourceOffer: resource.offer,
          resourceOfferId: resourceId,
        }),
        jobOfferId: jobId,
        resourceOfferId: resourceId,
        status: 'proposed',
        chainState: 0,
        signatureJC: null,
        signatureRP: null,
        agreeTx: null,
        resultCID: null,
        instructionCount: null,
        cost: null,
        reason: null,
        proposedAt: 3,
        updatedAt: 3,
      };
      store.addDeal(deal);
      return { job, resource, jobId, resourceId, deal };
    }

    it('keeps offers exactly as signed and does not add one twice', async () => {
      const { store } = fresh();
      const { job, jobId, resource, resourceId } = await seed(store);
      expect(store.getJobOffer(jobId)?.signed).toEqual(job);
      expect(store.getResourceOffer(resourceId)?.signed).toEqual(resource);
      expect(
        store.addJobOffer({
          id: jobId,
          signed: job,
          status: 'queued',
          dealId: null,
          reason: null,
          createdAt: 9,
        }),
      ).toBe(false);
      expect(store.jobOffersWithStatus('queued').map((j) => j.id)).toEqual([jobId]);
    });

    it('updates deals field by field, bigints included', async () => {
      const { store } = fresh();
      const { deal } = await seed(store);
      store.updateDeal(deal.id, {
        status: 'results-submitted',
        resultCID: 'bafkreiabc',
        cost: 10n ** 18n,
        chainState: 2,
      });
      const read = store.getDeal(deal.id);
      expect(read?.status).toBe('results-submitted');
      expect(read?.cost).toBe(10n ** 18n);
      expect(read?.deal).toEqual(deal.deal);
      expect(store.activeDeals(accounts.jobCreator.address).map((d) => d.id)).toEqual([deal.id]);
      store.updateDeal(deal.id, { status: 'settled' });
      expect(store.activeDeals()).toEqual([]);
    });

    it('rolls back a failed transaction', async () => {
      const { store } = fresh();
      const { jobId } = await seed(store);
      expect(() =>
        store.transaction(() => {
          store.updateJobOffer(jobId, { status: 'matched' });
          throw new Error('crash in the middle');
        }),
      ).toThrow('crash in the middle');
      expect(store.getJobOffer(jobId)?.status).toBe('queued');
    });

    it('keeps offers by status, and answers false for an offer it already has', async () => {
      const { store } = fresh();
      const { resource, resourceId, jobId, job } = await seed(store);
      expect(store.resourceOffersWithStatus('open').map((r) => r.id)).toEqual([resourceId]);
      store.updateResourceOffer(resourceId, { status: 'busy', dealId: `0x${'ab'.repeat(32)}` });
      expect(store.resourceOffersWithStatus('open')).toEqual([]);
      expect(store.resourceOffersWithStatus('busy').map((r) => r.dealId)).toEqual([`0x${'ab'.repeat(32)}`]);
      expect(
        store.addResourceOffer({
          id: resourceId,
          signed: resource,
          status: 'open',
          dealId: null,
          createdAt: 5,
        }),
      ).toBe(false);
      expect(store.getResourceOffer(resourceId)?.status).toBe('busy');
      store.updateJobOffer(jobId, { status: 'matched', dealId: `0x${'ab'.repeat(32)}` });
      expect(store.jobOffersWithStatus('queued')).toEqual([]);
      expect(store.jobOffersWithStatus('matched').map((j) => j.signed)).toEqual([job]);
    });

    it('lists the offers online a page at a time, counts their providers, and counts deals per minute', async () => {
      const { store } = fresh();
      const { resourceId, deal } = await seed(store);
      const more = [];
      for (const [nonce, signer] of [
        [2n, accounts.resourceProvider],
        [3n, accounts.stranger],
        [4n, accounts.stranger],
      ] as const) {
        const signed = await signResourceOffer(
          resourceOffer({ nonce, resourceProvider: signer.address }),
          testNetwork,
          signer,
        );
        const id = resourceOfferId(testNetwork, signed.offer);
        store.addResourceOffer({ id, signed, status: 'open', dealId: null, createdAt: 10 });
        more.push(id);
      }
      const [second, third, fourth] = more as [Hex, Hex, Hex];
      store.updateResourceOffer(resourceId, { status: 'busy', dealId: deal.id });
      store.updateResourceOffer(fourth, { status: 'expired' });
      // Same creation time: the id breaks the tie, so pages neither repeat nor skip.
      const tied = [second, third].sort();
      expect(store.onlineResourceOffers({ limit: 10 }).map((o) => o.id)).toEqual([resourceId, ...tied]);
      const first = store.onlineResourceOffers({ limit: 2 });
      expect(first.map((o) => o.id)).toEqual([resourceId, tied[0]]);
      expect(store.onlineResourceOffers({ after: first[1]?.id, limit: 2 }).map((o) => o.id)).toEqual([
        tied[1],
      ]);
      expect(store.onlineResourceOfferCounts()).toEqual({ offers: 3, providers: 2 });

      const minute = 60_000;
      store.updateDeal(deal.id, { status: 'settled' });
      store.addDeal({ ...deal, id: `0x${'cd'.repeat(32)}`, proposedAt: 5 * minute + 1 });
      store.addDeal({ ...deal, id: `0x${'ef'.repeat(32)}`, proposedAt: 5 * minute + 2 });
      store.addDeal({ ...deal, id: `0x${'01'.repeat(32)}`, proposedAt: 6 * minute, status: 'cancelled' });
      expect(store.dealsByMinute(0)).toEqual([
        { minute: 0, deals: 1, settled: 1 },
        { minute: 5 * minute, deals: 2, settled: 0 },
      ]);
      expect(store.dealsByMinute(minute)).toEqual([{ minute: 5 * minute, deals: 2, settled: 0 }]);
    });

    it('replaces a cancelled deal proposed again from the same offers', async () => {
      const { store } = fresh();
      const { deal } = await seed(store);
      store.updateDeal(deal.id, {
        status: 'cancelled',
        reason: 'not signed in time',
        signatureJC: `0x${'12'.repeat(65)}`,
      });
      store.addDeal({ ...deal, proposedAt: 10, updatedAt: 10 });
      const again = store.getDeal(deal.id);
      expect(again?.status).toBe('proposed');
      expect(again?.signatureJC).toBeNull();
      expect(again?.reason).toBeNull();
      expect(store.activeDeals().map((d) => d.id)).toEqual([deal.id]);
    });

    it('numbers events per address, gives them back in order, and keeps the last seq when pruning', () => {
      const { store } = fresh();
      const alice = accounts.jobCreator.address;
      const bob = accounts.resourceProvider.address;
      store.transaction(() => {
        for (let seq = 1; seq <= 3; seq++)
          store.appendEvent({ address: alice, seq, body: `{"n":${seq}}`, createdAt: seq * 10 });
        store.appendEvent({ address: bob, seq: 1, body: '{"n":"b"}', createdAt: 25 });
      });
      expect(store.eventsAfter(alice, 1, 10).map((e) => [e.seq, e.body])).toEqual([
        [2, '{"n":2}'],
        [3, '{"n":3}'],
      ]);
      expect(store.eventsAfter(alice.toLowerCase() as Address, 0, 2).map((e) => e.seq)).toEqual([1, 2]);
      store.pruneEvents(30);
      expect(store.eventsAfter(alice, 0, 10).map((e) => e.seq)).toEqual([3]);
      store.pruneEvents(100);
      expect(store.eventsAfter(alice, 0, 10)).toEqual([]);
      const seqs = Object.fromEntries(
        store.lastEventSeqs().map(({ address, seq }) => [address.toLowerCase(), seq]),
      );
      expect(seqs).toEqual({ [alice.toLowerCase()]: 3, [bob.toLowerCase()]: 1 });
    });

    it('counts uploads per uploader until the deal is collected, and lists what to keep and collect', async () => {
      const { store } = fresh();
      const { deal } = await seed(store);
      const uploader = accounts.jobCreator.address;
      expect(store.recordUpload({ cid: 'bafy1', dealId: deal.id, uploader, bytes: 100 })).toBe(true);
      expect(store.recordUpload({ cid: 'bafy1', dealId: deal.id, uploader, bytes: 100 })).toBe(false);
      store.recordUpload({ cid: 'bafy2', dealId: deal.id, uploader, bytes: 50 });
      expect(store.uploadedBytes(uploader)).toBe(150);
      expect(store.uploadsOfDeal(deal.id).map((u) => u.cid)).toEqual(['bafy1', 'bafy2']);
      expect(store.finishedDealsToCollect(1000)).toEqual([]);
      expect(store.dealsToKeep(1000).map((d) => d.id)).toEqual([deal.id]);
      store.updateDeal(deal.id, { status: 'settled', updatedAt: 500 });
      expect(store.dealsToKeep(400).map((d) => d.id)).toEqual([deal.id]);
      expect(store.dealsToKeep(600)).toEqual([]);
      expect(store.finishedDealsToCollect(400)).toEqual([]);
      expect(store.finishedDealsToCollect(600).map((d) => d.id)).toEqual([deal.id]);
      store.markCollected(deal.id);
      expect(store.finishedDealsToCollect(600)).toEqual([]);
      expect(store.uploadedBytes(uploader)).toBe(0);
    });

    it('keeps whether a job offer is private, and knows which deals a CID was uploaded for', async () => {
      const { store } = fresh();
      const { job, jobId, deal } = await seed(store);
      expect(store.getJobOffer(jobId)?.private).toBeUndefined();
      const privateId = `0x${'cd'.repeat(32)}` as Hex;
      store.addJobOffer({
        id: privateId,
        signed: job,
        status: 'queued',
        dealId: null,
        reason: null,
        createdAt: 4,
        private: true,
      });
      expect(store.getJobOffer(privateId)?.private).toBe(true);
      expect(store.dealsHolding('bafy1')).toEqual([]);
      store.recordUpload({ cid: 'bafy1', dealId: deal.id, uploader: accounts.jobCreator.address, bytes: 1 });
      expect(store.dealsHolding('bafy1')).toEqual([deal.id]);
    });

    it('pins published modules, renews and touches them, and counts them until they are collected', async () => {
      const { store } = fresh();
      const { deal } = await seed(store);
      const alice = accounts.jobCreator.address;
      const bob = accounts.resourceProvider.address;
      store.recordUpload({ cid: 'bafyinput', dealId: deal.id, uploader: alice, bytes: 100 });
      store.recordModulePin({ cid: 'bafymodule', publisher: alice, bytes: 40, publishedAt: 1000 });
      store.recordModulePin({ cid: 'bafymodule', publisher: bob, bytes: 40, publishedAt: 1500 });
      expect(store.uploadedBytes(alice)).toBe(140);
      // Renewing replaces the bytes and never moves the publication back.
      store.recordModulePin({ cid: 'bafymodule', publisher: alice, bytes: 50, publishedAt: 900 });
      expect(store.uploadedBytes(alice)).toBe(150);
      expect(store.modulePin('bafymodule', alice)).toMatchObject({
        bytes: 50,
        publishedAt: 1000,
        lastUsedAt: 0,
      });
      expect(store.modulePinsToCollect(1200).map((p) => p.publisher.toLowerCase())).toEqual([
        alice.toLowerCase(),
      ]);
      expect(store.modulePinsToKeep(1200).map((p) => p.publisher.toLowerCase())).toEqual([bob.toLowerCase()]);
      // A use keeps every publisher's pin, and only moves forward.
      store.touchModulePin('bafymodule', 3000);
      store.touchModulePin('bafymodule', 2000);
      expect(store.modulePin('bafymodule', alice)?.lastUsedAt).toBe(3000);
      expect(store.modulePinsToCollect(3000)).toEqual([]);
      expect(store.modulePinsToCollect(3001)).toHaveLength(2);
      store.markModulePinCollected('bafymodule', alice);
      expect(store.modulePin('bafymodule', alice)).toBeUndefined();
      expect(store.uploadedBytes(alice)).toBe(100);
      expect(store.modulePinsToKeep(0).map((p) => p.publisher.toLowerCase())).toEqual([bob.toLowerCase()]);
      // Publishing again after collection pins it again.
      store.recordModulePin({ cid: 'bafymodule', publisher: alice, bytes: 50, publishedAt: 4000 });
      expect(store.uploadedBytes(alice)).toBe(150);
    });

    it('survives being closed and reopened, cursor included', async () => {
      const { dir, store } = fresh();
      const { deal } = await seed(store);
      store.setChainCursor(42n);
      store.close();
      const reopened = open(dir);
      expect(reopened.getDeal(deal.id)?.deal).toEqual(deal.deal);
      expect(reopened.getChainCursor()).toBe(42n);
      reopened.close();
    });
  });
}

describe('SqliteStore: a process killed after its commit', () => {
  it('keeps what it committed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lilypad-killed-'));
    try {
      const path = join(dir, 'solver.sqlite');
      const writer = fileURLToPath(new URL('./fixtures/killed-writer.ts', import.meta.url));
      const child = spawnSync(process.execPath, ['--import', 'tsx', writer, path], { encoding: 'utf8' });
      expect(child.signal, child.stderr).toBe('SIGKILL');
      const wrote = JSON.parse(child.stdout) as { id: Hex; dealId: Hex; jobCreator: Address };

      const store = new SqliteStore(path);
      const job = store.getJobOffer(wrote.id);
      expect([job?.status, job?.dealId, job?.reason]).toEqual(['matched', wrote.dealId, null]);
      expect(store.eventsAfter(wrote.jobCreator, 0, 10).map((e) => e.body)).toEqual(['{"type":"x"}']);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('applies the journal an earlier version left unapplied, then drops it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lilypad-journal-'));
    try {
      const path = join(dir, 'solver.sqlite');
      new SqliteStore(path).close(); // the tables, as an earlier version made them
      const signed = await signJobOffer(jobOffer());
      const id = jobOfferId(testNetwork, signed.offer);
      const jobCreator = signed.offer.jobCreator.toLowerCase();
      const dealId = `0x${'cd'.repeat(32)}`;
      const old = new Database(path);
      old.exec('CREATE TABLE journal (seq INTEGER PRIMARY KEY, entries TEXT NOT NULL)');
      old.prepare('INSERT INTO journal (entries) VALUES (?)').run(
        JSON.stringify([
          ['job', id, JSON.stringify(toWire(signed)), 'queued', null, 'waiting', 1],
          ['update', 'job_offers', id, { status: 'matched', deal_id: dealId, reason: null }],
          ['event', jobCreator, 1, '{"type":"x"}', 2],
        ]),
      );
      old.close();

      const store = new SqliteStore(path);
      const job = store.getJobOffer(id);
      expect([job?.status, job?.dealId, job?.reason]).toEqual(['matched', dealId, null]);
      expect(job?.signed).toEqual(signed);
      expect(store.eventsAfter(signed.offer.jobCreator, 0, 10).map((e) => e.body)).toEqual(['{"type":"x"}']);
      store.close();
      const reopened = new Database(path, { readonly: true });
      const tables = reopened.prepare("SELECT name FROM sqlite_master WHERE name = 'journal'").all();
      expect(tables).toEqual([]);
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('SqliteStore: an older file', () => {
  it('gains the private column of job offers: the offers it holds are not private', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lilypad-store-old-'));
    try {
      const path = join(dir, 'solver.sqlite');
      const old = new Database(path);
      old.exec(`CREATE TABLE job_offers (
        id TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL, deal_id TEXT, reason TEXT, created_at INTEGER NOT NULL)`);
      old
        .prepare("INSERT INTO job_offers VALUES (?, '{}', 'queued', NULL, NULL, 1)")
        .run(`0x${'ab'.repeat(32)}`);
      old.close();
      const store = new SqliteStore(path);
      expect(store.getJobOffer(`0x${'ab'.repeat(32)}`)?.private).toBeUndefined();
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gains the provider column of resource offers, filled from the offers it holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lilypad-store-old-'));
    try {
      const path = join(dir, 'solver.sqlite');
      const signed = await signResourceOffer(resourceOffer());
      const old = new Database(path);
      old.exec(`CREATE TABLE resource_offers (
        id TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL, deal_id TEXT, created_at INTEGER NOT NULL)`);
      old
        .prepare("INSERT INTO resource_offers VALUES (?, ?, 'open', NULL, 1)")
        .run(`0x${'ab'.repeat(32)}`, JSON.stringify(toWire(signed)));
      old.close();
      const store = new SqliteStore(path);
      expect(store.onlineResourceOfferCounts()).toEqual({ offers: 1, providers: 1 });
      expect(store.onlineResourceOffers({ limit: 5 }).map((o) => o.signed)).toEqual([signed]);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
