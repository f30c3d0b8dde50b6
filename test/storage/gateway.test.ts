import { base36 } from 'multiformats/bases/base36';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Blockstore, blockReader, getBlock, memoryBlockstore } from '../../src/storage/blockstore.js';
import { importCar } from '../../src/storage/car.js';
import { walkDag } from '../../src/storage/dag.js';
import { negotiateFormat } from '../../src/storage/gateway.js';
import { importFolder } from '../../src/storage/unixfs.js';
import { makeFixtureFolder, startGateway } from './fixtures.js';

const RAW = 'application/vnd.ipld.raw';
const CAR = 'application/vnd.ipld.car';

describe('negotiateFormat', () => {
  it.each([
    [RAW, undefined, 'raw'],
    [CAR, undefined, 'car'],
    [`${CAR}; version=1; order=dfs; dups=n`, undefined, 'car'],
    [`${CAR}; version=2`, undefined, undefined],
    [`${CAR};q=0.5, ${RAW}`, undefined, 'raw'],
    [`text/html, ${CAR};q=0.9`, undefined, 'car'],
    [`${RAW};q=0`, undefined, undefined],
    ['*/*', undefined, undefined],
    [undefined, undefined, undefined],
    ['text/html', 'car', 'car'],
    [RAW, 'tar', undefined],
  ] as const)('Accept %j, format %j → %j', (accept, format, expected) => {
    expect(negotiateFormat(accept, format)).toBe(expected);
  });
});

describe('trustless gateway over HTTP', () => {
  let blockstore: Blockstore;
  let root: CID;
  let url: string;

  beforeEach(async () => {
    blockstore = memoryBlockstore();
    root = await importFolder(blockstore, await makeFixtureFolder());
    url = await startGateway(blockstore);
  });

  it('serves one block as application/vnd.ipld.raw with immutable caching headers', async () => {
    const response = await fetch(`${url}/ipfs/${root}`, { headers: { accept: RAW } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(RAW);
    expect(response.headers.get('etag')).toBe(`"${root}.raw"`);
    expect(response.headers.get('x-ipfs-roots')).toBe(root.toString());
    expect(response.headers.get('cache-control')).toBe('public, max-age=29030400, immutable');
    const body = new Uint8Array(await response.arrayBuffer());
    expect(Buffer.from(body).equals(Buffer.from(await getBlock(blockstore, root)))).toBe(true);
    expect(response.headers.get('content-length')).toBe(String(body.byteLength));
  });

  it('accepts ?format=raw, a base36 CID and the CIDv0 form of the same block', async () => {
    const expected = Buffer.from(await getBlock(blockstore, root));
    for (const name of [
      `${root}?format=raw`,
      `${root.toString(base36)}?format=raw`,
      `${root.toV0()}?format=raw`,
    ]) {
      const response = await fetch(`${url}/ipfs/${name}`);
      expect(response.status, name).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(expected)).toBe(true);
    }
  });

  it('serves the whole DAG as a CAR that imports with every block verified', async () => {
    const response = await fetch(`${url}/ipfs/${root}`, { headers: { accept: CAR } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(`${CAR}; version=1; order=dfs; dups=n`);
    expect(response.headers.get('x-ipfs-roots')).toBe(root.toString());
    expect(response.headers.get('etag')).toBe(`"${root}.car.all"`);
    const car = new Uint8Array(await response.arrayBuffer());
    const roots = await importCar(memoryBlockstore(), car);
    expect(roots.map(String)).toEqual([root.toString()]);

    const viaQuery = await fetch(`${url}/ipfs/${root}?format=car`);
    expect(Buffer.from(await viaQuery.arrayBuffer()).equals(Buffer.from(car))).toBe(true);
  });

  it('breaks off a CAR whose DAG is missing a block, rather than end it as if complete', async () => {
    let last: CID | undefined;
    for await (const block of walkDag(root, blockReader(blockstore))) last = block.cid;
    if (!last) throw new Error('no blocks');
    await blockstore.delete(last);
    const response = await fetch(`${url}/ipfs/${root}`, { headers: { accept: CAR } });
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow();
  });

  it('serves only the root block with dag-scope=block', async () => {
    const response = await fetch(`${url}/ipfs/${root}?format=car&dag-scope=block`);
    expect(response.status).toBe(200);
    const car = new Uint8Array(await response.arrayBuffer());
    // Only the root: importing it alone is an incomplete DAG.
    await expect(importCar(memoryBlockstore(), car)).rejects.toThrow(/incomplete/);
    const rootBytes = await getBlock(blockstore, root);
    expect(car.byteLength).toBeLessThan(rootBytes.byteLength + 200);
  });

  it('answers HEAD with headers and no body, 200 or 404', async () => {
    const found = await fetch(`${url}/ipfs/${root}`, { method: 'HEAD', headers: { accept: RAW } });
    expect(found.status).toBe(200);
    expect(found.headers.get('content-type')).toBe(RAW);
    expect(found.headers.get('content-length')).toBe(String((await getBlock(blockstore, root)).byteLength));
    expect((await found.arrayBuffer()).byteLength).toBe(0);

    const car = await fetch(`${url}/ipfs/${root}`, { method: 'HEAD', headers: { accept: CAR } });
    expect(car.status).toBe(200);
    expect(car.headers.get('content-type')).toContain(CAR);
    expect((await car.arrayBuffer()).byteLength).toBe(0);

    const missing = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('nobody has this')));
    const notFound = await fetch(`${url}/ipfs/${missing}`, { method: 'HEAD', headers: { accept: RAW } });
    expect(notFound.status).toBe(404);
    expect((await notFound.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers 400 for an unparseable CID', async () => {
    const response = await fetch(`${url}/ipfs/not-a-cid`, { headers: { accept: RAW } });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('invalid CID "not-a-cid"');
  });

  it('answers 404 for a block it does not have', async () => {
    const missing = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('nobody has this')));
    for (const accept of [RAW, CAR]) {
      const response = await fetch(`${url}/ipfs/${missing}`, { headers: { accept } });
      expect(response.status).toBe(404);
      expect(await response.text()).toContain(`block ${missing} not found`);
    }
  });

  it('answers 406 naming the supported types when neither is acceptable', async () => {
    for (const headers of [{ accept: 'text/html' }, { accept: '*/*' }, {}] as Record<string, string>[]) {
      const response = await fetch(`${url}/ipfs/${root}`, { headers });
      expect(response.status).toBe(406);
      const text = await response.text();
      expect(text).toContain(RAW);
      expect(text).toContain(CAR);
    }
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const response = await fetch(`${url}/ipfs/${root}`, {
      headers: { accept: RAW, 'if-none-match': `"${root}.raw"` },
    });
    expect(response.status).toBe(304);
  });

  it('refuses paths below a CID and unsupported dag-scope', async () => {
    expect((await fetch(`${url}/ipfs/${root}/stdout`, { headers: { accept: RAW } })).status).toBe(400);
    expect((await fetch(`${url}/ipfs/${root}?format=car&dag-scope=entity`)).status).toBe(400);
  });
});
