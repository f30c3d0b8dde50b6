/**
 * The Store compliance suite: every store implementation runs these cases (SQLite today).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveDeal } from '../../src/protocol/derive-deal.js';
import { jobOfferId, resourceOfferId } from '../../src/protocol/eip712.js';
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
