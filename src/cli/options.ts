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

/** Resolves on Ctrl-C or SIGTERM: how a foreground service waits for its end. */
export function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
