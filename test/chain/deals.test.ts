import { createRequire } from 'node:module';
import {
  type Address,
  encodeFunctionData,
  getAddress,
  type Hex,
  maxUint64,
  parseEther,
  toFunctionSelector,
  zeroAddress,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lilypadDealsAbi, lilypadTokenAbi } from '../../src/chain/artifacts/index.js';
import {
  accept,
  acceptMany,
  agree,
  agreeBatcher,
  agreeMany,
  dealStatus,
  decodeDealLogs,
  deposit,
  escrowBalance,
  submitResult,
  submitResultBatcher,
  submitResults,
  timeoutJudge,
  timeoutJudgeMany,
  timeoutSubmit,
  withdraw,
} from '../../src/chain/deals.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { DealState } from '../../src/protocol/deal-states.js';
import { type Deal, dealId, dealTypedData } from '../../src/protocol/eip712.js';
import { jobCost, resultsCollateral } from '../../src/protocol/pricing.js';
import { FUNDED, startChain, type TestChain } from './setup.js';

let chain: TestChain;
let JC: Address;
let RP: Address;

beforeAll(async () => {
  chain = await startChain();
  JC = chain.address('jobCreator');
  RP = chain.address('resourceProvider');
});

afterAll(async () => {
  await chain?.stop();
});

const CID = '0x01551220aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899' as Hex;

/** agree + submitResult for a fresh deal, with every balance change asserted; returns the deal and its cost. */
async function agreed(overrides: Partial<Deal> = {}) {
  const deal = await chain.makeDeal(overrides);
  const [sigJC, sigRP] = await chain.signBoth(deal);
  const result = await chain.step(() => agree(chain.wallet('solver'), chain.network, deal, sigJC, sigRP), {
    [deal.jobCreator]: { free: -deal.paymentCollateral, locked: deal.paymentCollateral },
    [deal.resourceProvider]: { free: -deal.timeoutCollateral, locked: deal.timeoutCollateral },
  });
  return { deal, id: result.dealId, agreeResult: result };
}

async function submitted(overrides: Partial<Deal> = {}, instructionCount = 1_000_000n) {
  const { deal, id, agreeResult } = await agreed(overrides);
  const cost = jobCost(deal, instructionCount);
  const R = resultsCollateral(deal, cost);
  const Ts = deal.timeoutCollateral;
  const submitResultTx = await chain.step(
    () => submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, instructionCount),
    { [deal.resourceProvider]: { free: Ts - R, locked: R - Ts } },
  );
  return { deal, id, cost, R, agreeResult, submitResultTx };
}

type Changes = Record<Address, { free: bigint; locked: bigint }>;

/** The changes of several steps, added up per account. */
function sumChanges(all: readonly Changes[]): Changes {
  const total: Changes = {};
  for (const changes of all) {
    for (const [a, d] of Object.entries(changes) as [Address, { free: bigint; locked: bigint }][]) {
      total[a] = { free: (total[a]?.free ?? 0n) + d.free, locked: (total[a]?.locked ?? 0n) + d.locked };
    }
  }
  return total;
}

const agreedChanges = (deal: Deal): Changes =>
  sumChanges([
    { [deal.jobCreator]: { free: -deal.paymentCollateral, locked: deal.paymentCollateral } },
    { [deal.resourceProvider]: { free: -deal.timeoutCollateral, locked: deal.timeoutCollateral } },
  ]);

/** The money of accept and timeoutJudge. */
const acceptedChanges = (deal: Deal, cost: bigint, R: bigint) => ({
  [deal.jobCreator]: { free: deal.paymentCollateral - cost, locked: -deal.paymentCollateral },
  [deal.resourceProvider]: { free: R + cost, locked: -R },
});

describe('deal id', () => {
  it("equals viem's EIP-712 hash of the deal", async () => {
    const deals = [
      await chain.makeDeal(),
      await chain.makeDeal({ mediators: [] }),
      await chain.makeDeal({
        mediators: [chain.address('mediator'), chain.address('user5'), chain.address('user6')],
      }),
      await chain.makeDeal({
        solver: zeroAddress,
        fixedPrice: 2n ** 256n - 1n,
        resultsCollateralMultipleBps: 2 ** 32 - 1,
        submitTimeout: maxUint64,
        judgeTimeout: 0n,
        expiry: maxUint64,
      }),
    ];
    for (const deal of deals) {
      const onChain = await chain.publicClient.readContract({
        address: chain.network.deals,
        abi: lilypadDealsAbi,
        functionName: 'dealId',
        args: [deal],
      });
      expect(onChain).toBe(dealId(chain.network, deal));
    }
  });
});

