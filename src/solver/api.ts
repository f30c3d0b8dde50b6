/** The solver's HTTP and WebSocket API. Every body is validated; every error says what to fix. */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Hex } from 'viem';
import { WebSocketServer } from 'ws';
import { LilypadError } from '../protocol/errors.js';
import { ReplayGuard, RequestAuthError, verifyRequest } from '../protocol/signed-request.js';
import {
  dealSignatureSchema,
  hashSchema,
  parseWire,
  signedJobOfferSchema,
  signedResourceOfferSchema,
  toWire,
  WireError,
} from '../protocol/wire.js';
import { importCar } from '../storage/car.js';
import { registerGateway } from '../storage/gateway.js';
import { OfferRejectedError, type Solver } from './solver.js';

export const CAR_CONTENT_TYPE = 'application/vnd.ipld.car';

class NotFoundError extends LilypadError {
  override name = 'NotFoundError';
}

export async function buildSolverApi(
  solver: Solver,
  options: { maxUploadBytes: number },
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  const guard = new ReplayGuard();

  app.addContentTypeParser(
    CAR_CONTENT_TYPE,
    { parseAs: 'buffer', bodyLimit: options.maxUploadBytes },
    (_req, body, done) => done(null, body),
  );

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof WireError) return reply.status(400).send({ error: error.message });
    if (error instanceof RequestAuthError) return reply.status(401).send({ error: error.describe() });
    if (error instanceof OfferRejectedError) return reply.status(422).send({ error: error.describe() });
    if (error instanceof NotFoundError) return reply.status(404).send({ error: error.message });
    if (error instanceof LilypadError) return reply.status(400).send({ error: error.describe() });
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500)
      return reply.status(status).send({ error: (error as Error).message });
    solver.logError(error);
    return reply.status(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: `no route ${request.method} ${request.url}; see /api/v1/health` }),
  );

  const dealIdParam = (request: FastifyRequest) =>
    parseWire(hashSchema, (request.params as { id: string }).id, 'deal id in the path');
  const authenticate = (request: FastifyRequest, body: Uint8Array = new Uint8Array()) =>
    verifyRequest({ method: request.method, path: request.url, headers: request.headers, body }, guard);
  const dealOrThrow = (id: Hex) => {
    const deal = solver.store.getDeal(id);
    if (!deal) throw new NotFoundError(`no deal ${id}`);
    return deal;
  };

  app.get('/api/v1/health', async () => ({
    ok: true,
    solver: solver.address,
    chainId: solver.network.chainId,
    deals: solver.network.deals,
    token: solver.network.token,
    mediators: solver.mediators,
  }));

  app.post('/api/v1/job-offers', async (request, reply) => {
    const signed = parseWire(signedJobOfferSchema, request.body, 'job offer');
    const { id, created } = await solver.addJobOffer(signed);
    return reply.status(created ? 201 : 200).send({ id });
  });

  app.get('/api/v1/job-offers/:id', async (request) => {
    const id = parseWire(hashSchema, (request.params as { id: string }).id, 'job offer id in the path');
    const job = solver.store.getJobOffer(id);
    if (!job) throw new NotFoundError(`no job offer ${id}`);
    return toWire({
      id,
      status: job.status,
      dealId: job.dealId,
      reason: job.reason,
      offer: job.signed.offer,
    });
  });

  app.post('/api/v1/resource-offers', async (request, reply) => {
    const signed = parseWire(signedResourceOfferSchema, request.body, 'resource offer');
    const { id, created } = await solver.addResourceOffer(signed);
    return reply.status(created ? 201 : 200).send({ id });
  });

  app.get('/api/v1/deals/:id', async (request) => {
    const deal = dealOrThrow(dealIdParam(request));
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
    const id = dealIdParam(request);
    dealOrThrow(id);
    const { signature } = parseWire(dealSignatureSchema, request.body, 'deal signature');
    const deal = await solver.addDealSignature(id, signature);
    return { id, status: deal.status };
  });

  app.post('/api/v1/deals/:id/running', async (request) => {
    const id = dealIdParam(request);
    const sender = await authenticate(request);
    const deal = solver.markRunning(id, sender);
    return { id, status: deal.status };
  });

  app.put('/api/v1/deals/:id/files', async (request, reply) => {
    const id = dealIdParam(request);
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
    const roots = await importCar(solver.blockstore, body, { maxBytes: options.maxUploadBytes });
    for (const root of roots) {
      solver.store.recordUpload({ cid: root.toString(), dealId: id, uploader, bytes: body.byteLength });
    }
    return reply.status(201).send({ roots: roots.map(String) });
  });

  await registerGateway(app, solver.blockstore);

  // Events: a party proves its address with a signed upgrade request, then receives its deals' events.
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  app.server.on('upgrade', (request, socket, head) => {
    const path = request.url ?? '';
    if (!path.startsWith('/api/v1/events')) return socket.destroy();
    verifyRequest({ method: 'GET', path, headers: request.headers, body: new Uint8Array() }, guard)
      .then((address) => {
        sockets.handleUpgrade(request, socket, head, (ws) => {
          solver.hub.subscribe(address, ws);
          for (const event of solver.currentEvents(address)) solver.hub.send(ws, event);
        });
      })
      .catch((error: unknown) => {
        const message = error instanceof LilypadError ? error.describe() : 'bad request';
        socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\n\r\n${message}\n`);
      });
  });
  app.addHook('onClose', async () => {
    sockets.close();
  });
  return app;
}
