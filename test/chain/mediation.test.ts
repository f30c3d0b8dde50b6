/**
 * The mediation rows of the protocol table, the users' registry and stakes, access control, signatures and
 * reentrancy, on anvil. Every balance change is asserted against the reference model (src/protocol/settlement.ts).
 */
import { type Address, type Hex, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lilypadDealsAbi } from '../../src/chain/artifacts/index.js';
import {
  accept,
  acceptMany,
  agree,
  challenge,
  dealStatus,
  drawnMediators,
  Role,
  register,
  requestUnstake,
  solverUrlOf,
  stake,
  submitResult,
  timeoutJudge,
  timeoutMediate,
  timeoutSubmit,
  unstake,
  userOf,
  verdict,
} from '../../src/chain/deals.js';
import { type DevRole, devAccount } from '../../src/chain/dev-accounts.js';
import { DealState } from '../../src/protocol/deal-states.js';
import { type Deal, dealId, dealTypedData } from '../../src/protocol/eip712.js';
import * as model from '../../src/protocol/settlement.js';
import { startChain, type TestChain } from './setup.js';

let chain: TestChain;
const CID = '0x01551220aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899' as Hex;
const STAKE = parseEther('20');
const mediatorRoles: DevRole[] = ['mediator', 'user5', 'user6'];
let UNSTAKE_DELAY: bigint;

beforeAll(async () => {
  chain = await startChain();
  UNSTAKE_DELAY = await chain.publicClient.readContract({
    address: chain.network.deals,
    abi: lilypadDealsAbi,
    functionName: 'UNSTAKE_DELAY',
  });
  for (const role of mediatorRoles) {
    await register(chain.wallet(role), chain.network, Role.mediator, `http://${role}.example`);
    await stake(chain.wallet(role), chain.network, STAKE);
  }
});

afterAll(async () => {
  await chain?.stop();
});

/** A model step's changes, keyed as `chain.step` wants them. */
const expected = (step: model.Step) =>
  Object.fromEntries([...step.changes].map(([a, d]) => [a as Address, d]));

/** A fresh model ledger holding what the chain holds for the accounts a deal touches. */
async function ledgerFor(accounts: readonly Address[]): Promise<model.Ledger> {
  const balances = new Map<string, model.Balance>();
  const stakes = new Map<string, bigint>();
  for (const a of accounts) {
    const snapshot = await chain.snapshot();
    const found = [...snapshot].find(([k]) => k.toLowerCase() === a.toLowerCase());
    balances.set(a.toLowerCase(), found?.[1] ?? { free: 0n, locked: 0n });
    stakes.set(a.toLowerCase(), (await userOf(chain.publicClient, chain.network, a)).stake);
  }
  return { balances, stakes };
}

const mediators = () => mediatorRoles.map((r) => chain.address(r));

async function challenged(overrides: Partial<Deal> = {}) {
  const deal = await chain.makeDeal({ mediators: mediators(), ...overrides });
  const [sigJC, sigRP] = await chain.signBoth(deal);
  let ledger = await ledgerFor([deal.jobCreator, deal.resourceProvider, ...deal.mediators]);
  let step = model.agree(ledger, deal);
  await chain.step(() => agree(chain.wallet('solver'), chain.network, deal, sigJC, sigRP), expected(step));
  ledger = step.ledger;
  const submitted = model.submitResult(ledger, deal, 1000n);
  await chain.step(
    () => submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 1000n),
    expected(submitted),
  );
  step = model.challenge(submitted.ledger, deal);
  const tx = await chain.step(
    () => challenge(chain.wallet('jobCreator'), chain.network, deal),
    expected(step),
  );
  const drawn = await drawnMediators(chain.publicClient, chain.network, deal);
  return { deal, id: dealId(chain.network, deal), cost: submitted.cost, ledger: step.ledger, drawn, tx };
}

const walletOf = (address: Address) => {
  const role = mediatorRoles.find((r) => chain.address(r).toLowerCase() === address.toLowerCase());
  if (!role) throw new Error(`not a mediator: ${address}`);
  return chain.wallet(role);
};

