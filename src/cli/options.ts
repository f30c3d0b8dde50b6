import { InvalidArgumentError } from 'commander';
import type { Address } from 'viem';
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
