/**
 * `POST /api/v1/modules`: publishes a module folder to the directory outside any deal, so that
 * `lilypad run <CID>` finds it. The request is signed by its publisher, whose upload quota it counts
 * against while the module is pinned (see directory.ts for the retention rule).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Address } from 'viem';
import { CAR_CONTENT_TYPE } from '../storage/car.js';
import type { Directory } from './directory.js';

export function registerModulePublishing(
  app: FastifyInstance,
  options: {
    directory: Directory;
    /** The sender of a signed request (counted against its rate limit). */
    authenticate: (request: FastifyRequest, body: Uint8Array) => Promise<Address>;
  },
): void {
  app.post('/api/v1/modules', async (request, reply) => {
    if (request.headers['content-type'] !== CAR_CONTENT_TYPE) {
      return reply
        .status(415)
        .send({ error: `upload the module folder as a CAR with content-type ${CAR_CONTENT_TYPE}` });
    }
    const body = request.body as Buffer;
    const publisher = await options.authenticate(request, body);
    const published = await options.directory.publishModule(publisher, body);
    return reply.status(201).send({
      cid: published.cid.toString(),
      name: published.manifest.name,
      version: published.manifest.version,
      pinnedUntil: new Date(published.pinnedUntil).toISOString(),
    });
  });
}
