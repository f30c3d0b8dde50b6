/** The flag parsers the commands share: what they accept, and the errors that say what to write. */
import { InvalidArgumentError } from 'commander';
import { parseEther } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  parseAddressOption,
  parseCountOption,
  parseLpOption,
  parsePositiveOption,
} from '../../src/cli/options.js';

describe('shared flag parsers', () => {
  it('reads amounts of LP as wei, up to 18 decimals', () => {
    expect(parseLpOption('10')).toBe(parseEther('10'));
    expect(parseLpOption('0.5')).toBe(parseEther('0.5'));
    expect(parseLpOption('0.000000000000000001')).toBe(1n);
    for (const bad of ['', '-1', '1e3', '0.0000000000000000001', 'ten', '1,5'])
      expect(() => parseLpOption(bad)).toThrow(/is not an amount of LP, e\.g\. 10 or 0\.5/);
  });

  it('reads whole numbers, and refuses the rest', () => {
    expect(parseCountOption('0')).toBe(0);
    expect(parseCountOption('2048')).toBe(2048);
    for (const bad of ['', '-1', '1.5', '0x10', '1e3', ' 3', '99999999999999999999'])
      expect(() => parseCountOption(bad)).toThrow(InvalidArgumentError);
    expect(parsePositiveOption('3')).toBe(3);
    expect(() => parsePositiveOption('0')).toThrow(/not a positive whole number/);
  });

  it('reads addresses', () => {
    const address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    expect(parseAddressOption(address).toLowerCase()).toBe(address.toLowerCase());
    expect(() => parseAddressOption('0x1234')).toThrow(/0x \+ 40 hex digits/);
  });
});