describe('users registry', () => {
  it('registers roles and a service URL; clients find the solver URL from its address', async () => {
    await register(chain.wallet('solver'), chain.network, Role.solver, 'http://127.0.0.1:8080');
    expect(await solverUrlOf(chain.publicClient, chain.network, chain.address('solver'))).toBe(
      'http://127.0.0.1:8080',
    );
    await expect(solverUrlOf(chain.publicClient, chain.network, chain.address('user9'))).rejects.toThrow(
      /has not registered as a solver/,
    );
    expect(await userOf(chain.publicClient, chain.network, chain.address('mediator'))).toMatchObject({
      roles: Role.mediator,
      stake: STAKE,
      openMediations: 0,
    });
  });

  it('stakes through the escrow, and unstakes only what was requested, after the delay', async () => {
    const m = chain.address('user7');
    const w = chain.wallet('user7');
    await chain.step(() => stake(w, chain.network, 5n), { [m]: { free: -5n, locked: 5n } });
    await expect(stake(w, chain.network, 0n)).rejects.toMatchObject({ errorName: 'ZeroAmount' });
    await expect(requestUnstake(w, chain.network, 0n)).rejects.toMatchObject({ errorName: 'ZeroAmount' });
    // Wrong caller: an account without that much stake (or none) cannot request it.
    await expect(requestUnstake(w, chain.network, 6n)).rejects.toMatchObject({
      errorName: 'InsufficientStake',
    });
    await expect(requestUnstake(chain.wallet('user9'), chain.network, 1n)).rejects.toMatchObject({
      errorName: 'InsufficientStake',
    });
    // Wrong state: no request yet.
    await expect(unstake(w, chain.network, 1n)).rejects.toMatchObject({ errorName: 'UnstakeNotRequested' });

    const tx = await chain.step(() => requestUnstake(w, chain.network, 3n)); // no money moves
    const requestedAt = (await chain.publicClient.getBlock({ blockNumber: tx.receipt.blockNumber }))
      .timestamp;
    const user = await userOf(chain.publicClient, chain.network, m);
    expect(user).toMatchObject({ stake: 5n, unstaking: 3n, unstakeAt: Number(requestedAt + UNSTAKE_DELAY) });
    // Time: refused until the delay has passed, to the second.
    await expect(unstake(w, chain.network, 3n)).rejects.toMatchObject({
      errorName: 'UnstakeNotReady',
      errorArgs: [m, requestedAt + UNSTAKE_DELAY],
    });
    await chain.testClient.setNextBlockTimestamp({ timestamp: requestedAt + UNSTAKE_DELAY - 1n });
    await chain.testClient.mine({ blocks: 1 });
    await expect(unstake(w, chain.network, 3n)).rejects.toMatchObject({ errorName: 'UnstakeNotReady' });
    await chain.advance(1n);
    // More than requested is refused; the request can be taken in parts.
    await expect(unstake(w, chain.network, 4n)).rejects.toMatchObject({
      errorName: 'UnstakeNotRequested',
      errorArgs: [m, 4n, 3n],
    });
    await chain.step(() => unstake(w, chain.network, 2n), { [m]: { free: 2n, locked: -2n } });
    await chain.step(() => unstake(w, chain.network, 1n), { [m]: { free: 1n, locked: -1n } });
    await expect(unstake(w, chain.network, 1n)).rejects.toMatchObject({ errorName: 'UnstakeNotRequested' });
    expect(await userOf(chain.publicClient, chain.network, m)).toMatchObject({ stake: 2n, unstaking: 0n });
  });
});

