/**
 * Nobody acts for another account, one test per rule: at the solver (offers, deal signatures, the
 * running report, directory uploads, cancellation, downloads of a private deal's content) and on-chain (the batch calls, withdrawals). Each
 * refusal says who may act, and leaves the store or the escrow as it was. Single calls by the wrong
 * party (submitResult, accept, challenge, verdict) are in test/chain; the web app's accounts in
 * web-hostile.test.ts.
 */
import fc from 'fast-check';
import type { Hex, LocalAccount } from 'viem';
import { parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptMany, agree, submitResult, submitResults, withdraw } from '../../src/chain/deals.js';
import { dealTypedData } from '../../src/protocol/eip712.js';
import { signingFetch, signRequest } from '../../src/protocol/signed-request.js';
import { SolverClient } from '../../src/protocol/solver-client.js';
import { type SolverEvent, toWire } from '../../src/protocol/wire.js';
import { getBlock, memoryBlockstore } from '../../src/storage/blockstore.js';
import { CAR_CONTENT_TYPE, exportCar } from '../../src/storage/car.js';
import { blockLinks } from '../../src/storage/dag.js';
import { importBytes } from '../../src/storage/unixfs.js';
import { startChain, type TestChain } from '../chain/setup.js';
import { accounts, resourceOffer, signResourceOffer } from '../protocol/fixtures.js';
import { type ProposedDeal, type SolverFixture, startSolverFixture } from './solver-fixture.js';

let fixture: SolverFixture;
let chain: TestChain;
/** A deal the solver proposed between the dev job creator and provider. */
let proposed: ProposedDeal;

beforeAll(async () => {
  [fixture, chain] = await Promise.all([startSolverFixture(), startChain()]);
  proposed = await fixture.proposeDeal(5n);
}, 120_000);

afterAll(async () => {
  await Promise.all([fixture?.stop(), chain?.stop()]);
});

