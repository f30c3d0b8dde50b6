/**
 * How the solver's and the web app's HTTP servers answer errors: every error is `{ error }`. An error
 * thrown on purpose gets its status and the words that say what to fix; fastify's own 4xx (a body too
 * large, of the wrong type, not JSON) are reworded to say what to send; an unknown route names the
 * OpenAPI document; anything else is logged and answered 500 with no detail.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LilypadError } from '../protocol/errors.js';
import { WireError } from '../protocol/wire.js';
import { RateLimitedError } from './rate-limit.js';

export type ErrorRepliesOptions = {
  /** The status of this server's own errors; the shared ones (bad input, rate limits) are known here. */
  statusOf(error: unknown): number | undefined;
  /** What the server takes, for a 415: "application/json (or … for uploads)". */
  accepts: string;
  /** What a 413 says about the limits: "JSON bodies are limited to … bytes". */
  bodyLimit: string;
  /** Words for other fastify error codes this server meets (a multipart file too large). */
  fastifyCodes?: Record<string, string>;
  logError(error: unknown, request: FastifyRequest): void;
};

/** Fastify's own 4xx, in words that say what to do. */
function describeFastifyError(
  error: { code?: string; message: string },
  options: ErrorRepliesOptions,
): string {
  const code = error.code ?? '';
  const own = options.fastifyCodes?.[code];
  if (own) return own;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `the body is too large: ${options.bodyLimit}`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `${error.message}; send ${options.accepts}`;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the body is empty; send the JSON object this route takes (see /api/v1/openapi.json)';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return `the body is not valid JSON: ${error.message}`;
    default:
      return error.message;
  }
}

/** The status of an error thrown on purpose, or undefined for one nobody meant. */
function statusOf(error: unknown, options: ErrorRepliesOptions): number | undefined {
  if (error instanceof WireError) return 400;
  if (error instanceof RateLimitedError) return 429;
  const own = options.statusOf(error);
  if (own) return own;
  if (error instanceof LilypadError) return 400;
  return undefined;
}

export function setErrorReplies(app: FastifyInstance, options: ErrorRepliesOptions): void {
  app.setErrorHandler((error, request, reply: FastifyReply) => {
    const status = statusOf(error, options);
    if (status) {
      if (error instanceof RateLimitedError) reply.header('retry-after', String(error.retryAfterSeconds));
      const message = error instanceof LilypadError ? error.describe() : (error as Error).message;
      return reply.status(status).send({ error: message });
    }
    const fastifyStatus = (error as { statusCode?: number }).statusCode;
    if (fastifyStatus && fastifyStatus >= 400 && fastifyStatus < 500) {
      return reply
        .status(fastifyStatus)
        .send({ error: describeFastifyError(error as { code?: string; message: string }, options) });
    }
    options.logError(error, request);
    return reply.status(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: `no route ${request.method} ${request.url}; the API is described at /api/v1/openapi.json`,
    }),
  );
}