describe('mediation (k = 1, n = 1)', () => {
  it('challenge locks F and draws one of the trusted, staked mediators', async () => {
    const { deal, id, drawn } = await challenged();
    expect(drawn).toHaveLength(1);
    expect(deal.mediators).toContain(drawn[0]);
    expect((await dealStatus(chain.publicClient, chain.network, id)).state).toBe(DealState.Challenged);
    const user = await userOf(chain.publicClient, chain.network, drawn[0] as Address);
    expect(user.openMediations).toBe(1);
    // That it cannot unstake while drawn: 'unstake delay' below.
    await verdict(walletOf(drawn[0] as Address), chain.network, deal, true);
    expect((await userOf(chain.publicClient, chain.network, drawn[0] as Address)).openMediations).toBe(0);
  });

  it('verdict "result correct": cost to RP, F to the mediator', async () => {
    const { deal, id, cost, ledger, drawn } = await challenged();
    const m = drawn[0] as Address;
    await chain.step(
      () => verdict(walletOf(m), chain.network, deal, true),
      expected(model.verdictAccepted(ledger, deal, cost, [m])),
    );
    expect((await dealStatus(chain.publicClient, chain.network, id)).state).toBe(DealState.MediationAccepted);
    expect((await userOf(chain.publicClient, chain.network, m)).openMediations).toBe(0);
  });

  it('verdict "result wrong": P + R to the JC, F from R to the mediator, RP paid nothing', async () => {
    const { deal, id, cost, ledger, drawn } = await challenged();
    const m = drawn[0] as Address;
    await chain.step(
      () => verdict(walletOf(m), chain.network, deal, false),
      expected(model.verdictRejected(ledger, deal, cost, [m])),
    );
    expect((await dealStatus(chain.publicClient, chain.network, id)).state).toBe(DealState.MediationRejected);
  });

  it('timeoutMediate: too early, then everything back and the silent mediator slashed', async () => {
    const { deal, id, cost, ledger, drawn } = await challenged();
    await expect(timeoutMediate(chain.wallet('user9'), chain.network, deal)).rejects.toMatchObject({
      errorName: 'TooEarly',
    });
    await chain.advance(deal.mediateTimeout + 1n);
    const m = drawn[0] as Address;
    await expect(verdict(walletOf(m), chain.network, deal, true)).rejects.toMatchObject({
      errorName: 'TooLate',
    });
    const step = model.timeoutMediate(ledger, deal, cost, [m]);
    expect(step.slashed).toEqual([[m, deal.mediationFee]]);
    await chain.step(() => timeoutMediate(chain.wallet('user9'), chain.network, deal), expected(step));
    expect((await dealStatus(chain.publicClient, chain.network, id)).state).toBe(DealState.TimedOutMediate);
    expect((await userOf(chain.publicClient, chain.network, m)).stake).toBe(model.stakeOf(step.ledger, m));
  });

  it('challenge is refused after the judging window, and to anyone but the job creator', async () => {
    const deal = await chain.makeDeal({ mediators: mediators() });
    const sigs = await chain.signBoth(deal);
    await agree(chain.wallet('solver'), chain.network, deal, ...sigs);
    await submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 1n);
    for (const role of ['resourceProvider', 'solver', 'mediator'] as const) {
      await expect(challenge(chain.wallet(role), chain.network, deal)).rejects.toMatchObject({
        errorName: 'NotParty',
      });
    }
    await chain.advance(deal.judgeTimeout + 1n);
    await expect(challenge(chain.wallet('jobCreator'), chain.network, deal)).rejects.toMatchObject({
      errorName: 'TooLate',
    });
    await timeoutJudge(chain.wallet('user9'), chain.network, deal);
  });

  it('refuses impossible k-of-n terms and deals without enough staked mediators', async () => {
    for (const [overrides, errorName] of [
      [{ verdictsNeeded: 0 }, 'InvalidMediationTerms'],
      [{ verdictsNeeded: 2, mediatorsDrawn: 1 }, 'InvalidMediationTerms'],
      [{ mediatorsDrawn: 4, verdictsNeeded: 1 }, 'InvalidMediationTerms'],
      [{ mediators: [chain.address('user8')] }, 'NotEnoughMediators'],
      [{ mediationFee: STAKE + 1n }, 'NotEnoughMediators'],
      // Listed twice, drawn once: two distinct mediators are not there.
      [
        { mediators: [chain.address('mediator'), chain.address('mediator')], mediatorsDrawn: 2 },
        'NotEnoughMediators',
      ],
    ] as [Partial<Deal>, string][]) {
      const deal = await chain.makeDeal({ mediators: mediators(), ...overrides });
      await agree(chain.wallet('solver'), chain.network, deal, ...(await chain.signBoth(deal)));
      await submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 1n);
      await expect(challenge(chain.wallet('jobCreator'), chain.network, deal)).rejects.toMatchObject({
        errorName,
      });
      await accept(chain.wallet('jobCreator'), chain.network, deal);
    }
    await chain.expectInvariant();
  });
});