const post = (path: string, body: unknown) =>
  fetch(`${fixture.solver.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** Runs `attempt`, expects the status and words, and that the store did not change. */
async function refused(attempt: () => Promise<Response>, status: number, words: RegExp): Promise<void> {
  const before = await fixture.snapshot();
  const response = await attempt();
  expect(response.status).toBe(status);
  expect(((await response.json()) as { error: string }).error).toMatch(words);
  expect(await fixture.snapshot()).toBe(before);
}

describe('at the solver', () => {
  it('nobody posts a resource offer for another provider', async () => {
    const forged = await signResourceOffer(resourceOffer({ nonce: 6n }), fixture.network, accounts.stranger);
    await refused(
      () => post('/api/v1/resource-offers', toWire(forged)),
      422,
      /signed by .* not by its resource provider/,
    );
  });

  it('nobody signs a deal for a party: a third signature is refused, and neither party can sign twice as the other', async () => {
    const id = proposed.dealId;
    const stranger = await accounts.stranger.signTypedData(dealTypedData(fixture.network, proposed.deal));
    await refused(() => post(`/api/v1/deals/${id}/signatures`, { signature: stranger }), 422, /not a party/);
    // A signature of another deal, sent for this one, recovers to someone who is no party to it.
    const other = await accounts.jobCreator.signTypedData(
      dealTypedData(fixture.network, { ...proposed.deal, fixedPrice: proposed.deal.fixedPrice + 1n }),
    );
    await refused(() => post(`/api/v1/deals/${id}/signatures`, { signature: other }), 422, /not a party/);
  });

  it('a signature that is no valid signature at all does not count for anyone', async () => {
    const hex65 = fc
      .uint8Array({ minLength: 65, maxLength: 65 })
      .map((b) => `0x${Buffer.from(b).toString('hex')}`);
    await fc.assert(
      fc.asyncProperty(hex65, async (signature) => {
        await refused(
          () => post(`/api/v1/deals/${proposed.dealId}/signatures`, { signature }),
          422,
          /is not a party to deal/,
        );
      }),
      { numRuns: 30 },
    );
  });

  it('only the resource provider reports a deal running', async () => {
    const path = `/api/v1/deals/${proposed.dealId}/running`;
    for (const who of [accounts.jobCreator, accounts.stranger]) {
      await refused(
        async () =>
          fetch(`${fixture.solver.url}${path}`, {
            method: 'POST',
            headers: await signRequest(who, 'POST', path),
          }),
        422,
        /is not the resource provider of deal/,
      );
    }
  });

  it('only the members of a deal upload to it: not a stranger, not a stranger signing as a member', async () => {
    const path = `/api/v1/deals/${proposed.dealId}/files`;
    const car = new Uint8Array([1, 2, 3]);
    const upload = (headers: Record<string, string>) =>
      fetch(`${fixture.solver.url}${path}`, {
        method: 'PUT',
        headers: { 'content-type': CAR_CONTENT_TYPE, ...headers },
        body: car,
      });
    await refused(
      async () => upload(await signRequest(accounts.stranger, 'PUT', path, car)),
      403,
      /not a member/,
    );
    const asMember = {
      ...(await signRequest(accounts.stranger, 'PUT', path, car)),
      'x-lilypad-address': accounts.resourceProvider.address,
    };
    await refused(async () => upload(asMember), 401, /does not match its address/);
    // The signature covers the body: a member's signed request with other bytes is refused.
    const swapped = await signRequest(accounts.resourceProvider, 'PUT', path, new Uint8Array([9]));
    await refused(async () => upload(swapped), 401, /does not match its address/);
  });

  it("nobody cancels another party's offer, not even the other member of its deal", async () => {
    const path = `/api/v1/resource-offers/${proposed.deal.resourceOffer}`;
    for (const who of [accounts.jobCreator, accounts.stranger]) {
      await refused(
        async () =>
          fetch(`${fixture.solver.url}${path}`, {
            method: 'DELETE',
            headers: await signRequest(who, 'DELETE', path),
          }),
        403,
        /./,
      );
    }
  });

  it("hears only its own events: a socket signed by a stranger gets none of the deal's", async () => {
    const stranger = new SolverClient(fixture.solver.url, accounts.stranger);
    const events: SolverEvent[] = [];
    const subscription = await stranger.subscribe((event) => events.push(event), { since: 0 });
    // The provider's own socket, opened after the stranger's, has caught up when it sees its deal.
    const rp = new SolverClient(fixture.solver.url, accounts.resourceProvider);
    const own: SolverEvent[] = [];
    const rpSubscription = await rp.subscribe((event) => own.push(event));
    const deadline = Date.now() + 10_000;
    while (!own.some((e) => 'dealId' in e && e.dealId === proposed.dealId) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    subscription.close();
    rpSubscription.close();
    expect(own.some((e) => 'dealId' in e && e.dealId === proposed.dealId)).toBe(true);
    expect(events).toEqual([]);
  });
});

describe("a private deal's content", () => {
  /** A file of more than one block, uploaded by `who` for `dealId`; returns its root and one inner block. */
  async function uploadFile(dealId: Hex, who: LocalAccount, text: string) {
    const source = memoryBlockstore();
    const root = await importBytes(source, new TextEncoder().encode(text.repeat((300 * 1024) / text.length)));
    await new SolverClient(fixture.solver.url, who).uploadCar(dealId, await exportCar(source, root));
    const [inner] = blockLinks(root, await getBlock(source, root));
    return { root: root.toString(), inner: String(inner) };
  }
  const get = (cid: string, viaFetch: typeof fetch = fetch, format = 'raw') =>
    viaFetch(`${fixture.solver.url}/ipfs/${cid}?format=${format}`);
  const refusal = async (response: Response) => {
    expect(response.status).toBe(403);
    return response.text();
  };

  let privateDeal: ProposedDeal;
  let input: { root: string; inner: string };
  let result: { root: string; inner: string };
  beforeAll(async () => {
    privateDeal = await fixture.proposeDeal(7n, { private: true });
    input = await uploadFile(privateDeal.dealId, accounts.jobCreator, 'private input ');
    result = await uploadFile(privateDeal.dealId, accounts.resourceProvider, 'private result ');
  }, 60_000);

  it('is refused, as a block and as a CAR, to an unsigned request and to a stranger signing its own', async () => {
    for (const cid of [input.root, result.root]) {
      for (const format of ['raw', 'car']) {
        expect(await refusal(await get(cid, fetch, format))).toMatch(
          /belongs to private deal .*only its members may download it, with a signed request/,
        );
        expect(await refusal(await get(cid, signingFetch(accounts.stranger), format))).toMatch(
          new RegExp(
            `${accounts.stranger.address} is not its job creator, resource provider or one of its mediators`,
          ),
        );
      }
    }
    // A stranger signing as a member does not pass either.
    const path = `/ipfs/${result.root}?format=raw`;
    const asMember = {
      ...(await signRequest(accounts.stranger, 'GET', path)),
      'x-lilypad-address': accounts.jobCreator.address,
    };
    expect(await refusal(await fetch(`${fixture.solver.url}${path}`, { headers: asMember }))).toMatch(
      /does not match its address/,
    );
  });

  it("is served to the deal's job creator, resource provider and mediator on signed requests", async () => {
    for (const member of [accounts.jobCreator, accounts.resourceProvider, accounts.mediator]) {
      for (const cid of [input.root, result.root]) {
        const response = await get(cid, signingFetch(member), 'car');
        expect(response.status).toBe(200);
        expect(response.headers.get('x-ipfs-roots')).toBe(cid);
        expect(response.headers.get('cache-control')).toMatch(/^private,/);
        await response.arrayBuffer();
      }
    }
  });

  it('guards only the roots: an inner block is served to whoever names its CID (learnt from the root)', async () => {
    expect((await get(result.inner)).status).toBe(200);
  });

  it('a deal that did not ask for privacy serves its uploads to anyone', async () => {
    const file = await uploadFile(proposed.dealId, accounts.resourceProvider, 'public result ');
    const response = await get(file.root, fetch, 'car');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toMatch(/^public,/);
    await response.arrayBuffer();
  });
  it('the same bytes uploaded for a deal that is not private are public: whoever uploaded them had them', async () => {
    const same = await uploadFile(proposed.dealId, accounts.resourceProvider, 'private result ');
    expect(same.root).toBe(result.root);
    expect((await get(result.root)).status).toBe(200);
    expect((await get(input.root)).status).toBe(403);
  });
});

describe('on-chain', () => {
  const CID = '0x01551220aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899' as Hex;

  it("a batch call cannot carry another party's deal: acceptMany and submitResults by the wrong party", async () => {
    const deal = await chain.makeDeal();
    const [sigJC, sigRP] = await chain.signBoth(deal);
    await agree(chain.wallet('solver'), chain.network, deal, sigJC, sigRP);
    // The job creator cannot post its own deal's result in a batch either.
    await chain.step(async () => {
      await expect(
        submitResults(chain.wallet('jobCreator'), chain.network, [
          { deal, resultCID: CID, instructionCount: 1n },
        ]),
      ).rejects.toMatchObject({ errorName: 'NotParty' });
    });
    await submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 1n);
    await chain.step(async () => {
      for (const role of ['user9', 'resourceProvider', 'solver'] as const) {
        await expect(acceptMany(chain.wallet(role), chain.network, [deal])).rejects.toMatchObject({
          errorName: 'NotParty',
        });
      }
    });
  });

  it("nobody withdraws another account's balance: withdraw only ever reads the caller's", async () => {
    await chain.step(async () => {
      await expect(withdraw(chain.wallet('user9'), chain.network, parseEther('1001'))).rejects.toMatchObject({
        errorName: 'InsufficientFree',
        errorArgs: [chain.address('user9'), parseEther('1001'), expect.any(BigInt)],
      });
    });
  });
});
