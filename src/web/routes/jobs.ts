/**
 * Jobs: submit (JSON, or multipart with files for file inputs), status, history, live events (SSE, or
 * the list as JSON), and result files. Result files are served so that no result can script this site:
 * a fixed set of content types, nosniff, and a sandbox CSP.
 */
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseEther } from 'viem';
import { z } from 'zod';
import { LilypadError } from '../../protocol/errors.js';
import { parseWire } from '../../protocol/wire.js';
import { authenticate, type WebContext } from '../context.js';
import type { UploadedFile } from '../jobs.js';
import { type JobEventView, submitJobBody } from '../schemas.js';

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.json': 'application/json',
};
const contentTypeOf = (path: string) =>
  CONTENT_TYPES[extname(path).toLowerCase()] ?? 'text/plain; charset=utf-8';

const sinceSchema = z.coerce.number().int().min(0, 'must be the last event seq you saw, 0 or more');

/** A multipart submit: the fields `module`, `inputs` (JSON) and `maxPrice`, and one file per file input. */
async function readMultipart(request: FastifyRequest): Promise<{ body: unknown; files: UploadedFile[] }> {
  const fields: Record<string, string> = {};
  const files: UploadedFile[] = [];
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const file = part as MultipartFile;
        files.push({ input: file.fieldname, filename: file.filename, bytes: await file.toBuffer() });
      } else {
        fields[part.fieldname] = String(part.value);
      }
    }
  } catch (error) {
    // The limits' own errors carry their 4xx; a body that is not multipart at all is the sender's too.
    if ((error as { statusCode?: number }).statusCode) throw error;
    throw new LilypadError(`the body is not valid multipart/form-data: ${(error as Error).message}`, {
      hint: 'send a multipart body with the boundary named in the content-type, or send JSON',
    });
  }
  let inputs: unknown = {};
  if (fields.inputs !== undefined) {
    try {
      inputs = JSON.parse(fields.inputs);
    } catch {
      throw new LilypadError(
        'the multipart field "inputs" must be a JSON object of strings, e.g. {"Message":"moo"}',
      );
    }
  }
  return { body: { ...fields, inputs }, files };
}

export function registerJobRoutes(app: FastifyInstance, context: WebContext): void {
  const { jobs } = context;

  app.post('/api/v1/jobs', async (request, reply) => {
    const { account } = authenticate(context, request);
    const { body, files } = request.isMultipart()
      ? await readMultipart(request)
      : { body: request.body, files: [] };
    const submit = parseWire(submitJobBody, body, 'job');
    const job = await jobs.submit(account.id, {
      module: submit.module,
      inputs: submit.inputs,
      maxPrice: submit.maxPrice === undefined ? undefined : parseEther(submit.maxPrice),
      files,
    });
    return reply.status(202).send(job);
  });

  app.get('/api/v1/jobs', async (request) => {
    const { account } = authenticate(context, request);
    return jobs.list(account.id);
  });

  app.get('/api/v1/jobs/:id', async (request) => {
    const { account } = authenticate(context, request);
    return jobs.get(account.id, (request.params as { id: string }).id);
  });

  app.get('/api/v1/jobs/:id/events', async (request, reply) => {
    const { account } = authenticate(context, request);
    const job = jobs.get(account.id, (request.params as { id: string }).id);
    const query = request.query as { since?: string };
    const since = parseWire(
      sinceSchema,
      request.headers['last-event-id'] ?? query.since ?? '0',
      'since (or Last-Event-ID)',
    );
    if (!request.headers.accept?.includes('text/event-stream')) return jobs.events(job.id, since);

    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(heartbeat);
      out.end();
    };
    const send = (event: JobEventView) => {
      if (closed) return;
      out.write(`id: ${event.seq}\nevent: progress\ndata: ${JSON.stringify(event)}\n\n`);
      if (jobs.isFinished(event.status)) close();
    };
    // Subscribed before the catch-up is read, and de-duplicated by seq: no event falls in between.
    let last = since;
    const pending: JobEventView[] = [];
    let caughtUp = false;
    const unsubscribe = jobs.subscribe(job.id, (event) => {
      if (!caughtUp) pending.push(event);
      else if (event.seq > last) {
        last = event.seq;
        send(event);
      }
    });
    const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), 15_000);
    request.raw.on('close', close);
    for (const event of [...jobs.events(job.id, since), ...pending]) {
      if (event.seq <= last) continue;
      last = event.seq;
      send(event);
    }
    caughtUp = true;
    if (jobs.isFinished(jobs.get(account.id, job.id).status) && !closed) close();
  });

  app.get('/api/v1/jobs/:id/files', async (request) => {
    const { account } = authenticate(context, request);
    const { files } = await jobs.resultFiles(account.id, (request.params as { id: string }).id);
    return files;
  });

  app.get('/api/v1/jobs/:id/files/*', async (request, reply) => {
    const { account } = authenticate(context, request);
    const params = request.params as { id: string; '*': string };
    const path = await jobs.resultFile(account.id, params.id, params['*']);
    const download = (request.query as { download?: string }).download !== undefined;
    reply
      .header('content-type', contentTypeOf(path))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "sandbox; default-src 'none'")
      .header('cache-control', 'private, max-age=3600');
    if (download) {
      const name = params['*'].split('/').at(-1) ?? 'file';
      reply.header('content-disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
    }
    return reply.send(createReadStream(path));
  });
}
