import { join } from 'node:path';
import Fastify from 'fastify';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type Blockstore,
  blockReader,
  getBlock,
  memoryBlockstore,
  openBlockstore,
} from '../../src/storage/blockstore.js';
import { type Block, walkDag } from '../../src/storage/dag.js';
import { BlockNotFoundError, BlockVerificationError, GatewayFetchError } from '../../src/storage/errors.js';
import { importFolder } from '../../src/storage/unixfs.js';
import { downloadFolder, fetchDag } from '../../src/storage/verified-fetch.js';
import { verifyBlock } from '../../src/storage/verify.js';
import { listen, makeFixtureFolder, snapshot, startGateway, tempDir } from './fixtures.js';

async function dagBlocks(blockstore: Blockstore, root: CID): Promise<Block[]> {
  const blocks: Block[] = [];
  for await (const block of walkDag(root, blockReader(blockstore))) blocks.push(block);
  return blocks;
}

/** A gateway that answers every block request through `answer` (to lie, stall or fail). */
async function customGateway(
  answer: (cid: string) => Promise<{ status: number; body: Uint8Array | string }>,
): Promise<string> {
  const app = Fastify();
  app.get<{ Params: { cid: string } }>('/ipfs/:cid', async (request, reply) => {
    const { status, body } = await answer(request.params.cid);
    return reply
      .status(status)
      .header('content-type', 'application/vnd.ipld.raw')
      .send(typeof body === 'string' ? body : Buffer.from(body));
  });
  return await listen(app);
}