describe('escrow', () => {
  it('funded every dev account through depositWithPermit', async () => {
    const balances = await chain.expectInvariant();
    expect(balances.get(chain.address('user9'))).toEqual({ free: FUNDED, locked: 0n });
    expect(balances.get(chain.address('deployer'))).toEqual({ free: 0n, locked: 0n });
  });

  it('deposits with a permit in one transaction', async () => {
    const account = chain.address('user7');
    const tokenBalance = () =>
      chain.publicClient.readContract({
        address: chain.network.token,
        abi: lilypadTokenAbi,
        functionName: 'balanceOf',
        args: [account],
      });
    // Give user7 wallet tokens to deposit.
    await chain.step(() => withdraw(chain.wallet('user7'), chain.network, parseEther('5')), {
      [account]: { free: -parseEther('5') },
    });
    const walletBefore = await tokenBalance();
    const { receipt } = await chain.step(
      () => deposit(chain.wallet('user7'), chain.network, parseEther('3')),
      {
        [account]: { free: parseEther('3') },
      },
    );
    expect(await tokenBalance()).toBe(walletBefore - parseEther('3'));
    const tx = await chain.publicClient.getTransaction({ hash: receipt.transactionHash });
    expect(tx.input.slice(0, 10)).toBe(
      toFunctionSelector('depositWithPermit(uint256,uint256,uint8,bytes32,bytes32)'),
    );
    // Second deposit: the permit nonce has moved on, and it still works.
    await chain.step(() => deposit(chain.wallet('user7'), chain.network, parseEther('2')), {
      [account]: { free: parseEther('2') },
    });
    expect(await tokenBalance()).toBe(walletBefore - parseEther('5'));
  });

  it('withdraws free balance only', async () => {
    const account = chain.address('user8');
    await chain.step(() => withdraw(chain.wallet('user8'), chain.network, parseEther('1')), {
      [account]: { free: -parseEther('1') },
    });
    const { free } = await escrowBalance(chain.publicClient, chain.network, account);
    await expect(withdraw(chain.wallet('user8'), chain.network, free + 1n)).rejects.toMatchObject({
      errorName: 'InsufficientFree',
      errorArgs: [account, free + 1n, free],
    });
    await expect(withdraw(chain.wallet('user8'), chain.network, 0n)).rejects.toMatchObject({
      errorName: 'ZeroAmount',
    });
    await chain.expectInvariant();
  });

  it('does not withdraw locked collateral', async () => {
    const { deal } = await agreed();
    const { free, locked } = await escrowBalance(chain.publicClient, chain.network, JC);
    expect(locked).toBeGreaterThanOrEqual(deal.paymentCollateral);
    await expect(withdraw(chain.wallet('jobCreator'), chain.network, free + 1n)).rejects.toMatchObject({
      errorName: 'InsufficientFree',
    });
    await chain.expectInvariant();
  });
});

