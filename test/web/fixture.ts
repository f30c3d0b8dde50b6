/**
 * One devnet and one web server per test file: the web app on a real chain, solver and resource
 * provider, its log captured so tests can check that no secret reaches it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { type Devnet, startDevnet } from '../../src/devnet/devnet.js';
import type { RateLimit } from '../../src/http/rate-limit.js';
import { startWebServer, type WebServer } from '../../src/web/server.js';

export type WebFixture = {
  devnet: Devnet;
  web: WebServer;
  dataDir: string;
  /** Every log line the web server wrote. */
  log: string[];
  /** Stops the web server and starts it again on the same state (and port). */
  restart(): Promise<WebServer>;
  stop(): Promise<void>;
};

export async function startWebFixture(options: { rateLimit?: RateLimit } = {}): Promise<WebFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lilypad-web-'));
  const devnet = await startDevnet({ dataDir: join(dataDir, 'devnet'), logger: pino({ level: 'silent' }) });
  const log: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        log.push(String(chunk));
        done();
      },
    }),
  );
  const start = (port = 0) =>
    startWebServer({
      network: devnet.network,
      mediators: devnet.mediators,
      dataDir: join(dataDir, 'web'),
      logger,
      faucetPrivateKey: devAccount('deployer').privateKey,
      rateLimit: options.rateLimit,
      port,
    });
  const fixture: WebFixture = {
    devnet,
    web: await start(),
    dataDir,
    log,
    restart: async () => {
      const port = Number(new URL(fixture.web.url).port);
      await fixture.web.stop();
      fixture.web = await start(port);
      return fixture.web;
    },
    stop: async () => {
      await fixture.web?.stop();
      await devnet.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return fixture;
}
