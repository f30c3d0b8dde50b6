import fc from 'fast-check';
import { type Address, parseEther } from 'viem';
import { describe, expect, it } from 'vitest';
import { jobCost, resultsCollateral } from '../../src/protocol/pricing.js';
import {
  accept,
  agree,
  balanceOf,
  challenge,
  type DealTerms,
  deposit,
  emptyLedger,
  type Ledger,
  mediatorShares,
  SettlementError,
  stake,
  stakeOf,
  submitResult,
  timeoutMediate,
  timeoutSubmit,
  totalHeld,
  unstake,
  verdictAccepted,
  verdictRejected,
  withdraw,
} from '../../src/protocol/settlement.js';

const JC = '0x00000000000000000000000000000000000000aa' as Address;
const RP = '0x00000000000000000000000000000000000000bb' as Address;
const M1 = '0x00000000000000000000000000000000000000c1' as Address;
const M2 = '0x00000000000000000000000000000000000000c2' as Address;
const M3 = '0x00000000000000000000000000000000000000c3' as Address;

const deal: DealTerms = {
  jobCreator: JC,
  resourceProvider: RP,
  fixedPrice: parseEther('1'),
  pricePerInstruction: 1_000_000n,
  paymentCollateral: parseEther('10'),
  timeoutCollateral: parseEther('2'),
  resultsCollateralMultipleBps: 20_000,
  mediationFee: parseEther('1'),
};
const P = deal.paymentCollateral;
const Ts = deal.timeoutCollateral;
const F = deal.mediationFee;
const funded = (): Ledger => {
  let ledger = emptyLedger();
  for (const a of [JC, RP, M1, M2, M3]) ledger = deposit(ledger, a, parseEther('100')).ledger;
  for (const m of [M1, M2, M3]) ledger = stake(ledger, m, parseEther('5')).ledger;
  return ledger;
};
const changes = (step: { changes: ReadonlyMap<string, { free: bigint; locked: bigint }> }) =>
  Object.fromEntries(step.changes);
const k = (a: Address) => a.toLowerCase();

/** agree + submitResult; returns the ledger, the cost and R. */
function submitted(count = 1_000_000n) {
  const agreed = agree(funded(), deal);
  const result = submitResult(agreed.ledger, deal, count);
  return { ledger: result.ledger, cost: result.cost, R: result.resultsCollateral };
}

