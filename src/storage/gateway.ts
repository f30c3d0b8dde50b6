import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CID } from 'multiformats/cid';
import { type Blockstore, getBlock } from './blockstore.js';
import { CAR_CONTENT_TYPE, carHeader, carSection, carStream } from './car.js';
import { isSupportedCid, parseCid } from './cid.js';
import { blockLinks, inlineBlock } from './dag.js';
import { BlockNotFoundError } from './errors.js';

export const RAW_CONTENT_TYPE = 'application/vnd.ipld.raw';
// What we send: CARv1, depth-first from the root, each block once (see walkDag).
const CAR_RESPONSE_TYPE = `${CAR_CONTENT_TYPE}; version=1; order=dfs; dups=n`;
const SUPPORTED = `${RAW_CONTENT_TYPE} (one block) or ${CAR_CONTENT_TYPE} (the whole DAG), by Accept header or ?format=raw|car`;
// A year: a CID's bytes never change (the value the IPFS gateway spec uses).
const CACHE_CONTROL = 'public, max-age=29030400, immutable';
// Content served to some requesters only: a shared cache must not keep it for the others.
const PRIVATE_CACHE_CONTROL = 'private, max-age=29030400, immutable';

/** Whether a request may have a CID: anyone's, only this requester's, or refused (403) with a reason. */
export type GatewayAccess = 'public' | 'private' | { refused: string };

export interface GatewayOptions {
  /** Mounts the gateway under a prefix, e.g. "/directory" serves "/directory/ipfs/<cid>". Default "". */
  prefix?: string;
  /** Who may have `cid`. Default: everything is public. */
  access?: (request: FastifyRequest, cid: CID) => Promise<GatewayAccess>;
}

type Format = 'raw' | 'car';

interface GatewayRequest {
  Params: { cid: string; '*'?: string };
  Querystring: { format?: string; 'dag-scope'?: string; 'entity-bytes'?: string };
}

/** Picks raw or car from `?format=` (wins, as in the spec) or the Accept header by q-value. */
export function negotiateFormat(accept: string | undefined, format: string | undefined): Format | undefined {
  if (format !== undefined) return format === 'raw' || format === 'car' ? format : undefined;
  if (!accept) return undefined;
  const ranges = accept.split(',').map((part, index) => {
    const [type = '', ...rawParams] = part.split(';').map((s) => s.trim());
    const params = new Map(
      rawParams.map((p) => {
        const [key = '', value = ''] = p.split('=').map((s) => s.trim().replace(/^"|"$/g, ''));
        return [key.toLowerCase(), value] as const;
      }),
    );
    const q = params.has('q') ? Number(params.get('q')) : 1;
    return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0, index };
  });
  ranges.sort((a, b) => b.q - a.q || a.index - b.index);
  for (const range of ranges) {
    if (range.q <= 0) continue;
    if (range.type === RAW_CONTENT_TYPE) return 'raw';
    // Only CARv1 is produced; order=unk and dups=y are satisfied by what we send.
    if (range.type === CAR_CONTENT_TYPE && (range.params.get('version') ?? '1') === '1') return 'car';
  }
  return undefined;
}

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.status(status).header('content-type', 'text/plain; charset=utf-8').send(`${message}\n`);
}

/**
 * Why the inline part of a DAG (the identity CIDs reachable from `cid` through identity CIDs) cannot be
 * walked, or undefined: found before the response starts, so it is a 400 and not a truncated CAR.
 */
