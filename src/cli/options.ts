import { InvalidArgumentError } from 'commander';
import { type Address, parseEther } from 'viem';
import { addressSchema } from '../protocol/wire.js';

/** An address flag. */
export function parseAddressOption(value: string): Address {
  const parsed = addressSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`"${value}" is not an address (0x + 40 hex digits)`);
  return parsed.data;
}

/** A repeatable address flag. */
export function collectAddress(value: string, list: Address[] = []): Address[] {
  return [...list, parseAddressOption(value)];
}

/** An amount of LP, in whole or decimal tokens (up to 18 decimals), as wei. */
export function parseLpOption(value: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(value))
    throw new InvalidArgumentError(`"${value}" is not an amount of LP, e.g. 10 or 0.5`);
  return parseEther(value);
}

/** A whole number flag (sizes, counts, ports): 0 or more. */
export function parseCountOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`"${value}" is not a whole number`);
  return n;
}

/** A whole number flag that must be at least 1 (concurrency, intervals). */
export function parsePositiveOption(value: string): number {
  const n = parseCountOption(value);
  if (n < 1) throw new InvalidArgumentError(`"${value}" is not a positive whole number`);
  return n;
}

/**
 * Resolves on Ctrl-C or SIGTERM: how a foreground service waits for its end. It keeps the process alive until
 * then: a service's own timers do not (they are unref'd, so that a library user is never kept waiting), and a
 * provider whose only socket to the solver has just dropped would otherwise exit in the middle of its work.
 */
export function untilStopped(): Promise<void> {
  const keepAlive = setInterval(() => {}, 2 ** 30);
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  }).finally(() => clearInterval(keepAlive));
}
