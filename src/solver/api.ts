/**
 * The solver's HTTP and WebSocket API (described by /api/v1/openapi.json). Every body is validated;
 * every error is `{ error }` with a 4xx that says what to fix; state-changing requests are signed by
 * their sender (or carry a signed offer) and counted against that address's rate limit.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Address, Hex } from 'viem';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { setErrorReplies } from '../http/error-replies.js';
import { RateLimitedError, RateLimiter } from '../http/rate-limit.js';
import { LilypadError } from '../protocol/errors.js';
import { ReplayGuard, RequestAuthError, verifyRequest } from '../protocol/signed-request.js';
import {
  dealSignatureSchema,
  hashSchema,
  jobOfferPostSchema,
  parseWire,
  signedResourceOfferSchema,
  toWire,
} from '../protocol/wire.js';
import { registerGateway } from '../storage/gateway.js';
import { QuotaExceededError } from './directory.js';
import { withSeq } from './event-log.js';
import { MarketConflictError, NotYourOfferError, OfferNotFoundError } from './market.js';
import { NotAModuleError } from './module-car.js';
import { registerModulePublishing } from './module-route.js';
import { registerNetworkStatsRoute } from './network-stats.js';
import { openApiDocument } from './openapi.js';
import { privateContentAccess } from './private-content.js';
import { DealNotFoundError, OfferRejectedError, type Solver } from './solver.js';

export const CAR_CONTENT_TYPE = 'application/vnd.ipld.car';

const toJson = (value: unknown) =>
  JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));

const sinceSchema = z
  .string()
  .regex(/^\d{1,15}$/, 'expected the last event seq you saw, a non-negative integer')
  .transform(Number);

/** The HTTP status for this API's own errors (the shared ones are known to setErrorReplies). */
function statusOf(error: unknown): number | undefined {
  if (error instanceof RequestAuthError) return 401;
  if (error instanceof NotYourOfferError) return 403;
  if (error instanceof OfferNotFoundError || error instanceof DealNotFoundError) return 404;
  if (error instanceof MarketConflictError) return 409;
  if (error instanceof QuotaExceededError) return 413;
  if (error instanceof OfferRejectedError || error instanceof NotAModuleError) return 422;
  return undefined;
}

