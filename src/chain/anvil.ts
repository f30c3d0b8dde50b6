/**
 * A local chain for development and tests: anvil from the `@foundry-rs/anvil` npm package, started on a free port
 * of 127.0.0.1 and stopped with its caller (no orphan processes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { LilypadError } from '../protocol/errors.js';
import { forgetEndpoint } from './clients.js';

export const ANVIL_CHAIN_ID = 31337;

export type AnvilOptions = {
  /** Port to listen on; a free one by default. */
  port?: number;
  /** The chain id; 31337 (ANVIL_CHAIN_ID) by default. Two anvils with different ids are two chains. */
  chainId?: number;
  /** Seconds between blocks; by default a block is mined for every transaction (automine). */
  blockTime?: number;
  /** Aborting stops anvil. */
  signal?: AbortSignal;
};

export type Anvil = {
  rpcUrl: string;
  chainId: number;
  pid: number;
  stop(): Promise<void>;
};

/** The anvil binary of this platform's `@foundry-rs/anvil-<platform>-<arch>` package. */
export function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  let binary: string | undefined;
  try {
    binary = join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), 'bin', exe);
  } catch {
    binary = undefined;
  }
  if (!binary || !existsSync(binary)) {
    throw new LilypadError(`the anvil binary for ${process.platform}-${process.arch} is missing`, {
      details: `looked for the npm package ${pkg}`,
      hint: 'run `npm install` (optional dependencies must not be omitted), or set WEB3_RPC_URL to use another chain',
    });
  }
  return binary;
}

export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const binary = anvilBinary();
  options.signal?.throwIfAborted();
  // A free port can be taken by someone else between the probe and anvil's bind: then try another one.
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(binary, port, options);
    } catch (error) {
      lastError = error;
      if (options.signal?.aborted) break;
    }
  }
  throw lastError;
}

async function launch(binary: string, port: number, options: AnvilOptions): Promise<Anvil> {
  const chainId = options.chainId ?? ANVIL_CHAIN_ID;
  const rpcUrl = `http://127.0.0.1:${port}`;
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--silent'];
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime));
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  // 'exit' handlers run synchronously while the parent exits: a synchronous kill is all that can be done there.
  const killOnExit = () => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      options.signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnExit);
      child.stderr?.destroy();
      // A later anvil may get the same port: it must not inherit this chain's nonces.
      forgetEndpoint(rpcUrl);
    })();
    return stopping;
  };
  const onAbort = () => void stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    await waitUntilReady(rpcUrl, chainId, child, exited, options.signal);
  } catch (error) {
    await stop();
    const details = stderr.trim() || undefined;
    if (error instanceof LilypadError) {
      throw new LilypadError(error.message, {
        details: details ?? error.details,
        hint: error.hint,
        cause: error,
      });
    }
    throw error;
  }
  if (child.pid === undefined) throw new LilypadError('anvil started without a process id');
  return { rpcUrl, chainId, pid: child.pid, stop };
}

async function waitUntilReady(
  rpcUrl: string,
  chainId: number,
  child: ChildProcess,
  exited: Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let failure: Error | undefined;
  void spawnError.then((error) => {
    failure = error;
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (failure) throw new LilypadError(`cannot start anvil: ${failure.message}`, { cause: failure });
    if (hasExited) throw new LilypadError(`anvil exited during startup (code ${child.exitCode})`);
    if (signal?.aborted) throw new LilypadError('anvil startup was aborted');
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(1000),
      });
      const body = (await response.json()) as { result?: string };
      // Our anvil, not another process that holds the port: ours would have exited on the failed bind.
      if (body.result !== undefined && Number(body.result) === chainId && !hasExited) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new LilypadError(`anvil did not answer on ${rpcUrl} within 15 s`);
}

/** A port free on 127.0.0.1 at the time of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
