/**
 * Every environment variable the CLI reads, in one place, so `--help` and the code cannot disagree.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { LilypadError } from '../protocol/errors.js';

export const environment = {
  WEB3_PRIVATE_KEY: 'the account that signs offers and transactions (0x + 64 hex digits)',
  WEB3_RPC_URL: 'JSON-RPC endpoint of the EVM chain (with LILYPAD_DEALS_ADDRESS, or LILYPAD_SOLVER_URL)',
  LILYPAD_NETWORK: 'the network profile to use when --network is not given (see `lilypad deploy`)',
  LILYPAD_DEALS_ADDRESS: "the deal contract on WEB3_RPC_URL's chain (the token is read from it)",
  LILYPAD_SOLVER_ADDRESS:
    "the solver's address: its URL is read from the chain (default: the profile's solver)",
  LILYPAD_SOLVER_URL: "the solver's URL, instead of the one registered on-chain",
  LILYPAD_JOBS_ADDRESS: "the jobs contract `lilypad bridge` serves (default: the profile's or the devnet's)",
  LILYPAD_DATA_DIR: 'where results, network profiles, caches and service state live (default ~/.lilypad)',
  LILYPAD_WEB_SECRET:
    "lilypad web: the secret that encrypts the accounts' wallet keys (default: one made once in the data dir)",
  LILYPAD_MODULE_INDEX:
    'a registry index (URL or file) mapping name:version to a CID or git repo:tag, beyond the built-ins',
  LILYPAD_LOG_LEVEL: 'log level of the services: trace, debug, info, warn, error (default info)',
} as const;

export type EnvironmentVariable = keyof typeof environment;

export const env = (name: EnvironmentVariable): string | undefined => {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
};

export function dataDir(flag?: string): string {
  return flag ?? env('LILYPAD_DATA_DIR') ?? join(homedir(), '.lilypad');
}

export function privateKeyFrom(value: string | undefined, what = 'WEB3_PRIVATE_KEY'): Hex {
  if (!value) {
    throw new LilypadError(`${what} is not set`, {
      hint: 'export WEB3_PRIVATE_KEY=0x… (the account that signs and pays)',
    });
  }
  const key = value.startsWith('0x') ? value : `0x${value}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new LilypadError(`${what} is not a private key`, { hint: 'expected 0x followed by 64 hex digits' });
  }
  return key as Hex;
}

/** The `Environment:` section of a command's help; every variable the CLI reads when no names are given. */
export function environmentHelp(
  names: readonly EnvironmentVariable[] = Object.keys(environment) as EnvironmentVariable[],
): string {
  const width = Math.max(...names.map((n) => n.length));
  return `\nEnvironment:\n${names.map((n) => `  ${n.padEnd(width)}  ${environment[n]}`).join('\n')}\n`;
}
