import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createWalletClient, http, toHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, startAnvil } from '../../src/chain/anvil.js';
import { publicClientFor } from '../../src/chain/clients.js';
import { DEV_MNEMONIC, devAccounts } from '../../src/chain/dev-accounts.js';

/** Alive and not a zombie waiting for a parent to reap it. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

async function waitUntilGone(pid: number, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !isRunning(pid);
}

let anvil: Anvil;

beforeAll(async () => {
  anvil = await startAnvil();
});

afterAll(async () => {
  await anvil?.stop();
});

describe('startAnvil', () => {
  it('serves chain 31337 on 127.0.0.1', async () => {
    expect(anvil.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(anvil.chainId).toBe(31337);
    expect(await publicClientFor(anvil.rpcUrl, anvil.chainId).getChainId()).toBe(31337);
  });

  it('has the dev accounts, derived from the dev mnemonic', async () => {
    const accounts = await createWalletClient({ transport: http(anvil.rpcUrl) }).getAddresses();
    expect(accounts.map((a) => a.toLowerCase())).toEqual(devAccounts.map((a) => a.address.toLowerCase()));
    devAccounts.forEach((account, index) => {
      const derived = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
      expect(derived.address).toBe(account.address);
      expect(toHex(derived.getHdKey().privateKey ?? new Uint8Array())).toBe(account.privateKey);
    });
    expect(devAccounts.slice(0, 5).map((a) => a.role)).toEqual([
      'deployer',
      'solver',
      'resourceProvider',
      'jobCreator',
      'mediator',
    ]);
  });

  it('starts fast, runs side by side, and stop() leaves no process behind', async () => {
    const started = Date.now();
    const [a, b] = await Promise.all([startAnvil(), startAnvil()]);
    console.log(`two anvils started in ${Date.now() - started} ms`);
    expect(a.rpcUrl).not.toBe(b.rpcUrl);
    expect(isRunning(a.pid) && isRunning(b.pid)).toBe(true);
    await Promise.all([a.stop(), b.stop()]);
    expect(isRunning(a.pid)).toBe(false);
    expect(isRunning(b.pid)).toBe(false);
    await a.stop(); // idempotent
  });

  it('takes a port, a block time and an abort signal', async () => {
    const probe = await startAnvil();
    const port = Number(new URL(probe.rpcUrl).port);
    await probe.stop();
    const controller = new AbortController();
    const timed = await startAnvil({ port, blockTime: 1, signal: controller.signal });
    expect(timed.rpcUrl).toBe(`http://127.0.0.1:${port}`);
    controller.abort();
    expect(await waitUntilGone(timed.pid)).toBe(true);
  });

  it('kills anvil when the parent process exits without stopping it', async () => {
    const script = fileURLToPath(new URL('./fixtures/leave-anvil-running.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    expect(await waitUntilGone(pid)).toBe(true);
  });
});