describe('mediation (k of n)', () => {
  it('2-of-3: a split vote, then the deciding verdict pays the two that agreed', async () => {
    const { deal, cost, ledger, drawn } = await challenged({
      mediatorsDrawn: 3,
      verdictsNeeded: 2,
      mediationFee: parseEther('1') + 1n,
    });
    expect(new Set(drawn)).toEqual(new Set(mediators()));
    const [a, b, c] = deal.mediators as [Address, Address, Address];
    await chain.step(() => verdict(walletOf(a), chain.network, deal, false));
    await expect(verdict(walletOf(a), chain.network, deal, true)).rejects.toMatchObject({
      errorName: 'AlreadyVoted',
    });
    await chain.step(() => verdict(walletOf(c), chain.network, deal, true));
    await expect(verdict(chain.wallet('user9'), chain.network, deal, true)).rejects.toMatchObject({
      errorName: 'NotDrawnMediator',
    });
    // b and c decide "correct"; F split between them in the deal's order, the odd unit to b.
    await chain.step(
      () => verdict(walletOf(b), chain.network, deal, true),
      expected(model.verdictAccepted(ledger, deal, cost, [b, c])),
    );
    for (const m of [a, b, c])
      expect((await userOf(chain.publicClient, chain.network, m)).openMediations).toBe(0);
  });

  it('2-of-3 timeout: only the silent mediator is slashed', async () => {
    const { deal, cost, ledger } = await challenged({ mediatorsDrawn: 3, verdictsNeeded: 2 });
    const [a, b, c] = deal.mediators as [Address, Address, Address];
    await chain.step(() => verdict(walletOf(a), chain.network, deal, false));
    await chain.step(() => verdict(walletOf(c), chain.network, deal, true));
    await chain.advance(deal.mediateTimeout + 1n);
    await chain.step(
      () => timeoutMediate(chain.wallet('solver'), chain.network, deal),
      expected(model.timeoutMediate(ledger, deal, cost, [b])),
    );
  });
});

describe('unstake delay', () => {
  it('a mediator that asked to unstake is still drawn and slashed; drawn, it cannot leave until settled', async () => {
    const m = chain.address('user8');
    const w = chain.wallet('user8');
    await register(w, chain.network, Role.mediator, 'http://user8.example');
    await stake(w, chain.network, STAKE);
    await requestUnstake(w, chain.network, STAKE);
    await chain.advance(UNSTAKE_DELAY);
    // The delay has passed, but a challenge drew it before it took the stake: the deal can rely on it.
    const { deal, cost, ledger, drawn } = await challenged({ mediators: [m] });
    expect(drawn).toEqual([m]);
    await expect(unstake(w, chain.network, STAKE)).rejects.toMatchObject({ errorName: 'MediationsOpen' });
    await chain.advance(deal.mediateTimeout + 1n);
    const step = model.timeoutMediate(ledger, deal, cost, [m]);
    await chain.step(() => timeoutMediate(chain.wallet('user9'), chain.network, deal), expected(step));
    // Slashed since the request: the request is larger than what is left.
    const left = STAKE - deal.mediationFee;
    expect(await userOf(chain.publicClient, chain.network, m)).toMatchObject({
      stake: left,
      unstaking: STAKE,
    });
    await expect(unstake(w, chain.network, STAKE)).rejects.toMatchObject({
      errorName: 'InsufficientStake',
      errorArgs: [m, STAKE, left],
    });
    await chain.step(() => unstake(w, chain.network, left), { [m]: { free: left, locked: -left } });
  });

  it('a new request replaces the earlier one and restarts the delay', async () => {
    const w = chain.wallet('user7');
    await requestUnstake(w, chain.network, 2n);
    await chain.advance(UNSTAKE_DELAY / 2n);
    await requestUnstake(w, chain.network, 1n);
    await chain.advance(UNSTAKE_DELAY / 2n);
    await expect(unstake(w, chain.network, 1n)).rejects.toMatchObject({ errorName: 'UnstakeNotReady' });
    await chain.advance(UNSTAKE_DELAY / 2n);
    await expect(unstake(w, chain.network, 2n)).rejects.toMatchObject({ errorName: 'UnstakeNotRequested' });
    await unstake(w, chain.network, 1n);
  });
});