describe('happy path', () => {
  it('agree, submitResult, accept: money, states, events and gas', async () => {
    const instructionCount = 123_456_789n;
    const { deal, id, cost, R, agreeResult, submitResultTx } = await submitted({}, instructionCount);
    expect(cost).toBe(deal.fixedPrice + deal.pricePerInstruction * instructionCount);
    const afterSubmit = await dealStatus(chain.publicClient, chain.network, id);
    const acceptTx = await chain.step(
      () => accept(chain.wallet('jobCreator'), chain.network, deal),
      acceptedChanges(deal, cost, R),
    );

    const status = await dealStatus(chain.publicClient, chain.network, id);
    const agreeBlock = await chain.publicClient.getBlock({ blockNumber: agreeResult.receipt.blockNumber });
    const submitBlock = await chain.publicClient.getBlock({
      blockNumber: submitResultTx.receipt.blockNumber,
    });
    expect(afterSubmit.state).toBe(DealState.ResultsSubmitted);
    expect(status).toEqual({
      state: DealState.Accepted,
      agreedAt: Number(agreeBlock.timestamp),
      resultsAt: Number(submitBlock.timestamp),
      cost,
    });

    const events = decodeDealLogs([
      ...agreeResult.receipt.logs,
      ...submitResultTx.receipt.logs,
      ...acceptTx.receipt.logs,
    ]);
    expect(events.map((e) => e.eventName)).toEqual([
      'DealStateChanged',
      'ResultsSubmitted',
      'DealStateChanged',
    ]);
    const [agreedEvent, resultsEvent, acceptedEvent] = events;
    expect(agreedEvent).toMatchObject({ dealId: id, state: DealState.Agreed });
    expect(resultsEvent).toMatchObject({
      eventName: 'ResultsSubmitted',
      dealId: id,
      resultCID: CID,
      instructionCount,
      cost,
    });
    expect(acceptedEvent).toMatchObject({ dealId: id, state: DealState.Accepted });

    const gas = {
      agree: agreeResult.gasUsed,
      submitResult: submitResultTx.gasUsed,
      accept: acceptTx.gasUsed,
    };
    const total = gas.agree + gas.submitResult + gas.accept;
    console.log(
      `gas: agree ${gas.agree}, submitResult ${gas.submitResult}, accept ${gas.accept}, total ${total}`,
    );
    expect(total).toBeLessThan(300_000n);
  });

  it('caps the cost at the payment collateral', async () => {
    const { deal, cost, R } = await submitted({ pricePerInstruction: parseEther('1') }, 2n ** 255n);
    expect(cost).toBe(deal.paymentCollateral);
    await chain.step(
      () => accept(chain.wallet('jobCreator'), chain.network, deal),
      acceptedChanges(deal, cost, R),
    );
  });

  it('never locks less results collateral than the mediation fee', async () => {
    const { deal, cost, R } = await submitted({
      resultsCollateralMultipleBps: 1,
      mediationFee: parseEther('3'),
    });
    expect(R).toBe(parseEther('3'));
    await chain.step(
      () => accept(chain.wallet('jobCreator'), chain.network, deal),
      acceptedChanges(deal, cost, R),
    );
  });

  it('composes the money when the job creator is also the provider', async () => {
    const self = chain.address('user5');
    const deal = await chain.makeDeal({ jobCreator: self, resourceProvider: self });
    const [sigJC, sigRP] = await chain.signBoth(deal);
    const P = deal.paymentCollateral;
    const Ts = deal.timeoutCollateral;
    await chain.step(() => agree(chain.wallet('user5'), chain.network, deal, sigJC, sigRP), {
      [self]: { free: -(P + Ts), locked: P + Ts },
    });
    const cost = jobCost(deal, 10n);
    const R = resultsCollateral(deal, cost);
    await chain.step(() => submitResult(chain.wallet('user5'), chain.network, deal, CID, 10n), {
      [self]: { free: Ts - R, locked: R - Ts },
    });
    await chain.step(() => accept(chain.wallet('user5'), chain.network, deal), {
      [self]: { free: P + R, locked: -(P + R) },
    });
  });

  it('acceptMany settles a batch', async () => {
    const batch = [await submitted(), await submitted({ fixedPrice: parseEther('2') }), await submitted()];
    const changes: Record<Address, { free: bigint; locked: bigint }> = {};
    for (const { deal, cost, R } of batch) {
      for (const [a, d] of Object.entries(acceptedChanges(deal, cost, R)) as [
        Address,
        { free: bigint; locked: bigint },
      ][]) {
        changes[a] = {
          free: (changes[a]?.free ?? 0n) + d.free,
          locked: (changes[a]?.locked ?? 0n) + d.locked,
        };
      }
    }
    const { gasUsed } = await chain.step(
      () =>
        acceptMany(
          chain.wallet('jobCreator'),
          chain.network,
          batch.map((b) => b.deal),
        ),
      changes,
    );
    console.log(`gas: acceptMany of 3 deals ${gasUsed}`);
    for (const { id } of batch) {
      expect((await dealStatus(chain.publicClient, chain.network, id)).state).toBe(DealState.Accepted);
    }
  });
});