describe('verified fetch', () => {
  let source: Blockstore;
  let dir: string;
  let root: CID;
  let blocks: Block[];

  beforeEach(async () => {
    source = memoryBlockstore();
    dir = await makeFixtureFolder();
    root = await importFolder(source, dir);
    blocks = await dagBlocks(source, root);
  });

  it('downloads a folder from the gateway, verified, byte for byte', async () => {
    const url = await startGateway(source);
    const target = await openBlockstore(join(await tempDir(), 'blocks'));
    const out = join(await tempDir(), 'result');
    const events: { blocks: number; bytes: number }[] = [];
    const result = await downloadFolder(`${url}/`, root.toString(), target, out, {
      onProgress: (e) => events.push(e),
    });
    expect(await snapshot(out)).toEqual(await snapshot(dir));
    expect(result.blocks).toBe(blocks.length);
    expect(result.bytes).toBe(blocks.reduce((n, b) => n + b.bytes.byteLength, 0));
    expect(events).toHaveLength(blocks.length);
    expect(events.at(-1)).toEqual(result);
  });

  it('downloads a folder in one request as a CAR, or block by block from a gateway that sends no CAR', async () => {
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const car = join(await tempDir(), 'car');
    const viaCar = await downloadFolder(await startGateway(source), root, memoryBlockstore(), car, {
      fetch: counting,
    });
    expect(requests).toBe(1);
    expect(viaCar.blocks).toBe(blocks.length);
    expect(await snapshot(car)).toEqual(await snapshot(dir));

    requests = 0;
    const rawOnly = await customGateway(async (cid) => ({
      status: 200,
      body: await getBlock(source, CID.parse(cid)),
    }));
    const byBlock = join(await tempDir(), 'blocks');
    const viaBlocks = await downloadFolder(rawOnly, root, memoryBlockstore(), byBlock, { fetch: counting });
    expect(requests).toBe(1 + blocks.length);
    expect(viaBlocks).toEqual(viaCar);
    expect(await snapshot(byBlock)).toEqual(await snapshot(dir));
  });

  it('fetches nothing that is already stored, and resumes a partial fetch', async () => {
    const url = await startGateway(source);
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const target = memoryBlockstore();
    // Half the blocks are already here (an interrupted fetch).
    const half = blocks.slice(0, Math.floor(blocks.length / 2));
    for (const block of half) await target.put(block.cid, block.bytes);
    const first = await fetchDag(url, root, target, { fetch: counting });
    expect(first.blocks).toBe(blocks.length - half.length);
    expect(requests).toBe(blocks.length - half.length);
    requests = 0;
    expect(await fetchDag(url, root, target, { fetch: counting })).toEqual({ blocks: 0, bytes: 0 });
    expect(requests).toBe(0);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const url = await startGateway(source);
    let inFlight = 0;
    let most = 0;
    const tracking: typeof fetch = async (input, init) => {
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        const response = await fetch(input, init);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return response;
      } finally {
        inFlight--;
      }
    };
    await fetchDag(url, root, memoryBlockstore(), { fetch: tracking, concurrency: 2 });
    expect(most).toBe(2);
  });

  it('throws BlockVerificationError naming the block a lying gateway changed, and stores nothing false', async () => {
    const victim = blocks.find((b) => b.cid.code === raw.code && b.bytes.byteLength > 1000);
    if (!victim) throw new Error('no leaf');
    const url = await customGateway(async (cid) => {
      const bytes = Uint8Array.from(await getBlock(source, CID.parse(cid)));
      if (cid === victim.cid.toString()) bytes[0] = (bytes[0] ?? 0) ^ 1;
      return { status: 200, body: bytes };
    });
    const target = memoryBlockstore();
    const error = await fetchDag(url, root, target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BlockVerificationError);
    expect((error as BlockVerificationError).cid).toBe(victim.cid.toString());
    expect(await target.has(victim.cid)).toBe(false);
    // Whatever did get stored is exactly what its CID says.
    for (const { cid } of blocks) {
      if (await target.has(cid)) await verifyBlock(cid, await getBlock(target, cid));
    }
  });

  it('throws BlockVerificationError when the gateway substitutes another valid block', async () => {
    const [, first, second] = blocks;
    if (!first || !second) throw new Error('too few blocks');
    const url = await customGateway(async (cid) => {
      const wanted = cid === first.cid.toString() ? second.cid : CID.parse(cid);
      return { status: 200, body: await getBlock(source, wanted) };
    });
    await expect(fetchDag(url, root, memoryBlockstore())).rejects.toThrow(BlockVerificationError);
  });

  it('throws BlockNotFoundError when the gateway lacks a block, GatewayFetchError on a huge body', async () => {
    const leaf = blocks.at(-1);
    if (!leaf) throw new Error('no blocks');
    const missing = await customGateway(async (cid) =>
      cid === leaf.cid.toString()
        ? { status: 404, body: 'not found' }
        : { status: 200, body: await getBlock(source, CID.parse(cid)) },
    );
    await expect(fetchDag(missing, root, memoryBlockstore())).rejects.toThrow(BlockNotFoundError);

    const huge = await customGateway(async () => ({ status: 200, body: new Uint8Array(64 * 1024) }));
    await expect(fetchDag(huge, root, memoryBlockstore(), { maxBlockBytes: 1024 })).rejects.toThrow(
      GatewayFetchError,
    );
  });

  it('retries a gateway error, then gives up with GatewayFetchError', async () => {
    let calls = 0;
    const flaky = await customGateway(async (cid) => {
      calls++;
      return calls === 1
        ? { status: 503, body: 'busy' }
        : { status: 200, body: await getBlock(source, CID.parse(cid)) };
    });
    expect((await fetchDag(flaky, root, memoryBlockstore(), { concurrency: 1 })).blocks).toBe(blocks.length);
    const broken = await customGateway(async () => ({ status: 500, body: 'broken' }));
    await expect(fetchDag(broken, root, memoryBlockstore(), { retries: 1 })).rejects.toThrow(
      /answered 500: broken/,
    );
  });

  it('tries again when a body breaks off mid-way: the CAR falls back to blocks, a block is fetched again', async () => {
    // The first `cuts` responses send half their body, then the connection breaks.
    const cutting = (cuts: number): typeof fetch => {
      let left = cuts;
      return async (input, init) => {
        const response = await fetch(input, init);
        if (left-- <= 0) return response;
        const bytes = new Uint8Array(await response.arrayBuffer());
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes.subarray(0, Math.max(1, bytes.length >> 1)));
            controller.error(new TypeError('terminated'));
          },
        });
        return new Response(body, { status: response.status, headers: response.headers });
      };
    };
    const gateway = await startGateway(source);
    const out = join(await tempDir(), 'out');
    // The CAR and the first block break off; the rest arrives block by block.
    const result = await downloadFolder(gateway, root, memoryBlockstore(), out, { fetch: cutting(2) });
    expect(result.blocks).toBe(blocks.length);
    expect(await snapshot(out)).toEqual(await snapshot(dir));
    // Every attempt breaks off: a GatewayFetchError that says so.
    await expect(
      fetchDag(gateway, root, memoryBlockstore(), { fetch: cutting(Number.POSITIVE_INFINITY), retries: 1 }),
    ).rejects.toThrow(/the body broke off: terminated/);
  });

  it('stops promptly when aborted, with the abort reason', async () => {
    const slow = await customGateway(async (cid) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return { status: 200, body: await getBlock(source, CID.parse(cid)) };
    });
    const controller = new AbortController();
    const target = memoryBlockstore();
    const started = Date.now();
    const pending = fetchDag(slow, root, target, {
      signal: controller.signal,
      concurrency: 1,
      onProgress: () => controller.abort(),
    });
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(1000);
    let stored = 0;
    for (const { cid } of blocks) if (await target.has(cid)) stored++;
    expect(stored).toBe(1);

    const already = AbortSignal.abort();
    await expect(fetchDag(slow, root, memoryBlockstore(), { signal: already })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
