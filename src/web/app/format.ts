/** How the pages write amounts and times. */

const WEI_PER_LP = 10n ** 18n;

/** Wei (a decimal string or bigint) as LP with up to `digits` decimals: "1.25 LP". */
export function formatLP(wei: string | bigint | null | undefined, digits = 4): string {
  if (wei === null || wei === undefined) return '—';
  const value = BigInt(wei);
  const whole = value / WEI_PER_LP;
  const fraction = (value % WEI_PER_LP).toString().padStart(18, '0').slice(0, digits).replace(/0+$/, '');
  return `${whole.toLocaleString('en')}${fraction ? `.${fraction}` : ''} LP`;
}

/** Wei of gas token as ETH, 4 decimals. */
export const formatEth = (wei: string) => formatLP(wei).replace(' LP', ' ETH');

export function formatTime(ms: number | null): string {
  if (ms === null) return 'never';
  return new Date(ms).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

export function shortHex(hex: string | null): string {
  return hex ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : '—';
}

export const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
