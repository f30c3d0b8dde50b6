/**
 * `lilypad resource-provider --check`: everything a provider needs before it takes a deal, checked one by
 * one and reported with the fix for what fails: the chain, gas, the deposit its offers' collaterals need,
 * the solver, the executors (WASM always; Docker and the GPUs it sees when asked for), disk and capacity.
 */
import { formatEther, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { lilypadTokenAbi } from '../chain/artifacts/index.js';
import { publicClientFor } from '../chain/clients.js';
import { escrowBalance } from '../chain/deals.js';
import { DockerClient } from '../executors/docker/docker-client.js';
import { defaults } from '../protocol/defaults.js';
import type { MachineSpec } from '../protocol/eip712.js';
import type { NetworkConfig } from '../protocol/network.js';
import { SolverClient } from '../protocol/solver-client.js';
import { describeSlots, freeDiskMB, type Machine, slotsFor } from './capacity.js';
import { collateralNeeded, type ResourceProviderPricing } from './pricing.js';

export type Check = { name: string; ok: boolean; detail: string; fix?: string };

export type PreflightOptions = {
  network: NetworkConfig;
  privateKey: Hex;
  dataDir: string;
  spec: MachineSpec;
  machine: Machine;
  slots: number;
  pricing: ResourceProviderPricing;
  /** Module CIDs the offers are limited to; empty for any (then Docker is needed for container modules). */
  modules: string[];
};

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function preflight(options: PreflightOptions): Promise<Check[]> {
  const { network, spec, machine, slots, pricing } = options;
  const address = privateKeyToAccount(options.privateKey).address;
  const client = publicClientFor(network.rpcUrl, network.chainId);
  const checks: Check[] = [];
  const add = (check: Check) => checks.push(check);

  let chainUp = false;
  try {
    const chainId = await client.getChainId();
    chainUp = chainId === network.chainId;
    add({
      name: 'chain reachable',
      ok: chainUp,
      detail: chainUp
        ? `chain ${chainId} at ${network.rpcUrl}`
        : `${network.rpcUrl} serves chain ${chainId}, not ${network.chainId}`,
      fix: chainUp ? undefined : 'point WEB3_RPC_URL (or the network profile) at the right chain',
    });
  } catch (error) {
    add({
      name: 'chain reachable',
      ok: false,
      detail: `cannot reach ${network.rpcUrl}: ${message(error)}`,
      fix: 'check WEB3_RPC_URL or the network profile, and that the node is running',
    });
  }

  if (chainUp) {
    const gas = await client.getBalance({ address });
    add({
      name: 'key funded',
      ok: gas > 0n,
      detail: `${address} holds ${formatEther(gas)} ETH for gas`,
      fix: gas > 0n ? undefined : `send ETH for gas to ${address}`,
    });
    const [{ free }, held] = await Promise.all([
      escrowBalance(client, network, address),
      client.readContract({
        address: network.token,
        abi: lilypadTokenAbi,
        functionName: 'balanceOf',
        args: [address],
      }),
    ]);
    const needed = collateralNeeded(pricing, defaults.mediationFee, { free: slots, busy: 0 });
    const enough = free + held >= needed;
    add({
      name: 'deposit',
      ok: enough,
      detail: `${formatEther(free)} LP free in escrow and ${formatEther(held)} LP in the wallet; ${slots} slot(s) need ${formatEther(needed)} LP of collateral${free < needed && enough ? ' (the rest is deposited at start)' : ''}`,
      fix: enough
        ? undefined
        : `get ${formatEther(needed - free - held)} LP more into ${address}, or lower --slots or --timeout-collateral`,
    });
  }

  try {
    const health = await new SolverClient(network.solverUrl, privateKeyToAccount(options.privateKey), {
      retryForMs: 0,
    }).health();
    const same =
      health.chainId === network.chainId && health.deals.toLowerCase() === network.deals.toLowerCase();
    add({
      name: 'solver reachable',
      ok: same,
      detail: same
        ? `${health.solver} at ${network.solverUrl}`
        : `the solver at ${network.solverUrl} serves chain ${health.chainId}, deals ${health.deals}`,
      fix: same ? undefined : 'point LILYPAD_SOLVER_URL at the solver of this network',
    });
  } catch (error) {
    add({
      name: 'solver reachable',
      ok: false,
      detail: message(error),
      fix: 'check that the solver runs and LILYPAD_SOLVER_URL (or its URL registered on-chain) is right',
    });
  }

  add({ name: 'WASM executor', ok: true, detail: 'built in (node:wasi in a worker thread)' });
  const docker = new DockerClient();
  try {
    const { apiVersion } = await docker.ping();
    add({ name: 'Docker executor', ok: true, detail: `daemon at ${docker.socketPath}, API ${apiVersion}` });
    if (spec.gpu > 0) {
      const info = await docker.info();
      const nvidia = Object.keys(info.Runtimes ?? {}).includes('nvidia');
      const seen = machine.gpus.length;
      add({
        name: 'GPUs seen by Docker',
        ok: nvidia && seen >= spec.gpu,
        detail: `${seen} GPU(s) found by nvidia-smi; Docker runtimes: ${Object.keys(info.Runtimes ?? {}).join(', ')}`,
        fix:
          nvidia && seen >= spec.gpu
            ? undefined
            : 'install the NVIDIA driver and the NVIDIA container toolkit (`nvidia-ctk runtime configure --runtime=docker`), then restart dockerd; or offer --gpu 0',
      });
    }
  } catch (error) {
    const needed = options.modules.length === 0 || spec.gpu > 0;
    add({
      name: 'Docker executor',
      ok: !needed,
      detail: `${message(error)}${needed ? '' : ' (not needed: the offers name their modules)'}`,
      fix: needed
        ? 'start dockerd (or set DOCKER_HOST to its socket), or offer WASM modules only with --module CID'
        : undefined,
    });
  } finally {
    docker.close();
  }
  if (spec.gpu === 0) add({ name: 'GPUs', ok: true, detail: 'none offered (--gpu 0)' });

  const disk = await freeDiskMB(options.dataDir).catch(() => 0);
  const diskNeeded = spec.disk * slots;
  add({
    name: 'disk space',
    ok: disk >= diskNeeded,
    detail: `${disk} MB free under ${options.dataDir}; ${slots} slot(s) of ${spec.disk} MB need ${diskNeeded} MB`,
    fix:
      disk >= diskNeeded ? undefined : 'free space there, use another --data-dir, or lower --disk or --slots',
  });

  const limit = slotsFor(machine, spec);
  add({
    name: 'capacity',
    ok: limit.slots >= Math.max(1, slots),
    detail: `${slots} slot(s) asked; the machine fits ${describeSlots(machine, spec, limit)}`,
    fix:
      limit.slots >= Math.max(1, slots)
        ? undefined
        : 'lower --slots, offer a smaller job (--cpu, --ram, --disk, --gpu), or correct the --machine-* figures',
  });
  return checks;
}

/** One line per check: "✓ name: detail", or "✗ name: detail" and an indented "fix: …". */
export function formatChecks(checks: Check[]): string {
  return checks
    .map((check) =>
      check.ok
        ? `✓ ${check.name}: ${check.detail}`
        : `✗ ${check.name}: ${check.detail}\n    fix: ${check.fix}`,
    )
    .join('\n');
}
