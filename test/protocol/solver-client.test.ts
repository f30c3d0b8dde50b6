/**
 * The solver client waits for a solver that is restarting: its event socket's first connection is retried like
 * any call, until `retryForMs`, instead of failing the job that asked for it at once.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { freePort } from '../../src/chain/anvil.js';
import { SolverClient } from '../../src/protocol/solver-client.js';
import { accounts } from './fixtures.js';

let server: WebSocketServer | undefined;
afterEach(async () => {
  for (const socket of server?.clients ?? []) socket.terminate();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

it('connects its event socket once the solver is back', async () => {
  const port = await freePort();
  const client = new SolverClient(`http://127.0.0.1:${port}`, accounts.jobCreator, { retryForMs: 30_000 });
  const subscribing = client.subscribe(() => {});
  await sleep(300); // the first attempts find nobody listening
  server = new WebSocketServer({ host: '127.0.0.1', port });
  const connected = once(server, 'connection');
  const subscription = await subscribing;
  await connected;
  subscription.close();
});

it('gives up after retryForMs with the reason', async () => {
  const port = await freePort();
  const client = new SolverClient(`http://127.0.0.1:${port}`, accounts.jobCreator, { retryForMs: 300 });
  await expect(client.subscribe(() => {})).rejects.toThrow(/cannot reach the solver/);
});
