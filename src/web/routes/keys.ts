/** API keys: made and revoked from a signed-in browser only, so a leaked key cannot mint more. */
import type { FastifyInstance } from 'fastify';
import { parseWire } from '../../protocol/wire.js';
import { authenticate, type WebContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { createKeyBody } from '../schemas.js';

export function registerKeyRoutes(app: FastifyInstance, context: WebContext): void {
  const { apiKeys } = context;

  app.get('/api/v1/keys', async (request) => {
    const { account } = authenticate(context, request, { sessionOnly: true });
    return apiKeys.list(account.id);
  });

  app.post('/api/v1/keys', async (request, reply) => {
    const { account } = authenticate(context, request, { sessionOnly: true });
    const { name } = parseWire(createKeyBody, request.body, 'API key');
    return reply.status(201).send(apiKeys.create(account.id, name));
  });

  app.delete('/api/v1/keys/:id', async (request) => {
    const { account } = authenticate(context, request, { sessionOnly: true });
    const { id } = request.params as { id: string };
    if (!apiKeys.revoke(account.id, id))
      throw new NotFoundError(`no live API key ${id} in this account`, {
        hint: 'list your keys with GET /api/v1/keys',
      });
    return { id, revoked: true };
  });
}