describe('batches: agreeMany and submitResults', () => {
  const signed = async (deal: Deal) => {
    const [sigJC, sigRP] = await chain.signBoth(deal);
    return { deal, sigJC, sigRP };
  };

  it('agreeMany agrees every deal with its exact money and event; submitResults posts every result', async () => {
    const deals = [
      await chain.makeDeal(),
      await chain.makeDeal({ jobCreator: chain.address('user9'), paymentCollateral: parseEther('3') }),
      await chain.makeDeal({ timeoutCollateral: parseEther('1') }),
    ];
    const batch = await Promise.all(deals.map(signed));
    const tx = await chain.step(
      () => agreeMany(chain.wallet('solver'), chain.network, batch),
      sumChanges(deals.map(agreedChanges)),
    );
    expect(tx.dealIds).toEqual(deals.map((d) => dealId(chain.network, d)));
    const events = decodeDealLogs(tx.receipt.logs);
    expect(events.map((e) => [e.eventName, e.dealId])).toEqual(
      tx.dealIds.map((id) => ['DealStateChanged', id]),
    );
    const agreedAt = (await chain.publicClient.getBlock({ blockNumber: tx.receipt.blockNumber })).timestamp;
    for (const id of tx.dealIds) {
      expect(await dealStatus(chain.publicClient, chain.network, id)).toMatchObject({
        state: DealState.Agreed,
        agreedAt: Number(agreedAt),
      });
    }

    const counts = [1_000_000n, 0n, 10n ** 30n];
    const results = deals.map((deal, i) => ({ deal, resultCID: CID, instructionCount: counts[i] as bigint }));
    // Wrong caller: only the deals' provider.
    await expect(submitResults(chain.wallet('solver'), chain.network, results)).rejects.toMatchObject({
      errorName: 'NotParty',
    });
    const costs = deals.map((deal, i) => jobCost(deal, counts[i] as bigint));
    const submitted = await chain.step(
      () => submitResults(chain.wallet('resourceProvider'), chain.network, results),
      sumChanges(
        deals.map((deal, i) => {
          const R = resultsCollateral(deal, costs[i] as bigint);
          return { [RP]: { free: deal.timeoutCollateral - R, locked: R - deal.timeoutCollateral } };
        }),
      ),
    );
    expect(submitted.costs).toEqual(costs);
    const posted = decodeDealLogs(submitted.receipt.logs);
    expect(
      posted.map((e) => (e.eventName === 'ResultsSubmitted' ? [e.dealId, e.cost] : e.eventName)),
    ).toEqual(tx.dealIds.map((id, i) => [id, costs[i]]));
    // Wrong state: submitted already.
    await expect(
      submitResults(chain.wallet('resourceProvider'), chain.network, results.slice(0, 1)),
    ).rejects.toMatchObject({ errorName: 'WrongState' });
    await chain.step(
      () => acceptMany(chain.wallet('jobCreator'), chain.network, [deals[0] as Deal, deals[2] as Deal]),
      sumChanges(
        [0, 2].map((i) => {
          const deal = deals[i] as Deal;
          return acceptedChanges(deal, costs[i] as bigint, resultsCollateral(deal, costs[i] as bigint));
        }),
      ),
    );
  });

  it('refuses a whole batch when one deal is refused: replayed, expired, badly signed, or too late', async () => {
    const good = await signed(await chain.makeDeal());
    const replayed = (await agreed()).deal;
    const expired = await signed(await chain.makeDeal({ expiry: (await chain.now()) - 1n }));
    const forged = { ...(await signed(await chain.makeDeal())), sigRP: good.sigRP };
    for (const [bad, errorName] of [
      [await signed(replayed), 'WrongState'],
      [expired, 'TooLate'],
      [forged, 'InvalidSignature'],
    ] as const) {
      await chain.step(async () => {
        await expect(agreeMany(chain.wallet('solver'), chain.network, [good, bad])).rejects.toMatchObject({
          errorName,
        });
      }); // nothing moved, not even for the good deal
    }
    expect(
      (await dealStatus(chain.publicClient, chain.network, dealId(chain.network, good.deal))).state,
    ).toBe(DealState.None);

    // submitResults: one deal past its submit deadline refuses the batch.
    const early = (await agreed({ submitTimeout: 100_000n })).deal;
    const late = (await agreed({ submitTimeout: 10n })).deal;
    await chain.advance(11n);
    const both = [early, late].map((deal) => ({ deal, resultCID: CID, instructionCount: 1n }));
    await chain.step(async () => {
      await expect(
        submitResults(chain.wallet('resourceProvider'), chain.network, both),
      ).rejects.toMatchObject({ errorName: 'TooLate' });
    });
    await submitResults(chain.wallet('resourceProvider'), chain.network, both.slice(0, 1));
    await timeoutSubmit(chain.wallet('user6'), chain.network, late);
  });

  it('agreeBatcher sends concurrent agrees as one agreeMany, and a refused deal fails alone', async () => {
    const batcher = agreeBatcher(chain.wallet('solver'), chain.network);
    const deals = [await chain.makeDeal(), await chain.makeDeal(), await chain.makeDeal()];
    const batch = await Promise.all(deals.map(signed));
    const results = await chain.step(
      () => Promise.all(batch.map((s) => batcher.call(s))),
      sumChanges(deals.map(agreedChanges)),
    );
    expect(new Set(results.map((r) => r.hash)).size).toBe(1);
    expect(results.map((r) => r.dealId)).toEqual(deals.map((d) => dealId(chain.network, d)));

    const fresh = await signed(await chain.makeDeal());
    const outcomes = await Promise.allSettled([batcher.call(fresh), batcher.call(batch[0] as typeof fresh)]);
    expect(outcomes[0]).toMatchObject({
      status: 'fulfilled',
      value: { dealId: dealId(chain.network, fresh.deal) },
    });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { errorName: 'WrongState' } });
    expect(
      (await dealStatus(chain.publicClient, chain.network, dealId(chain.network, fresh.deal))).state,
    ).toBe(DealState.Agreed);
  });
});