function inlineProblem(cid: CID): string | undefined {
  const bytes = inlineBlock(cid);
  if (!bytes) return undefined;
  if (!isSupportedCid(cid)) return 'only dag-pb and raw blocks are walked';
  try {
    for (const link of blockLinks(cid, bytes)) {
      const problem = inlineProblem(link);
      if (problem) return problem;
    }
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return undefined;
}

async function present(blockstore: Blockstore, cid: CID): Promise<boolean> {
  return inlineBlock(cid) !== undefined || (await blockstore.has(cid));
}

/**
 * An IPFS trustless gateway (https://specs.ipfs.tech/http-gateways/trustless-gateway/) over a
 * blockstore: `GET|HEAD /ipfs/<cid>` as a raw block or a CAR of the DAG (dag-scope=all or block).
 * It never deserializes content, so every byte it serves can be verified by the client.
 */
export async function registerGateway(
  app: FastifyInstance,
  blockstore: Blockstore,
  options: GatewayOptions = {},
): Promise<void> {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');

  const handler = async (
    request: FastifyRequest<GatewayRequest>,
    reply: FastifyReply,
  ): Promise<FastifyReply> => {
    reply.header('access-control-allow-origin', '*');
    reply.header('access-control-expose-headers', 'etag, x-ipfs-path, x-ipfs-roots, content-length');
    reply.header('vary', 'Accept');
    const head = request.method === 'HEAD';
    if (request.params['*']) {
      return sendError(
        reply,
        400,
        'paths below a CID are not supported: request /ipfs/<cid> of the block you need',
      );
    }
    let cid: CID;
    try {
      cid = parseCid(request.params.cid);
    } catch {
      return sendError(reply, 400, `invalid CID "${request.params.cid}"`);
    }
    const access = (await options.access?.(request, cid)) ?? 'public';
    if (typeof access === 'object') return sendError(reply, 403, access.refused);
    const format = negotiateFormat(request.headers.accept, request.query.format);
    if (!format) return sendError(reply, 406, `not acceptable: this trustless gateway serves ${SUPPORTED}`);
    const scope = request.query['dag-scope'] ?? 'all';
    if (format === 'car' && scope !== 'all' && scope !== 'block') {
      return sendError(reply, 400, `dag-scope=${scope} is not supported: use all or block`);
    }
    if (request.query['entity-bytes'] !== undefined)
      return sendError(reply, 400, 'entity-bytes is not supported');
    if (!(await present(blockstore, cid))) return sendError(reply, 404, `block ${cid} not found`);
    if (format === 'car') {
      // Stored blocks were checked when they were imported; inline ones come from the request itself.
      const unwalkable = inlineProblem(cid);
      if (unwalkable) return sendError(reply, 400, `cannot make a CAR of ${cid}: ${unwalkable}`);
    }

    const name = cid.toString();
    const etag = format === 'raw' ? `"${name}.raw"` : `"${name}.car.${scope}"`;
    reply.header('etag', etag);
    reply.header('x-ipfs-path', `/ipfs/${name}`);
    reply.header('x-ipfs-roots', name);
    reply.header('cache-control', access === 'private' ? PRIVATE_CACHE_CONTROL : CACHE_CONTROL);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-disposition', `attachment; filename="${name}.${format}"`);
    if (request.headers['if-none-match']?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
      return reply.status(304).send();
    }

    if (format === 'raw') {
      let bytes: Uint8Array;
      try {
        bytes = inlineBlock(cid) ?? (await getBlock(blockstore, cid));
      } catch (error) {
        if (error instanceof BlockNotFoundError) return sendError(reply, 404, `block ${cid} not found`);
        throw error;
      }
      reply.header('content-type', RAW_CONTENT_TYPE).header('content-length', bytes.byteLength);
      return head ? reply.send() : reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }

    reply.header('content-type', CAR_RESPONSE_TYPE);
    if (head) return reply.send();
    if (scope === 'block') {
      const bytes = inlineBlock(cid) ?? (await getBlock(blockstore, cid));
      return reply.send(Buffer.concat([carHeader([cid]), carSection({ cid, bytes })]));
    }
    // Streamed: a block missing half-way aborts the response, which the client sees as truncated.
    return reply.send(Readable.from(carStream(blockstore, cid)));
  };

  for (const url of [`${prefix}/ipfs/:cid`, `${prefix}/ipfs/:cid/*`]) {
    app.route<GatewayRequest>({ method: ['GET', 'HEAD'], url, handler });
  }
}
