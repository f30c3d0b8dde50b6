import { setTimeout as sleep } from 'node:timers/promises';
import type { CID } from 'multiformats/cid';
import { type Blockstore, concat, getBlock } from './blockstore.js';
import { CAR_CONTENT_TYPE, importCar } from './car.js';
import { isSupportedCid, parseCid, RAW_CODE } from './cid.js';
import { blockLinks, inlineBlock } from './dag.js';
import { BlockNotFoundError, GatewayFetchError, InvalidCarError, UnsupportedBlockError } from './errors.js';
import { RAW_CONTENT_TYPE } from './gateway.js';
import { exportFolder } from './unixfs.js';
import { verifyBlock } from './verify.js';

export interface FetchProgress {
  /** Blocks downloaded, verified and stored so far (blocks already in the store are not counted). */
  blocks: number;
  /** Their bytes. */
  bytes: number;
}

export interface FetchDagOptions {
  signal?: AbortSignal;
  /** Blocks requested at once. Default 8. */
  concurrency?: number;
  onProgress?: (event: FetchProgress) => void;
  /** A fetch implementation (tests, proxies). Default the global fetch. */
  fetch?: typeof fetch;
  /** A response body larger than this is refused before it is buffered whole. Default 4 MiB. */
  maxBlockBytes?: number;
  /** Extra attempts after a network error, a 5xx or a 429. Default 2. */
  retries?: number;
}

const DEFAULT_CONCURRENCY = 8;
// Blocks are at most 256 KiB of data or a directory node below the shard threshold; 4 MiB is generous.
const DEFAULT_MAX_BLOCK_BYTES = 4 * 1024 * 1024;
const DEFAULT_RETRIES = 2;

class Retryable extends Error {}

