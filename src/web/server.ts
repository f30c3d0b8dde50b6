/**
 * `lilypad web`: the REST API under /api/v1 (described at /api/v1/openapi.json) and the pages built by
 * `npm run build:web`, on one fastify server. State is one SQLite file under the data dir; the server
 * secret that encrypts wallet keys is LILYPAD_WEB_SECRET or a random one kept beside the database.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import { setErrorReplies } from '../http/error-replies.js';
import { type RateLimit, RateLimiter } from '../http/rate-limit.js';
import { packageRoot } from '../modules/registry.js';
import type { NetworkConfig } from '../protocol/network.js';
import { AccountExistsError, Accounts, BadCredentialsError } from './accounts.js';
import { ApiKeys } from './api-keys.js';
import type { WebContext } from './context.js';
import { openWebDatabase } from './database.js';
import { CsrfError, NotFoundError, NotSignedInError, SolverUnavailableError } from './errors.js';
import { JobRunner } from './jobs.js';
import { webOpenApiDocument } from './openapi.js';
import { registerAccountRoutes } from './routes/account.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerCatalogueRoutes } from './routes/catalogue.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerKeyRoutes } from './routes/keys.js';
import { registerNetworkRoutes } from './routes/network.js';
import { randomToken, SecretBox } from './secrets.js';
import { Sessions } from './sessions.js';
import { SiweError, SiweNonces } from './siwe.js';
import { Wallets } from './wallets.js';

export type WebServerOptions = {
  network: NetworkConfig;
  mediators: Address[];
  /** The web app's own folder: database, secret, results, uploads. */
  dataDir: string;
  logger: Logger;
  /** Funds each new account's wallet (the devnet's deployer); none elsewhere. */
  faucetPrivateKey?: Hex;
  /** Encrypts the wallet keys at rest; default: a random one made once and kept in `<dataDir>/secret`. */
  secret?: string;
  host?: string;
  port?: number;
  /** Per API key, per session and per client IP for sign-in. */
  rateLimit?: RateLimit;
  secureCookies?: boolean | 'auto';
  offerTtlSeconds?: number;
  /** The built pages; default the package's build/web. */
  pagesDir?: string;
};

export type WebServer = { url: string; app: FastifyInstance; jobs: JobRunner; stop(): Promise<void> };

export const DEFAULT_WEB_RATE_LIMIT: RateLimit = { perSecond: 5, burst: 60 };
const UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024;
const JSON_BODY_LIMIT_BYTES = 1024 * 1024;

/** Secrets that must never reach a log line, whatever is logged. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'privateKey',
  '*.privateKey',
  'csrfToken',
  '*.csrfToken',
];

/** The HTTP status for this API's own errors (the shared ones are known to setErrorReplies). */
function statusOf(error: unknown): number | undefined {
  if (error instanceof NotSignedInError || error instanceof BadCredentialsError || error instanceof SiweError)
    return 401;
  if (error instanceof CsrfError) return 403;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof AccountExistsError) return 409;
  if (error instanceof SolverUnavailableError) return 502;
  return undefined;
}

async function serverSecret(dataDir: string, given: string | undefined): Promise<string> {
  if (given) return given;
  const file = join(dataDir, 'secret');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const secret = randomToken(32);
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  await mkdir(options.dataDir, { recursive: true });
  const logger = options.logger.child({ service: 'web' }, { redact: REDACTED_PATHS });
  const db = openWebDatabase(join(options.dataDir, 'web.sqlite'));
  const box = new SecretBox(await serverSecret(options.dataDir, options.secret));
  const accounts = new Accounts(db, box);
  const jobs = new JobRunner({
    db,
    accounts,
    network: options.network,
    mediators: options.mediators,
    dataDir: options.dataDir,
    logger,
    offerTtlSeconds: options.offerTtlSeconds,
  });
  const context: WebContext = {
    network: options.network,
    accounts,
    sessions: new Sessions(db),
    apiKeys: new ApiKeys(db),
    nonces: new SiweNonces(db, options.network.chainId),
    jobs,
    wallets: new Wallets(options.network, options.faucetPrivateKey),
    limiter: new RateLimiter(options.rateLimit ?? DEFAULT_WEB_RATE_LIMIT),
    secureCookies: options.secureCookies ?? 'auto',
  };

  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, bodyLimit: JSON_BODY_LIMIT_BYTES });
  await app.register(fastifyCookie);
  await app.register(fastifyMultipart, { limits: { fileSize: UPLOAD_LIMIT_BYTES, files: 8, fields: 16 } });
  app.removeContentTypeParser('text/plain');

  setErrorReplies(app, {
    statusOf,
    accepts: 'application/json, or multipart/form-data to upload files',
    bodyLimit: `JSON bodies are limited to ${JSON_BODY_LIMIT_BYTES} bytes`,
    fastifyCodes: {
      FST_REQ_FILE_TOO_LARGE: `an uploaded file is larger than ${UPLOAD_LIMIT_BYTES / 1024 / 1024} MiB`,
    },
    logError: (error, request) => request.log.error({ err: error }, 'request failed'),
  });
  app.addHook('onSend', async (request, reply) => {
    if (!request.url.startsWith('/api/')) {
      reply.header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
      );
      reply.header('x-content-type-options', 'nosniff');
    }
  });

  const openApi = webOpenApiDocument();
  app.get('/api/v1/openapi.json', async () => openApi);
  app.get('/api/v1/health', async () => ({ ok: true, chainId: options.network.chainId }));
  registerAuthRoutes(app, context);
  registerKeyRoutes(app, context);
  registerJobRoutes(app, context);
  registerAccountRoutes(app, context);
  registerCatalogueRoutes(app, context);
  registerNetworkRoutes(app, context);

  const pagesDir = options.pagesDir ?? join(packageRoot(), 'build', 'web');
  if (existsSync(join(pagesDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: pagesDir, index: 'index.html' });
  } else {
    app.get('/', async (_request, reply) =>
      reply
        .type('text/plain')
        .send(
          `The pages are not built (no ${pagesDir}/index.html): run npm run build. The API is at /api/v1.`,
        ),
    );
  }

  const inFlight = jobs.resumeAfterRestart();
  if (inFlight.restarted + inFlight.resumed > 0) logger.info(inFlight, 'jobs found in flight at start');

  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  return {
    url: address,
    app,
    jobs,
    stop: async () => {
      await jobs.stop();
      await app.close();
      db.close();
    },
  };
}