describe('access control: every deal call by each wrong party', () => {
  it('reverts with a named custom error', async () => {
    const deal = await chain.makeDeal({ mediators: mediators() });
    const id = dealId(chain.network, deal);
    const sigs = await chain.signBoth(deal);
    const others: DevRole[] = ['solver', 'jobCreator', 'resourceProvider', 'mediator', 'user9'];
    // Before agree, every transition is in the wrong state.
    for (const role of others) {
      const w = chain.wallet(role);
      for (const call of [
        () => submitResult(w, chain.network, deal, CID, 1n),
        () => accept(w, chain.network, deal),
        () => acceptMany(w, chain.network, [deal]),
        () => timeoutSubmit(w, chain.network, deal),
        () => timeoutJudge(w, chain.network, deal),
        () => challenge(w, chain.network, deal),
        () => verdict(w, chain.network, deal, true),
        () => timeoutMediate(w, chain.network, deal),
      ]) {
        await expect(call()).rejects.toMatchObject({
          errorName: 'WrongState',
          errorArgs: [id, DealState.None],
        });
      }
    }
    await agree(chain.wallet('user9'), chain.network, deal, ...sigs); // anyone holding both signatures
    for (const role of others.filter((r) => r !== 'resourceProvider')) {
      await expect(submitResult(chain.wallet(role), chain.network, deal, CID, 1n)).rejects.toMatchObject({
        errorName: 'NotParty',
        errorArgs: [id, chain.address(role)],
      });
    }
    await submitResult(chain.wallet('resourceProvider'), chain.network, deal, CID, 1n);
    for (const role of others.filter((r) => r !== 'jobCreator')) {
      for (const call of [accept, challenge] as const) {
        await expect(call(chain.wallet(role), chain.network, deal)).rejects.toMatchObject({
          errorName: 'NotParty',
        });
      }
      await expect(acceptMany(chain.wallet(role), chain.network, [deal])).rejects.toMatchObject({
        errorName: 'NotParty',
      });
    }
    await challenge(chain.wallet('jobCreator'), chain.network, deal);
    const [drawn] = await drawnMediators(chain.publicClient, chain.network, deal);
    for (const role of others.filter((r) => chain.address(r) !== drawn)) {
      await expect(verdict(chain.wallet(role), chain.network, deal, true)).rejects.toMatchObject({
        errorName: 'NotDrawnMediator',
      });
    }
    await verdict(walletOf(drawn as Address), chain.network, deal, true);
    await chain.expectInvariant();
  });
});

describe('signatures', () => {
  it('wrong signer, other chain id, other contract, replay and expired are all refused', async () => {
    const deal = await chain.makeDeal();
    const [sigJC, sigRP] = await chain.signBoth(deal);
    const signAs = (role: DevRole, network: { chainId: number; deals: Address }) =>
      privateKeyToAccount(devAccount(role).privateKey).signTypedData(dealTypedData(network, deal));
    const cases: [Hex, Hex, Address][] = [
      [await signAs('user9', chain.network), sigRP, deal.jobCreator],
      [sigJC, await signAs('jobCreator', chain.network), deal.resourceProvider],
      [await signAs('jobCreator', { ...chain.network, chainId: 1 }), sigRP, deal.jobCreator],
      [await signAs('jobCreator', { ...chain.network, deals: chain.network.token }), sigRP, deal.jobCreator],
    ];
    for (const [a, b, signer] of cases) {
      await expect(agree(chain.wallet('solver'), chain.network, deal, a, b)).rejects.toMatchObject({
        errorName: 'InvalidSignature',
        errorArgs: [signer],
      });
    }
    await agree(chain.wallet('solver'), chain.network, deal, sigJC, sigRP);
    await expect(agree(chain.wallet('jobCreator'), chain.network, deal, sigJC, sigRP)).rejects.toMatchObject({
      errorName: 'WrongState',
    });
    const expired = await chain.makeDeal({ expiry: (await chain.now()) - 1n });
    await expect(
      agree(chain.wallet('solver'), chain.network, expired, ...(await chain.signBoth(expired))),
    ).rejects.toMatchObject({ errorName: 'TooLate' });
    await chain.expectInvariant();
  });
});