async function readBody(response: Response, limit: number, url: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel();
    throw new GatewayFetchError(`${url} sent ${declared} bytes, more than a block may have (${limit})`);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      // The connection broke mid-body (a gateway restarting, a cut link): worth another attempt.
      throw new Retryable(
        `${url}: the body broke off: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
    const { done, value } = chunk;
    if (done) break;
    length += value.byteLength;
    if (length > limit) {
      await reader.cancel();
      throw new GatewayFetchError(`${url} sent more than ${limit} bytes, more than a block may have`);
    }
    chunks.push(value);
  }
  return concat(chunks);
}

async function fetchBlock(
  base: string,
  cid: CID,
  signal: AbortSignal,
  options: { fetch: typeof fetch; maxBlockBytes: number; retries: number },
): Promise<Uint8Array> {
  const url = `${base}/ipfs/${cid}`;
  for (let attempt = 0; ; attempt++) {
    try {
      let response: Response;
      try {
        response = await options.fetch(url, { headers: { accept: RAW_CONTENT_TYPE }, signal });
      } catch (error) {
        signal.throwIfAborted();
        throw new Retryable(error instanceof Error ? error.message : String(error), { cause: error });
      }
      if (response.status === 404) {
        await response.body?.cancel();
        throw new BlockNotFoundError(cid.toString(), { details: `the gateway ${base} does not have it` });
      }
      if (!response.ok) {
        const text = (await response.text().catch(() => '')).slice(0, 200).trim();
        const message = `${url} answered ${response.status}${text ? `: ${text}` : ''}`;
        if (response.status >= 500 || response.status === 429) throw new Retryable(message);
        throw new GatewayFetchError(message);
      }
      return await readBody(response, options.maxBlockBytes, url);
    } catch (error) {
      if (!(error instanceof Retryable)) throw error;
      if (attempt >= options.retries) {
        throw new GatewayFetchError(`cannot fetch block ${cid} from ${base}: ${error.message}`, {
          cause: error,
        });
      }
      await sleep(100 * 4 ** attempt, undefined, { signal });
    }
  }
}

/**
 * Fetches the DAG under `root` from a trustless gateway, block by block (`application/vnd.ipld.raw`),
 * into `blockstore`. Every block is checked against its CID before it is stored, so a lying gateway
 * gets a BlockVerificationError naming the block and leaves nothing false behind. Blocks already in the
 * store are not fetched again (their links are still followed, so a half-finished fetch resumes).
 */
export async function fetchDag(
  gatewayUrl: string,
  root: CID | string,
  blockstore: Blockstore,
  options: FetchDagOptions = {},
): Promise<FetchProgress> {
  const rootCid = parseCid(root);
  options.signal?.throwIfAborted();
  const base = gatewayUrl.replace(/\/+$/, '');
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  const fetchOptions = {
    fetch: options.fetch ?? globalThis.fetch,
    maxBlockBytes: options.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES,
    retries: options.retries ?? DEFAULT_RETRIES,
  };
  // Aborted on the first failure too, so requests still in flight stop and store nothing more.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const progress: FetchProgress = { blocks: 0, bytes: 0 };

  const visit = async (cid: CID): Promise<CID[]> => {
    const inline = inlineBlock(cid);
    if (inline) return blockLinks(cid, inline);
    if (!isSupportedCid(cid)) {
      throw new UnsupportedBlockError(
        `block ${cid} is not dag-pb or raw with sha2-256; it cannot be verified`,
      );
    }
    if (await blockstore.has(cid)) {
      return cid.code === RAW_CODE ? [] : blockLinks(cid, await getBlock(blockstore, cid, { signal }));
    }
    const bytes = await fetchBlock(base, cid, signal, fetchOptions);
    await verifyBlock(cid, bytes);
    // Decoded before storing: a block that cannot be walked is not kept either.
    const links = blockLinks(cid, bytes);
    signal.throwIfAborted();
    await blockstore.put(cid, bytes);
    progress.blocks += 1;
    progress.bytes += bytes.byteLength;
    options.onProgress?.({ ...progress });
    return links;
  };

  const seen = new Set<string>([rootCid.toString()]);
  const queue: CID[] = [rootCid];
  let next = 0;
  let active = 0;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      stop.abort();
      // An abort by the caller surfaces as the caller's reason, not as whatever it interrupted.
      reject(options.signal?.aborted ? options.signal.reason : error);
    };
    const onAbort = (): void => fail(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const pump = (): void => {
      if (settled) return;
      if (next === queue.length && active === 0) {
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        resolve();
        return;
      }
      while (active < concurrency && next < queue.length) {
        const cid = queue[next++] as CID;
        active += 1;
        visit(cid).then(
          (links) => {
            active -= 1;
            for (const link of links) {
              const key = link.toString();
              if (seen.has(key)) continue;
              seen.add(key);
              queue.push(link);
            }
            pump();
          },
          (error: unknown) => fail(error),
        );
      }
    };
    pump();
  });
  return progress;
}

/** A DAG whose CAR is larger than this is fetched block by block (a CAR is held whole while it is checked). */
const MAX_CAR_BYTES = 16 * 1024 * 1024;

/**
 * The DAG under `root` in one request (`application/vnd.ipld.car`, the whole DAG): importCar checks every block
 * against its CID and the DAG for completeness before it stores anything, so a lying gateway leaves nothing false
 * behind here either. Undefined when the gateway does not send the DAG as one complete CAR of at most
 * MAX_CAR_BYTES: then it is fetched block by block.
 */
async function fetchCar(
  base: string,
  root: CID,
  blockstore: Blockstore,
  options: FetchDagOptions,
): Promise<FetchProgress | undefined> {
  const signal = options.signal ?? new AbortController().signal;
  const url = `${base}/ipfs/${root}?format=car&dag-scope=all`;
  let response: Response;
  try {
    response = await (options.fetch ?? globalThis.fetch)(url, {
      headers: { accept: CAR_CONTENT_TYPE },
      signal,
    });
  } catch {
    signal.throwIfAborted();
    return undefined;
  }
  if (!response.ok || !response.headers.get('content-type')?.startsWith(CAR_CONTENT_TYPE)) {
    await response.body?.cancel();
    return undefined;
  }
  const progress: FetchProgress = { blocks: 0, bytes: 0 };
  try {
    const bytes = await readBody(response, MAX_CAR_BYTES, url);
    const roots = await importCar(blockstore, bytes, {
      onStored: (block) => {
        progress.blocks += 1;
        progress.bytes += block.bytes.byteLength;
        options.onProgress?.({ ...progress });
      },
    });
    if (roots.length !== 1 || !roots[0]?.equals(root)) return undefined;
  } catch (error) {
    // Too big, cut off, truncated or incomplete: block by block (a block that does not match its CID throws).
    if (error instanceof GatewayFetchError || error instanceof InvalidCarError || error instanceof Retryable)
      return undefined;
    throw error;
  }
  return progress;
}

/**
 * The DAG under `cid` (as one CAR when the gateway can send it, else block by block: fetchDag), then the folder
 * written to `destDir` (see exportFolder).
 */
export async function downloadFolder(
  gatewayUrl: string,
  cid: CID | string,
  blockstore: Blockstore,
  destDir: string,
  options: FetchDagOptions = {},
): Promise<FetchProgress> {
  const root = parseCid(cid);
  const base = gatewayUrl.replace(/\/+$/, '');
  const fetched =
    (await fetchCar(base, root, blockstore, options)) ?? (await fetchDag(base, root, blockstore, options));
  await exportFolder(blockstore, root, destDir, options.signal ? { signal: options.signal } : {});
  return fetched;
}
