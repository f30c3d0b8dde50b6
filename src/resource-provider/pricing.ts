/**
 * How a provider's price and collateral combine, for one job:
 *   cost = min(P, fixed price + price per instruction × instructions)   (P: the job creator's most)
 *   results collateral R = max(mediation fee, multiple × cost), locked when the result is submitted
 *   timeout collateral Ts, locked from agreement until the result is submitted
 * A module can have a price of its own (`modulePricing`): its offers name that module alone.
 */
import { resultsCollateral } from '../protocol/pricing.js';

export type ResourceProviderPricing = {
  fixedPrice: bigint;
  pricePerInstruction: bigint;
  timeoutCollateral: bigint;
  resultsCollateralMultipleBps: number;
};

export { instructionBudget } from '../protocol/pricing.js';

/**
 * The free escrow balance the provider's slots need: Ts for every slot that may be agreed next, and for
 * every deal at work the results collateral it will lock on submission beyond the Ts it gets back. R is
 * estimated for a job that costs the fixed price, with the given mediation fee as its floor.
 */
export function collateralNeeded(
  pricing: ResourceProviderPricing,
  mediationFee: bigint,
  slots: { free: number; busy: number },
): bigint {
  const r = resultsCollateral(
    { resultsCollateralMultipleBps: pricing.resultsCollateralMultipleBps, mediationFee },
    pricing.fixedPrice,
  );
  const extra = r > pricing.timeoutCollateral ? r - pricing.timeoutCollateral : 0n;
  return BigInt(slots.free) * (pricing.timeoutCollateral + extra) + BigInt(slots.busy) * extra;
}