export async function buildSolverApi(solver: Solver): Promise<FastifyInstance> {
  const { limits } = solver;
  const app = Fastify({ logger: false, bodyLimit: limits.maxBodyBytes });
  const guard = new ReplayGuard();
  const limiter = new RateLimiter(limits.rate);
  const ipLimiter = new RateLimiter(limits.ipRate);

  app.removeContentTypeParser('text/plain'); // bodies are JSON (or CARs): text gets a 415 that says so
  app.addContentTypeParser(
    CAR_CONTENT_TYPE,
    { parseAs: 'buffer', bodyLimit: limits.maxUploadBytes },
    (_req, body, done) => done(null, body),
  );

  setErrorReplies(app, {
    statusOf,
    accepts: `application/json (or ${CAR_CONTENT_TYPE} for uploads)`,
    bodyLimit: `JSON bodies are limited to ${limits.maxBodyBytes} bytes, uploads to the upload limit`,
    logError: (error) => solver.logError(error),
  });
  // Reads are not signed: they are counted against the client's IP address instead (gateway included).
  app.addHook('onRequest', async (request) => {
    if (request.method === 'GET' || request.method === 'HEAD') ipLimiter.take(request.ip);
  });

  const idParam = (request: FastifyRequest, what: string) =>
    parseWire(hashSchema, (request.params as { id: string }).id, `${what} id in the path`);
  /** The sender of a signed request, counted against its rate limit. */
  const authenticate = async (
    request: FastifyRequest,
    body: Uint8Array = new Uint8Array(),
  ): Promise<Address> => {
    const sender = await verifyRequest(
      { method: request.method, path: request.url, headers: request.headers, body },
      guard,
    );
    limiter.take(sender);
    return sender;
  };
  const dealOrThrow = (id: Hex) => {
    const deal = solver.store.getDeal(id);
    if (!deal) throw new DealNotFoundError(`no deal ${id}`);
    return deal;
  };
  const created = (reply: FastifyReply, isNew: boolean, body: unknown) =>
    reply.status(isNew ? 201 : 200).send(toWire(body));

  app.get('/api/v1/health', async () => ({
    ok: true,
    solver: solver.address,
    chainId: solver.network.chainId,
    deals: solver.network.deals,
    token: solver.network.token,
    mediators: solver.mediators,
  }));

  const openApi = openApiDocument();
  app.get('/api/v1/openapi.json', async () => openApi);

  // ---- job offers ---------------------------------------------------------------------------------

  app.post('/api/v1/job-offers', async (request, reply) => {
    const { private: isPrivate, ...signed } = parseWire(jobOfferPostSchema, request.body, 'job offer');
    limiter.take(signed.offer.jobCreator);
    const outcome = await solver.addJobOffer(signed, { private: isPrivate === true });
    return created(reply, outcome.created, {
      id: outcome.id,
      status: outcome.status,
      dealId: outcome.dealId,
    });
  });

  app.get('/api/v1/job-offers/:id', async (request) => {
    const id = idParam(request, 'job offer');
    const job = solver.jobOffer(id);
    if (!job) throw new OfferNotFoundError(`no job offer ${id}`);
    return toWire({
      id,
      status: job.status,
      dealId: job.dealId,
      reason: job.reason,
      offer: job.signed.offer,
    });
  });

  app.get('/api/v1/job-offers/:id/why', async (request) => {
    const id = idParam(request, 'job offer');
    const job = solver.jobOffer(id);
    if (!job)
      throw new OfferNotFoundError(`no job offer ${id}`, { hint: 'check the id, and the solver URL' });
    return { id, status: job.status, dealId: job.dealId, reason: explainJob(solver, job) };
  });

  app.delete('/api/v1/job-offers/:id', async (request) => {
    const id = idParam(request, 'job offer');
    const sender = await authenticate(request);
    return { id, status: await solver.cancelJobOffer(id, sender) };
  });

  // ---- resource offers ----------------------------------------------------------------------------

  app.post('/api/v1/resource-offers', async (request, reply) => {
    const signed = parseWire(signedResourceOfferSchema, request.body, 'resource offer');
    limiter.take(signed.offer.resourceProvider);
    const outcome = await solver.addResourceOffer(signed);
    return created(reply, outcome.created, {
      id: outcome.id,
      status: outcome.status,
      dealId: outcome.dealId,
    });
  });

  app.get('/api/v1/resource-offers/:id', async (request) => {
    const id = idParam(request, 'resource offer');
    const offer = solver.store.getResourceOffer(id);
    if (!offer) throw new OfferNotFoundError(`no resource offer ${id}`);
    return toWire({ id, status: offer.status, dealId: offer.dealId, offer: offer.signed.offer });
  });

  app.delete('/api/v1/resource-offers/:id', async (request) => {
    const id = idParam(request, 'resource offer');
    const sender = await authenticate(request);
    return { id, status: await solver.cancelResourceOffer(id, sender) };
  });

  // ---- deals --------------------------------------------------------------------------------------

  app.get('/api/v1/deals/:id', async (request) => {
    const deal = dealOrThrow(idParam(request, 'deal'));
    return toWire({
      id: deal.id,
      status: deal.status,
      chainState: deal.chainState,
      deal: deal.deal,
      resultCID: deal.resultCID,
      instructionCount: deal.instructionCount,
      cost: deal.cost,
      reason: deal.reason,
    });
  });

  app.post('/api/v1/deals/:id/signatures', async (request) => {
    const id = idParam(request, 'deal');
    const deal = dealOrThrow(id);
    const { signature } = parseWire(dealSignatureSchema, request.body, 'deal signature');
    limiter.take(`deal:${deal.id}`);
    const updated = await solver.addDealSignature(id, signature);
    return { id, status: updated.status };
  });

  app.post('/api/v1/deals/:id/running', async (request) => {
    const id = idParam(request, 'deal');
    const sender = await authenticate(request);
    const deal = await solver.markRunning(id, sender);
    return { id, status: deal.status };
  });

  app.put('/api/v1/deals/:id/files', async (request, reply) => {
    const id = idParam(request, 'deal');
    if (request.headers['content-type'] !== CAR_CONTENT_TYPE) {
      return reply.status(415).send({ error: `upload a CAR with content-type ${CAR_CONTENT_TYPE}` });
    }
    const body = request.body as Buffer;
    const uploader = await authenticate(request, body);
    const deal = dealOrThrow(id);
    const members = [deal.deal.jobCreator, deal.deal.resourceProvider].map((a) => a.toLowerCase());
    if (!members.includes(uploader.toLowerCase())) {
      return reply.status(403).send({ error: `${uploader} is not a member of deal ${id}` });
    }
    const roots = await solver.directory.upload(id, uploader, body);
    return reply.status(201).send({ roots: roots.map(String) });
  });

  registerModulePublishing(app, { directory: solver.directory, authenticate });
  registerNetworkStatsRoute(app, solver.store);

  await registerGateway(app, solver.blockstore, {
    access: (request, cid) => privateContentAccess(solver.store, guard, request, cid),
  });

  // ---- events -------------------------------------------------------------------------------------

  // A party proves its address with a signed upgrade request, then hears its own events only.
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  app.server.on('upgrade', (request, socket, head) => {
    const path = request.url ?? '';
    const refuse = (status: string, message: string, headers: string[] = []) =>
      socket.end(
        `HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${message}\n`,
      );
    // The request line is the client's: one that is not a URL is refused, not thrown on.
    const url = URL.canParse(path, 'http://solver') ? new URL(path, 'http://solver') : undefined;
    if (!url) return refuse('400 Bad Request', 'the request path is not a URL');
    if (url.pathname !== '/api/v1/events') return refuse('404 Not Found', 'events are at /api/v1/events');
    const sinceText = url.searchParams.get('since');
    let since: number | undefined;
    try {
      since = sinceText === null ? undefined : parseWire(sinceSchema, sinceText, '?since');
    } catch (error) {
      return refuse('400 Bad Request', (error as Error).message);
    }
    // Checking a signature costs the server more than sending one costs the client: attempts count
    // against the client's IP address first, like the unsigned reads.
    Promise.resolve()
      .then(() => ipLimiter.take(request.socket.remoteAddress ?? 'unknown'))
      .then(() =>
        verifyRequest({ method: 'GET', path, headers: request.headers, body: new Uint8Array() }, guard),
      )
      .then((address) => {
        limiter.take(address);
        sockets.handleUpgrade(request, socket, head, (ws) => {
          // Synchronous from here: no event can be committed between the catch-up and the subscription.
          solver.hub.subscribe(address, ws);
          for (const { seq, event } of solver.eventsOnConnect(address, since))
            ws.send(withSeq(toJson(event), seq));
        });
      })
      .catch((error: unknown) => {
        if (error instanceof RateLimitedError) {
          return refuse('429 Too Many Requests', error.describe(), [
            `retry-after: ${error.retryAfterSeconds}`,
          ]);
        }
        refuse('401 Unauthorized', error instanceof LilypadError ? error.describe() : 'bad request');
      });
  });
  app.addHook('onClose', async () => {
    sockets.close();
  });
  return app;
}

/** One sentence on where a job offer stands: why it waits, or what became of it. */
function explainJob(solver: Solver, job: NonNullable<ReturnType<Solver['jobOffer']>>): string {
  switch (job.status) {
    case 'queued':
      return job.reason ?? 'waiting for a match';
    case 'matched': {
      const deal = job.dealId ? solver.store.getDeal(job.dealId) : undefined;
      return deal
        ? `matched with resource provider ${deal.deal.resourceProvider} in deal ${deal.id} (${deal.status})`
        : 'matched';
    }
    case 'settled':
      return `settled in deal ${job.dealId}`;
    case 'expired':
      return job.reason ?? 'expired before a match was found';
    case 'cancelled':
      return job.reason ?? 'cancelled';
  }
}
