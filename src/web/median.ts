/** The median of amounts in wei (the upper one of an even count), or undefined for none. */
export function median(values: bigint[]): bigint | undefined {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[Math.floor(sorted.length / 2)];
}