describe('submitResultBatcher', () => {
  it("sends concurrent results as one submitResults, each with its deal's cost; a refused one fails alone", async () => {
    const batcher = submitResultBatcher(chain.wallet('resourceProvider'), chain.network);
    const deals = [(await agreed()).deal, (await agreed({ fixedPrice: parseEther('3') })).deal];
    const results = await Promise.all(
      deals.map((deal) => batcher.call({ deal, resultCID: CID, instructionCount: 5n })),
    );
    expect(results[0]?.hash).toBe(results[1]?.hash);
    expect(results.map((r) => r.cost)).toEqual(deals.map((deal) => jobCost(deal, 5n)));
    const fresh = (await agreed()).deal;
    const outcomes = await Promise.allSettled([
      batcher.call({ deal: fresh, resultCID: CID, instructionCount: 5n }),
      batcher.call({ deal: deals[0] as Deal, resultCID: CID, instructionCount: 5n }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    expect(outcomes[1]).toMatchObject({ reason: { errorName: 'WrongState' } });
    for (const deal of [...deals, fresh]) {
      expect((await dealStatus(chain.publicClient, chain.network, dealId(chain.network, deal))).state).toBe(
        DealState.ResultsSubmitted,
      );
    }
  });
});

describe('timeouts', () => {
  it('timeoutSubmit: too early, then P back to the job creator and Ts to the job creator', async () => {
    const { deal, id } = await agreed();
    await expect(timeoutSubmit(chain.wallet('solver'), chain.network, deal)).rejects.toMatchObject({
      errorName: 'TooEarly',
    });
    await chain.advance(deal.submitTimeout + 1n);
    // The provider is too late now.
    await expect(
      submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 1n),
    ).rejects.toMatchObject({ errorName: 'TooLate' });
    const Ts = deal.timeoutCollateral;
    const P = deal.paymentCollateral;
    await chain.step(() => timeoutSubmit(chain.wallet('user6'), chain.network, deal), {
      [JC]: { free: P + Ts, locked: -P },
      [RP]: { locked: -Ts },
    });
    expect((await dealStatus(chain.publicClient, chain.network, id)).state).toBe(DealState.TimedOutSubmit);
    await expect(timeoutSubmit(chain.wallet('solver'), chain.network, deal)).rejects.toMatchObject({
      errorName: 'WrongState',
      errorArgs: [id, DealState.TimedOutSubmit],
    });
  });

  it('submitResult is allowed up to the deadline', async () => {
    const { deal } = await agreed({ submitTimeout: 30n });
    await chain.advance(20n);
    const cost = jobCost(deal, 5n);
    const R = resultsCollateral(deal, cost);
    await chain.step(() => submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 5n), {
      [RP]: { free: deal.timeoutCollateral - R, locked: R - deal.timeoutCollateral },
    });
  });

  it('timeoutJudge: too early, then silence is acceptance (callable by anyone)', async () => {
    const { deal, id, cost, R } = await submitted();
    await expect(timeoutJudge(chain.wallet('resourceProvider'), chain.network, deal)).rejects.toMatchObject({
      errorName: 'TooEarly',
    });
    await chain.advance(deal.judgeTimeout + 1n);
    await chain.step(
      () => timeoutJudge(chain.wallet('solver'), chain.network, deal),
      acceptedChanges(deal, cost, R),
    );
    expect((await dealStatus(chain.publicClient, chain.network, id)).state).toBe(DealState.Accepted);
  });

  it('timeoutJudgeMany settles a batch and refuses it whole if one deal is not due', async () => {
    const batch = [await submitted(), await submitted()];
    await chain.advance(batch[0]?.deal.judgeTimeout ?? 0n);
    await chain.advance(1n);
    const early = await submitted();
    await expect(
      timeoutJudgeMany(
        chain.wallet('resourceProvider'),
        chain.network,
        [...batch, early].map((b) => b.deal),
      ),
    ).rejects.toMatchObject({ errorName: 'TooEarly', errorArgs: [early.id, expect.any(BigInt)] });
    const changes: Record<Address, { free: bigint; locked: bigint }> = {};
    for (const { deal, cost, R } of batch) {
      for (const [a, d] of Object.entries(acceptedChanges(deal, cost, R)) as [
        Address,
        { free: bigint; locked: bigint },
      ][]) {
        changes[a] = {
          free: (changes[a]?.free ?? 0n) + d.free,
          locked: (changes[a]?.locked ?? 0n) + d.locked,
        };
      }
    }
    await chain.step(
      () =>
        timeoutJudgeMany(
          chain.wallet('resourceProvider'),
          chain.network,
          batch.map((b) => b.deal),
        ),
      changes,
    );
  });
});

describe('refusals', () => {
  it('wrong caller: NotParty', async () => {
    const { deal, id } = await agreed();
    await expect(
      submitResult(chain.wallet('jobCreator'), chain.network, deal, CID, 1n),
    ).rejects.toMatchObject({
      errorName: 'NotParty',
      errorArgs: [id, JC],
    });
    await chain.step(() => submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 1n), {
      [RP]: {
        free: deal.timeoutCollateral - resultsCollateral(deal, jobCost(deal, 1n)),
        locked: resultsCollateral(deal, jobCost(deal, 1n)) - deal.timeoutCollateral,
      },
    });
    for (const role of ['resourceProvider', 'solver'] as const) {
      await expect(accept(chain.wallet(role), chain.network, deal)).rejects.toMatchObject({
        errorName: 'NotParty',
      });
    }
    await chain.expectInvariant();
  });

  it('wrong state: WrongState', async () => {
    const unknown = await chain.makeDeal();
    const unknownId = dealId(chain.network, unknown);
    await expect(accept(chain.wallet('jobCreator'), chain.network, unknown)).rejects.toMatchObject({
      errorName: 'WrongState',
      errorArgs: [unknownId, DealState.None],
    });
    await expect(
      submitResult(chain.wallet('resourceProvider'), chain.network, unknown, CID, 1n),
    ).rejects.toMatchObject({ errorName: 'WrongState' });
    await expect(timeoutJudge(chain.wallet('solver'), chain.network, unknown)).rejects.toMatchObject({
      errorName: 'WrongState',
    });

    const { deal, id } = await agreed();
    await expect(accept(chain.wallet('jobCreator'), chain.network, deal)).rejects.toMatchObject({
      errorName: 'WrongState',
      errorArgs: [id, DealState.Agreed],
    });
    await chain.step(() => submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 1n), {
      [RP]: {
        free: deal.timeoutCollateral - resultsCollateral(deal, jobCost(deal, 1n)),
        locked: resultsCollateral(deal, jobCost(deal, 1n)) - deal.timeoutCollateral,
      },
    });
    await expect(
      submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 1n),
    ).rejects.toMatchObject({ errorName: 'WrongState', errorArgs: [id, DealState.ResultsSubmitted] });
    await chain.advance(deal.submitTimeout + 1n);
    await expect(timeoutSubmit(chain.wallet('solver'), chain.network, deal)).rejects.toMatchObject({
      errorName: 'WrongState',
    });
    // Settled once: a second accept is refused.
    const cost = jobCost(deal, 1n);
    await chain.step(
      () => accept(chain.wallet('jobCreator'), chain.network, deal),
      acceptedChanges(deal, cost, resultsCollateral(deal, cost)),
    );
    await expect(accept(chain.wallet('jobCreator'), chain.network, deal)).rejects.toMatchObject({
      errorName: 'WrongState',
      errorArgs: [id, DealState.Accepted],
    });
    await chain.expectInvariant();
  });

  it('replayed agree: WrongState', async () => {
    const { deal, id } = await agreed();
    const [sigJC, sigRP] = await chain.signBoth(deal);
    await expect(agree(chain.wallet('solver'), chain.network, deal, sigJC, sigRP)).rejects.toMatchObject({
      errorName: 'WrongState',
      errorArgs: [id, DealState.Agreed],
    });
    await chain.expectInvariant();
  });

  it('expired deal: TooLate', async () => {
    const deal = await chain.makeDeal({ expiry: (await chain.now()) - 1n });
    const [sigJC, sigRP] = await chain.signBoth(deal);
    await expect(agree(chain.wallet('solver'), chain.network, deal, sigJC, sigRP)).rejects.toMatchObject({
      errorName: 'TooLate',
    });
    await chain.expectInvariant();
  });

  it('bad signatures: InvalidSignature names the signer', async () => {
    const deal = await chain.makeDeal();
    const other = await chain.makeDeal();
    const [sigJC, sigRP] = await chain.signBoth(deal);
    const [otherJC] = await chain.signBoth(other);
    const byStranger = await chain.sign(deal, devAccount('user9').privateKey);
    const cases: [Hex, Hex, Address][] = [
      [sigRP, sigRP, JC], // swapped
      [sigJC, sigJC, RP],
      [otherJC, sigRP, JC], // signed another deal
      [sigJC, byStranger, RP], // signed by someone else
      ['0x', sigRP, JC], // empty
      [`0x${'00'.repeat(65)}`, sigRP, JC], // malformed
    ];
    for (const [a, b, signer] of cases) {
      await expect(agree(chain.wallet('solver'), chain.network, deal, a, b)).rejects.toMatchObject({
        errorName: 'InvalidSignature',
        errorArgs: [signer],
      });
    }
    // A signature for another chain does not verify here.
    const elsewhere = await privateKeyToAccount(devAccount('jobCreator').privateKey).signTypedData(
      dealTypedData({ ...chain.network, chainId: chain.network.chainId + 1 }, deal),
    );
    await expect(agree(chain.wallet('solver'), chain.network, deal, elsewhere, sigRP)).rejects.toMatchObject({
      errorName: 'InvalidSignature',
      errorArgs: [JC],
    });
    await chain.expectInvariant();
  });

  it('insufficient balance: InsufficientFree, at agree and at submitResult', async () => {
    const { free } = await escrowBalance(chain.publicClient, chain.network, JC);
    const tooBig = await chain.makeDeal({ paymentCollateral: free + 1n });
    const sigs = await chain.signBoth(tooBig);
    await expect(agree(chain.wallet('solver'), chain.network, tooBig, ...sigs)).rejects.toMatchObject({
      errorName: 'InsufficientFree',
      errorArgs: [JC, free + 1n, free],
    });

    // The provider can afford Ts but not the results collateral R that the cost calls for.
    const rpFree = (await escrowBalance(chain.publicClient, chain.network, RP)).free;
    const Ts = parseEther('1');
    const bps = 4_000_000_000;
    const price = ((rpFree + Ts) * 10_000n) / BigInt(bps) + 1n;
    const { deal } = await agreed({
      fixedPrice: price,
      pricePerInstruction: 0n,
      paymentCollateral: price,
      timeoutCollateral: Ts,
      resultsCollateralMultipleBps: bps,
    });
    const R = resultsCollateral(deal, price);
    expect(R).toBeGreaterThan(rpFree);
    await expect(
      submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 0n),
    ).rejects.toMatchObject({ errorName: 'InsufficientFree', errorArgs: [RP, R, rpFree] });
    await chain.expectInvariant();
  });
});