describe('settlement model: one function per row of the protocol table', () => {
  it('agree locks P from the job creator and Ts from the provider', () => {
    const step = agree(funded(), deal);
    expect(changes(step)).toEqual({ [k(JC)]: { free: -P, locked: P }, [k(RP)]: { free: -Ts, locked: Ts } });
  });

  it('submitResult unlocks Ts and locks R = max(F, multiple × cost)', () => {
    const agreed = agree(funded(), deal);
    const step = submitResult(agreed.ledger, deal, 1_000_000n);
    expect(step.cost).toBe(jobCost(deal, 1_000_000n));
    expect(step.resultsCollateral).toBe(resultsCollateral(deal, step.cost));
    const R = step.resultsCollateral;
    expect(changes(step)).toEqual({ [k(RP)]: { free: Ts - R, locked: R - Ts } });
  });

  it('timeoutSubmit unlocks P and moves Ts to the job creator', () => {
    const step = timeoutSubmit(agree(funded(), deal).ledger, deal);
    expect(changes(step)).toEqual({
      [k(JC)]: { free: P + Ts, locked: -P },
      [k(RP)]: { free: 0n, locked: -Ts },
    });
  });

  it('accept (and timeoutJudge): cost JC → RP, P − cost and R unlocked', () => {
    const { ledger, cost, R } = submitted();
    expect(changes(accept(ledger, deal, cost))).toEqual({
      [k(JC)]: { free: P - cost, locked: -P },
      [k(RP)]: { free: R + cost, locked: -R },
    });
  });

  it('challenge locks F from the job creator', () => {
    const { ledger } = submitted();
    expect(changes(challenge(ledger, deal))).toEqual({ [k(JC)]: { free: -F, locked: F } });
  });

  it('verdict "result correct": cost to RP, F to the mediator', () => {
    const { ledger, cost, R } = submitted();
    const step = verdictAccepted(challenge(ledger, deal).ledger, deal, cost, [M1]);
    expect(changes(step)).toEqual({
      [k(JC)]: { free: P - cost, locked: -(P + F) },
      [k(RP)]: { free: R + cost, locked: -R },
      [k(M1)]: { free: F, locked: 0n },
    });
  });

  it('verdict "result wrong": P + R to the job creator, F from R to the mediator, nothing to RP', () => {
    const { ledger, cost, R } = submitted();
    const step = verdictRejected(challenge(ledger, deal).ledger, deal, cost, [M1]);
    expect(changes(step)).toEqual({
      [k(JC)]: { free: P + R, locked: -(P + F) },
      [k(RP)]: { free: 0n, locked: -R },
      [k(M1)]: { free: F, locked: 0n },
    });
  });

  it('k-of-n: F split among the deciding mediators, the remainder to the first', () => {
    expect(mediatorShares(10n, [M1, M2, M3])).toEqual([
      [M1, 4n],
      [M2, 3n],
      [M3, 3n],
    ]);
    const { ledger, cost } = submitted();
    const odd = { ...deal, mediationFee: F + 1n };
    const step = verdictAccepted(challenge(ledger, odd).ledger, odd, cost, [M2, M3]);
    expect(step.changes.get(k(M2))).toEqual({ free: F / 2n + 1n, locked: 0n });
    expect(step.changes.get(k(M3))).toEqual({ free: F / 2n, locked: 0n });
  });

  it('timeoutMediate: everything back, nobody paid, silent mediators slashed min(stake, F) to JC and RP', () => {
    const { ledger, cost, R } = submitted();
    const challenged = challenge(ledger, deal).ledger;
    expect(changes(timeoutMediate(challenged, deal, cost))).toEqual({
      [k(JC)]: { free: P + F, locked: -(P + F) },
      [k(RP)]: { free: R, locked: -R },
    });
    // M1 has only F / 2 staked: it loses what it has. Each slash is split JC / RP, the odd unit to the JC.
    const poor = unstake(challenged, M1, parseEther('4.5')).ledger;
    const step = timeoutMediate(poor, deal, cost, [M1, M2]);
    expect(step.slashed).toEqual([
      [M1, F / 2n],
      [M2, F],
    ]);
    expect(changes(step)).toEqual({
      [k(JC)]: { free: P + F + (F * 3n) / 4n, locked: -(P + F) },
      [k(RP)]: { free: R + (F * 3n) / 4n, locked: -R },
      [k(M1)]: { free: 0n, locked: -F / 2n },
      [k(M2)]: { free: 0n, locked: -F },
    });
    expect(stakeOf(step.ledger, M1)).toBe(0n);
    const odd = { ...deal, mediationFee: 3n };
    const oddStep = timeoutMediate(challenge(ledger, odd).ledger, odd, cost, [M3]);
    expect(oddStep.changes.get(k(JC))).toEqual({ free: P + 3n + 2n, locked: -(P + 3n) });
    expect(oddStep.changes.get(k(RP))).toEqual({ free: R + 1n, locked: -R });
  });

  it('refuses what the contract refuses', () => {
    const ledger = funded();
    expect(() => agree(ledger, { ...deal, paymentCollateral: parseEther('101') })).toThrow(SettlementError);
    expect(() => withdraw(ledger, JC, parseEther('101'))).toThrow(/InsufficientFree/);
    expect(() => deposit(ledger, JC, 0n)).toThrow(/ZeroAmount/);
    expect(() => unstake(ledger, M1, parseEther('6'))).toThrow(/InsufficientStake/);
  });

  it('composes the money when the job creator is also the provider', () => {
    const self = { ...deal, resourceProvider: JC };
    const agreed = agree(funded(), self);
    expect(changes(agreed)).toEqual({ [k(JC)]: { free: -(P + Ts), locked: P + Ts } });
  });

  it('conserves money and keeps every balance non-negative over random deals', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.bigInt({ min: 0n, max: 10n ** 19n }),
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        fc.constantFrom('accept', 'timeoutSubmit', 'correct', 'wrong', 'timeoutMediate'),
        (fixedPrice, pricePerInstruction, extra, bps, fee, count, ending) => {
          const terms: DealTerms = {
            ...deal,
            fixedPrice,
            pricePerInstruction,
            paymentCollateral: fixedPrice + extra,
            resultsCollateralMultipleBps: bps,
            mediationFee: fee,
          };
          let ledger = emptyLedger();
          for (const a of [JC, RP, M1]) ledger = deposit(ledger, a, 10n ** 30n).ledger;
          ledger = stake(ledger, M1, 10n ** 18n).ledger;
          const total = totalHeld(ledger);
          ledger = agree(ledger, terms).ledger;
          if (ending === 'timeoutSubmit') ledger = timeoutSubmit(ledger, terms).ledger;
          else {
            const s = submitResult(ledger, terms, count);
            ledger = s.ledger;
            if (ending === 'accept') ledger = accept(ledger, terms, s.cost).ledger;
            else {
              ledger = challenge(ledger, terms).ledger;
              if (ending === 'correct') ledger = verdictAccepted(ledger, terms, s.cost, [M1]).ledger;
              else if (ending === 'wrong') ledger = verdictRejected(ledger, terms, s.cost, [M1]).ledger;
              else ledger = timeoutMediate(ledger, terms, s.cost, [M1]).ledger;
            }
          }
          expect(totalHeld(ledger)).toBe(total);
          for (const a of [JC, RP, M1]) {
            const b = balanceOf(ledger, a);
            expect(b.free >= 0n && b.locked >= 0n).toBe(true);
          }
          // Every deal is settled: only the mediator's stake remains locked.
          expect(balanceOf(ledger, JC).locked + balanceOf(ledger, RP).locked).toBe(0n);
          expect(balanceOf(ledger, M1).locked).toBe(stakeOf(ledger, M1));
        },
      ),
      { numRuns: 300 },
    );
  });
});
