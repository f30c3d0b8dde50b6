/** The money rules of PROTOCOL.md, as the contract applies them. */
import type { Deal } from './eip712.js';

const BPS = 10_000n;

/** What the job creator pays: the resource provider's price for the work done, capped at P. */
export function jobCost(
  deal: Pick<Deal, 'fixedPrice' | 'pricePerInstruction' | 'paymentCollateral'>,
  instructionCount: bigint,
): bigint {
  const price = deal.fixedPrice + deal.pricePerInstruction * instructionCount;
  return price < deal.paymentCollateral ? price : deal.paymentCollateral;
}

/** Results collateral R: a multiple of the cost, never less than the mediation fee. */
export function resultsCollateral(
  deal: Pick<Deal, 'resultsCollateralMultipleBps' | 'mediationFee'>,
  cost: bigint,
): bigint {
  const multiple = (cost * BigInt(deal.resultsCollateralMultipleBps)) / BPS;
  return multiple > deal.mediationFee ? multiple : deal.mediationFee;
}

/**
 * The most instructions the job creator pays for: (P - fixed price) / price per instruction. Past it
 * the cost is capped at P, so the provider would work for nothing; none when instructions are free.
 * Everyone who runs the job (provider, mediator, a job creator's local check) runs it with this budget.
 */
export function instructionBudget(
  deal: Pick<Deal, 'fixedPrice' | 'pricePerInstruction' | 'paymentCollateral'>,
): bigint | undefined {
  if (deal.pricePerInstruction === 0n) return undefined;
  const paid = deal.paymentCollateral - deal.fixedPrice;
  return paid > 0n ? paid / deal.pricePerInstruction : 0n;
}