describe('ERC-1271 contract wallets', () => {
  it('a contract wallet can be the job creator', async () => {
    const require = createRequire(import.meta.url);
    const solc = require('solc') as { compile(input: string): string };
    const source = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
contract TestWallet {
  address public immutable owner;
  constructor(address owner_) { owner = owner_; }
  function execute(address target, bytes calldata data) external {
    require(msg.sender == owner, "not owner");
    (bool ok, bytes memory ret) = target.call(data);
    if (!ok) assembly { revert(add(ret, 32), mload(ret)) }
  }
  function isValidSignature(bytes32 hash, bytes calldata sig) external view returns (bytes4) {
    if (sig.length != 65) return 0xffffffff;
    bytes32 r = bytes32(sig[0:32]);
    bytes32 s = bytes32(sig[32:64]);
    uint8 v = uint8(sig[64]);
    return ecrecover(hash, v, r, s) == owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
  }
}`;
    const output = JSON.parse(
      solc.compile(
        JSON.stringify({
          language: 'Solidity',
          sources: { 'TestWallet.sol': { content: source } },
          settings: { outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
        }),
      ),
    ) as {
      contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
    };
    const compiled = output.contracts['TestWallet.sol']?.TestWallet;
    if (!compiled) throw new Error(JSON.stringify(output));
    const walletAbi = testWalletAbi;
    const owner = chain.wallet('user9');
    const hash = await owner.deployContract({
      abi: walletAbi,
      bytecode: `0x${compiled.evm.bytecode.object}`,
      args: [owner.account.address],
    });
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
    const contractWallet = getAddress(receipt.contractAddress ?? zeroAddress);
    chain.tracked.add(contractWallet);
    const execute = async (data: Hex) => {
      const tx = await owner.writeContract({
        address: contractWallet,
        abi: walletAbi,
        functionName: 'execute',
        args: [chain.network.deals, data],
      });
      const r = await chain.publicClient.waitForTransactionReceipt({ hash: tx });
      expect(r.status).toBe('success');
    };

    // Fund the contract wallet's escrow: tokens from the deployer, then approve + deposit through execute.
    const amount = parseEther('20');
    await chain.publicClient.waitForTransactionReceipt({
      hash: await chain.deployer.writeContract({
        address: chain.network.token,
        abi: lilypadTokenAbi,
        functionName: 'transfer',
        args: [contractWallet, amount],
      }),
    });
    await chain.step(
      async () => {
        const approve = encodeFunctionData({
          abi: lilypadTokenAbi,
          functionName: 'approve',
          args: [chain.network.deals, amount],
        });
        const tx = await owner.writeContract({
          address: contractWallet,
          abi: walletAbi,
          functionName: 'execute',
          args: [chain.network.token, approve],
        });
        await chain.publicClient.waitForTransactionReceipt({ hash: tx });
        await execute(encodeFunctionData({ abi: lilypadDealsAbi, functionName: 'deposit', args: [amount] }));
      },
      { [contractWallet]: { free: amount } },
    );

    const deal = await chain.makeDeal({ jobCreator: contractWallet });
    const sigJC = await chain.sign(deal, devAccount('user9').privateKey); // the owner signs for the wallet
    const sigRP = await chain.sign(deal, devAccount('resourceProvider').privateKey);
    await expect(agree(chain.wallet('solver'), chain.network, deal, sigRP, sigRP)).rejects.toMatchObject({
      errorName: 'InvalidSignature',
      errorArgs: [contractWallet],
    });
    await chain.step(() => agree(chain.wallet('solver'), chain.network, deal, sigJC, sigRP), {
      [contractWallet]: { free: -deal.paymentCollateral, locked: deal.paymentCollateral },
      [RP]: { free: -deal.timeoutCollateral, locked: deal.timeoutCollateral },
    });
    const cost = jobCost(deal, 7n);
    const R = resultsCollateral(deal, cost);
    await chain.step(() => submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 7n), {
      [RP]: { free: deal.timeoutCollateral - R, locked: R - deal.timeoutCollateral },
    });
    await chain.step(
      () => execute(encodeFunctionData({ abi: lilypadDealsAbi, functionName: 'accept', args: [deal] })),
      acceptedChanges(deal, cost, R),
    );
  });
});

const testWalletAbi = [
  {
    type: 'constructor',
    inputs: [{ name: 'owner_', type: 'address' }],
    stateMutability: 'nonpayable',
  },
  {
    type: 'function',
    name: 'execute',
    inputs: [
      { name: 'target', type: 'address' },
      { name: 'data', type: 'bytes' },
    ],
    outputs: [],
    stateMutability: 'nonpayable',
  },
] as const;
