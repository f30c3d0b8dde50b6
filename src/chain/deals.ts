/**
 * Typed calls to the deal contract, client first (viem style). Each transaction is checked by a gas estimate
 * before it is signed, so a refused call throws a ChainCallError that names the contract's custom error
 * (`WrongState`, `InsufficientFree`, …) and consumes no nonce; then the receipt is awaited.
 */

import { CID } from 'multiformats/cid';
import {
  type Abi,
  type Account,
  type Address,
  BaseError,
  type Chain,
  type Client,
  ContractFunctionRevertedError,
  type Hex,
  hexToBytes,
  type Log,
  parseEventLogs,
  parseSignature,
  type TransactionReceipt,
  type Transport,
  toHex,
  type WalletClient,
} from 'viem';
import {
  estimateContractGas,
  getBlock,
  getContractEvents,
  getTransactionReceipt,
  readContract,
  signTypedData,
  waitForTransactionReceipt,
  writeContract,
} from 'viem/actions';
import { DealState } from '../protocol/deal-states.js';
import { dealId as computeDealId, type Deal } from '../protocol/eip712.js';
import { LilypadError } from '../protocol/errors.js';
import type { NetworkConfig } from '../protocol/network.js';
import { jobCost } from '../protocol/pricing.js';
import { lilypadDealsAbi, lilypadTokenAbi } from './artifacts/index.js';
import { CallBatcher } from './call-batcher.js';

/** What the deal calls need to know about the network. */
export type DealsNetwork = Pick<NetworkConfig, 'deals' | 'chainId'>;
/** Deposits also need the token. */
export type EscrowNetwork = Pick<NetworkConfig, 'deals' | 'token' | 'chainId'>;

export type TxResult = { hash: Hex; gasUsed: bigint; receipt: TransactionReceipt };

// Any viem client with an account can send; any client can read.
type AnyWallet = WalletClient<Transport, Chain | undefined, Account | undefined>;
type AnyClient = Client<Transport, Chain | undefined>;

/** A contract call that failed; `errorName` is the contract's custom error when it refused the call. */
export class ChainCallError extends LilypadError {
  override name = 'ChainCallError';
  readonly errorName: string | undefined;
  readonly errorArgs: readonly unknown[] | undefined;

  constructor(
    message: string,
    options: {
      errorName?: string;
      errorArgs?: readonly unknown[];
      details?: string;
      hint?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, options);
    this.errorName = options.errorName;
    this.errorArgs = options.errorArgs;
  }
}

const hints: Record<string, string> = {
  InsufficientFree: 'deposit more LP into the escrow, or wait for locked deals to settle',
  InvalidSignature: 'both parties must sign this exact deal, for this chain and deal contract',
  WrongState: 'the deal is not in the state this call needs (already settled, or not agreed yet)',
  TooEarly: 'the timeout has not passed yet',
  TooLate: 'the deadline for this call has passed',
  NotParty: 'only the deal party named for this step may call it',
  NotDrawnMediator: 'only a mediator drawn for this deal at its challenge may give a verdict',
  AlreadyVoted: 'each drawn mediator gives one verdict per deal',
  InvalidMediationTerms: 'the deal needs 1 <= verdictsNeeded <= mediatorsDrawn <= mediators (at most 64)',
  NotEnoughMediators:
    "too few of the deal's mediators are registered as mediators with a stake of at least the mediation fee",
  InsufficientStake: 'the stake is smaller than the amount asked for',
  MediationsOpen: 'a mediator drawn in an unsettled mediation cannot unstake; wait for it to settle',
  UnstakeNotRequested:
    'announce the unstake first with requestUnstake (at least this amount), then wait the delay',
  UnstakeNotReady: 'the unstake delay (UNSTAKE_DELAY after the request) has not passed yet',
  ReentrancyGuardReentrantCall: 'the deal contract cannot be called from inside its own token transfer',
  ERC20InsufficientAllowance: 'the permit was not accepted and the allowance is too small',
  ERC20InsufficientBalance: 'the wallet does not hold enough LP',
};

// The token's errors surface through deposits, so they are decoded too.
const dealsAndTokenErrors = [
  ...lilypadDealsAbi,
  ...lilypadTokenAbi.filter((item) => item.type === 'error'),
] as const satisfies Abi;

const show = (value: unknown): string => (typeof value === 'bigint' ? value.toString() : String(value));

/** Turns a viem error into a ChainCallError that names the contract's custom error, if there is one. */
export function toChainCallError(what: string, error: unknown): ChainCallError {
  if (error instanceof ChainCallError) return error;
  const reverted =
    error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
  if (reverted instanceof ContractFunctionRevertedError) {
    const data = reverted.data;
    if (data) {
      const inputs = 'inputs' in data.abiItem ? data.abiItem.inputs : [];
      const args = (data.args ?? []) as readonly unknown[];
      const shown = args.map((arg, i) => `${inputs[i]?.name || `arg${i}`}=${show(arg)}`).join(', ');
      return new ChainCallError(`${what} was refused: ${data.errorName}(${shown})`, {
        errorName: data.errorName,
        errorArgs: args,
        hint: hints[data.errorName],
        cause: error,
      });
    }
    return new ChainCallError(`${what} was refused: ${reverted.reason ?? 'reverted without a reason'}`, {
      cause: error,
    });
  }
  const message = error instanceof BaseError ? error.shortMessage : String(error);
  return new ChainCallError(`${what} failed: ${message}`, { cause: error });
}

function accountOf(wallet: AnyWallet): Account {
  if (!wallet.account) throw new LilypadError('this wallet client has no account to send from');
  return wallet.account;
}

/** The receipt; asked for at once because a local node mines on receipt, else polled. */
async function receiptOf(client: AnyClient, hash: Hex): Promise<TransactionReceipt> {
  try {
    return await getTransactionReceipt(client, { hash });
  } catch {
    return await waitForTransactionReceipt(client, { hash, pollingInterval: client.pollingInterval });
  }
}

/** A contract call; `abi` defaults to the deal contract's (with the token's errors). */
export type ContractCall = { address: Address; functionName: string; args: readonly unknown[]; abi?: Abi };

/** Sends a checked transaction (see the top of this file); other contracts' typed actions use it too. */
export async function send(wallet: AnyWallet, what: string, call: ContractCall): Promise<TxResult> {
  const account = accountOf(wallet);
  // viem cannot narrow a function name chosen at run time; the exported functions below are the typed surface.
  const request = {
    ...call,
    abi: call.abi ?? dealsAndTokenErrors,
    account,
    chain: wallet.chain,
  } as unknown as Parameters<typeof writeContract>[1];
  let hash: Hex;
  try {
    const gas = await estimateContractGas(wallet, request as Parameters<typeof estimateContractGas>[1]);
    // Headroom for the 63/64 rule when a contract wallet's ERC-1271 check is called.
    hash = await writeContract(wallet, { ...request, gas: (gas * 6n) / 5n } as typeof request);
  } catch (error) {
    throw toChainCallError(what, error);
  }
  const receipt = await receiptOf(wallet, hash);
  if (receipt.status !== 'success') {
    throw new ChainCallError(`${what} reverted on-chain`, {
      details: `transaction ${hash} in block ${receipt.blockNumber}`,
      hint: 'another transaction changed the state between the check and the inclusion; read the deal and retry',
    });
  }
  return { hash, gasUsed: receipt.gasUsed, receipt };
}

// ---- deal transitions -------------------------------------------------------------------------------------------

/** Starts a deal with both parties' signatures: locks P from the job creator and Ts from the provider. */
export async function agree(
  wallet: AnyWallet,
  network: DealsNetwork,
  deal: Deal,
  sigJC: Hex,
  sigRP: Hex,
): Promise<TxResult & { dealId: Hex }> {
  const result = await send(wallet, 'agree', {
    address: network.deals,
    functionName: 'agree',
    args: [deal, sigJC, sigRP],
  });
  return { ...result, dealId: computeDealId(network, deal) };
}

/** One deal of an `agreeMany` batch, with both parties' signatures. */
export type SignedDeal = { deal: Deal; sigJC: Hex; sigRP: Hex };

/**
 * `agree` for many deals in one transaction (a solver's batch: the per-job cost drops by the transaction's base
 * cost and the warm balances). The whole batch is refused if any deal is: the ChainCallError names the error.
 */
export async function agreeMany(
  wallet: AnyWallet,
  network: DealsNetwork,
  batch: readonly SignedDeal[],
): Promise<TxResult & { dealIds: Hex[] }> {
  const result = await send(wallet, 'agreeMany', {
    address: network.deals,
    functionName: 'agreeMany',
    args: [batch],
  });
  return { ...result, dealIds: batch.map(({ deal }) => computeDealId(network, deal)) };
}

/**
 * `agree` through a CallBatcher: deals signed while an `agree` is on its way go together in one `agreeMany`. Each
 * caller gets its own deal's id with the transaction that agreed it.
 */
export function agreeBatcher(
  wallet: AnyWallet,
  network: DealsNetwork,
): CallBatcher<SignedDeal, TxResult & { dealId: Hex }> {
  return new CallBatcher({
    one: ({ deal, sigJC, sigRP }) => agree(wallet, network, deal, sigJC, sigRP),
    many: async (batch) => {
      const { dealIds, ...tx } = await agreeMany(wallet, network, batch);
      return dealIds.map((dealId) => ({ ...tx, dealId }));
    },
  });
}

const cidHex = (cid: Uint8Array | Hex): Hex => (typeof cid === 'string' ? cid : toHex(cid));

/** The provider posts the result CID (bytes of a CID, or hex) and the instruction count the cost is priced on. */
export async function submitResult(
  wallet: AnyWallet,
  network: DealsNetwork,
  deal: Deal,
  resultCID: Uint8Array | Hex,
  instructionCount: bigint | number,
): Promise<TxResult & { cost: bigint }> {
  const count = BigInt(instructionCount);
  const result = await send(wallet, 'submitResult', {
    address: network.deals,
    functionName: 'submitResult',
    args: [deal, cidHex(resultCID), count],
  });
  return { ...result, cost: jobCost(deal, count) };
}

/**
 * `submitResult` through a CallBatcher: results finished while a `submitResult` is on its way go together in one
 * `submitResults`. Each caller gets its own deal's cost with the transaction that posted it.
 */
export function submitResultBatcher(
  wallet: AnyWallet,
  network: DealsNetwork,
): CallBatcher<DealResult, TxResult & { cost: bigint }> {
  return new CallBatcher({
    one: ({ deal, resultCID, instructionCount }) =>
      submitResult(wallet, network, deal, resultCID, instructionCount),
    many: async (batch) => {
      const { costs, ...tx } = await submitResults(wallet, network, batch);
      return costs.map((cost) => ({ ...tx, cost }));
    },
  });
}

/** One deal's result in a `submitResults` batch. */
export type DealResult = { deal: Deal; resultCID: Uint8Array | Hex; instructionCount: bigint | number };

/** `submitResult` for many of the provider's deals in one transaction; refused whole if any deal is. */
export async function submitResults(
  wallet: AnyWallet,
  network: DealsNetwork,
  batch: readonly DealResult[],
): Promise<TxResult & { costs: bigint[] }> {
  const results = batch.map(({ deal, resultCID, instructionCount }) => ({
    deal,
    resultCID: cidHex(resultCID),
    instructionCount: BigInt(instructionCount),
  }));
  const result = await send(wallet, 'submitResults', {
    address: network.deals,
    functionName: 'submitResults',
    args: [results],
  });
  return { ...result, costs: results.map((r) => jobCost(r.deal, r.instructionCount)) };
}

export function accept(wallet: AnyWallet, network: DealsNetwork, deal: Deal): Promise<TxResult> {
  return send(wallet, 'accept', { address: network.deals, functionName: 'accept', args: [deal] });
}

export function acceptMany(
  wallet: AnyWallet,
  network: DealsNetwork,
  deals: readonly Deal[],
): Promise<TxResult> {
  return send(wallet, 'acceptMany', { address: network.deals, functionName: 'acceptMany', args: [deals] });
}

export function timeoutSubmit(wallet: AnyWallet, network: DealsNetwork, deal: Deal): Promise<TxResult> {
  return send(wallet, 'timeoutSubmit', {
    address: network.deals,
    functionName: 'timeoutSubmit',
    args: [deal],
  });
}

export function timeoutJudge(wallet: AnyWallet, network: DealsNetwork, deal: Deal): Promise<TxResult> {
  return send(wallet, 'timeoutJudge', { address: network.deals, functionName: 'timeoutJudge', args: [deal] });
}

export function timeoutJudgeMany(
  wallet: AnyWallet,
  network: DealsNetwork,
  deals: readonly Deal[],
): Promise<TxResult> {
  return send(wallet, 'timeoutJudgeMany', {
    address: network.deals,
    functionName: 'timeoutJudgeMany',
    args: [deals],
  });
}

// ---- mediation and registry -------------------------------------------------------------------------------------

/** The job creator disputes the result: locks the mediation fee F and draws the deal's mediators on-chain. */
export function challenge(wallet: AnyWallet, network: DealsNetwork, deal: Deal): Promise<TxResult> {
  return send(wallet, 'challenge', { address: network.deals, functionName: 'challenge', args: [deal] });
}

/** A drawn mediator's verdict; the k-th matching verdict settles the deal. */
export function verdict(
  wallet: AnyWallet,
  network: DealsNetwork,
  deal: Deal,
  resultCorrect: boolean,
): Promise<TxResult> {
  return send(wallet, 'verdict', {
    address: network.deals,
    functionName: 'verdict',
    args: [deal, resultCorrect],
  });
}

/** Anyone, once the mediators missed their deadline: unlocks everything, slashes the silent mediators. */
export function timeoutMediate(wallet: AnyWallet, network: DealsNetwork, deal: Deal): Promise<TxResult> {
  return send(wallet, 'timeoutMediate', {
    address: network.deals,
    functionName: 'timeoutMediate',
    args: [deal],
  });
}

/** Role flags of the users' registry, as in the contract. */
export const Role = { solver: 1, resourceProvider: 2, mediator: 4 } as const;

/** Registers the sender's roles (a sum of `Role` flags) and service URL. */
export function register(
  wallet: AnyWallet,
  network: DealsNetwork,
  roles: number,
  url: string,
): Promise<TxResult> {
  return send(wallet, 'register', { address: network.deals, functionName: 'register', args: [roles, url] });
}

/** Moves free escrow balance into the sender's mediator stake. */
export function stake(wallet: AnyWallet, network: DealsNetwork, amount: bigint): Promise<TxResult> {
  return send(wallet, 'stake', { address: network.deals, functionName: 'stake', args: [amount] });
}

/**
 * Announces that `amount` of the sender's stake will be taken back: `unstake` can take it from `UNSTAKE_DELAY`
 * (7 days) after now on. Until then the stake stays drawable and slashable, so deals can rely on it.
 */
export function requestUnstake(wallet: AnyWallet, network: DealsNetwork, amount: bigint): Promise<TxResult> {
  return send(wallet, 'requestUnstake', {
    address: network.deals,
    functionName: 'requestUnstake',
    args: [amount],
  });
}

/** Takes requested stake back into the free escrow balance, once the request's delay has passed. */
export function unstake(wallet: AnyWallet, network: DealsNetwork, amount: bigint): Promise<TxResult> {
  return send(wallet, 'unstake', { address: network.deals, functionName: 'unstake', args: [amount] });
}

/** `unstaking` of the stake can be taken back from `unstakeAt` (unix seconds; 0 without a request) on. */
export type UserRecord = {
  roles: number;
  url: string;
  stake: bigint;
  openMediations: number;
  unstaking: bigint;
  unstakeAt: number;
};

/** An account's entry in the users' registry (roles 0 and an empty URL if it never registered). */
export async function userOf(
  client: AnyClient,
  network: DealsNetwork,
  account: Address,
): Promise<UserRecord> {
  const contract = { address: network.deals, abi: lilypadDealsAbi } as const;
  const [[stake, openMediations, roles, unstakeAt, unstaking], url] = await Promise.all([
    readContract(client, { ...contract, functionName: 'users', args: [account] }),
    readContract(client, { ...contract, functionName: 'serviceUrls', args: [account] }),
  ]);
  return { roles, url, stake, openMediations, unstaking, unstakeAt };
}

/** The service URL a solver registered on-chain: how clients find a solver from its address. */
export async function solverUrlOf(
  client: AnyClient,
  network: DealsNetwork,
  solver: Address,
): Promise<string> {
  const user = await userOf(client, network, solver);
  if ((user.roles & Role.solver) === 0 || user.url === '') {
    throw new LilypadError(`${solver} has not registered as a solver with a service URL`, {
      hint: 'the solver registers with `register(ROLE_SOLVER, url)` on the deal contract',
    });
  }
  return user.url;
}

export type MediationStatus = {
  challengedAt: number;
  /** Bit i: `deal.mediators[i]`. */
  drawn: bigint;
  votedCorrect: bigint;
  votedWrong: bigint;
};

export async function mediationStatus(
  client: AnyClient,
  network: DealsNetwork,
  dealId: Hex,
): Promise<MediationStatus> {
  const [challengedAt, drawn, votedCorrect, votedWrong] = await readContract(client, {
    address: network.deals,
    abi: lilypadDealsAbi,
    functionName: 'mediations',
    args: [dealId],
  });
  return { challengedAt, drawn, votedCorrect, votedWrong };
}

/** The mediators drawn for a challenged deal, in the deal's order. */
export async function drawnMediators(
  client: AnyClient,
  network: DealsNetwork,
  deal: Deal,
): Promise<Address[]> {
  const { drawn } = await mediationStatus(client, network, computeDealId(network, deal));
  return deal.mediators.filter((_, i) => (drawn >> BigInt(i)) & 1n);
}

// ---- escrow -----------------------------------------------------------------------------------------------------

/**
 * Deposits LP into the escrow in one transaction: with an EIP-2612 permit signed here, or a plain `deposit` when
 * the allowance already covers the amount.
 */
export async function deposit(
  wallet: AnyWallet,
  network: EscrowNetwork,
  amount: bigint,
  options: { deadlineSeconds?: number } = {},
): Promise<TxResult> {
  const account = accountOf(wallet);
  const token = { address: network.token, abi: lilypadTokenAbi } as const;
  const [allowance, nonce, domain, block] = await Promise.all([
    readContract(wallet, { ...token, functionName: 'allowance', args: [account.address, network.deals] }),
    readContract(wallet, { ...token, functionName: 'nonces', args: [account.address] }),
    readContract(wallet, { ...token, functionName: 'eip712Domain' }),
    getBlock(wallet, { blockTag: 'latest' }),
  ]).catch((error: unknown) => {
    throw toChainCallError('deposit', error);
  });
  if (allowance >= amount) {
    return send(wallet, 'deposit', { address: network.deals, functionName: 'deposit', args: [amount] });
  }
  // The deadline counts from the chain's clock, which a devnet may have moved ahead of this machine's.
  const deadline = block.timestamp + BigInt(options.deadlineSeconds ?? 3600);
  const [, name, version, chainId, verifyingContract] = domain;
  const signature = await signTypedData(wallet, {
    account,
    domain: { name, version, chainId, verifyingContract },
    types: {
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Permit',
    message: { owner: account.address, spender: network.deals, value: amount, nonce, deadline },
  });
  const { r, s, v, yParity } = parseSignature(signature);
  return send(wallet, 'deposit', {
    address: network.deals,
    functionName: 'depositWithPermit',
    args: [amount, deadline, Number(v ?? BigInt(yParity + 27)), r, s],
  });
}

/** Returns free escrow balance to the wallet. */
export function withdraw(wallet: AnyWallet, network: DealsNetwork, amount: bigint): Promise<TxResult> {
  return send(wallet, 'withdraw', { address: network.deals, functionName: 'withdraw', args: [amount] });
}

export async function escrowBalance(
  client: AnyClient,
  network: DealsNetwork,
  address: Address,
): Promise<{ free: bigint; locked: bigint }> {
  const [free, locked] = await readContract(client, {
    address: network.deals,
    abi: lilypadDealsAbi,
    functionName: 'balanceOf',
    args: [address],
  });
  return { free, locked };
}

export type DealStatus = { state: DealState; agreedAt: number; resultsAt: number; cost: bigint };

/** The deal's on-chain slot; state `None` (0) for a deal the contract has never seen. */
export async function dealStatus(client: AnyClient, network: DealsNetwork, dealId: Hex): Promise<DealStatus> {
  const [state, agreedAt, resultsAt, cost] = await readContract(client, {
    address: network.deals,
    abi: lilypadDealsAbi,
    functionName: 'deals',
    args: [dealId],
  });
  return { state: state as DealState, agreedAt, resultsAt, cost };
}

/**
 * The result CID the provider submitted for a deal, read from the chain's `ResultsSubmitted` event (not from the
 * solver), searched from the contract's deployment block.
 */
export async function submittedResultCID(
  client: AnyClient,
  network: DealsNetwork & Pick<NetworkConfig, 'deployBlock'>,
  dealId: Hex,
): Promise<string> {
  const logs = await getContractEvents(client, {
    address: network.deals,
    abi: lilypadDealsAbi,
    eventName: 'ResultsSubmitted',
    args: { dealId },
    fromBlock: BigInt(network.deployBlock ?? 0),
    strict: true,
  });
  const submitted = logs.at(-1);
  if (!submitted) throw new LilypadError(`no ResultsSubmitted event for deal ${dealId}`);
  return CID.decode(hexToBytes(submitted.args.resultCID)).toString();
}

// ---- events -----------------------------------------------------------------------------------------------------

type LogPosition = { blockNumber: bigint; transactionHash: Hex; logIndex: number };

export type DealEvent =
  | ({
      eventName: 'ResultsSubmitted';
      dealId: Hex;
      resultCID: Hex;
      instructionCount: bigint;
      cost: bigint;
    } & LogPosition)
  | ({ eventName: 'DealStateChanged'; dealId: Hex; state: DealState } & LogPosition)
  | ({ eventName: 'MediatorDrawn'; dealId: Hex; mediator: Address } & LogPosition)
  | ({ eventName: 'VerdictGiven'; dealId: Hex; mediator: Address; resultCorrect: boolean } & LogPosition)
  | ({ eventName: 'MediatorSlashed'; dealId: Hex; mediator: Address; amount: bigint } & LogPosition);

/** The state a deal is in after an event, for the events that are a transition (`ResultsSubmitted` is one). */
export function stateAfter(event: DealEvent): DealState | undefined {
  if (event.eventName === 'DealStateChanged') return event.state;
  if (event.eventName === 'ResultsSubmitted') return DealState.ResultsSubmitted;
  return undefined;
}

/** The deal events among `logs` (other contracts' logs and escrow events are skipped), in log order. */
export function decodeDealLogs(logs: readonly Log[]): DealEvent[] {
  const events: DealEvent[] = [];
  for (const log of parseEventLogs({ abi: lilypadDealsAbi, logs: logs as Log[] })) {
    const position: LogPosition = {
      blockNumber: log.blockNumber ?? 0n,
      transactionHash: log.transactionHash ?? '0x',
      logIndex: log.logIndex ?? 0,
    };
    if (log.eventName === 'ResultsSubmitted') {
      const { dealId, resultCID, instructionCount, cost } = log.args;
      events.push({ eventName: 'ResultsSubmitted', dealId, resultCID, instructionCount, cost, ...position });
    } else if (log.eventName === 'DealStateChanged') {
      events.push({
        eventName: 'DealStateChanged',
        dealId: log.args.dealId,
        state: log.args.state as DealState,
        ...position,
      });
    } else if (log.eventName === 'MediatorDrawn') {
      events.push({ eventName: 'MediatorDrawn', ...log.args, ...position });
    } else if (log.eventName === 'VerdictGiven') {
      events.push({ eventName: 'VerdictGiven', ...log.args, ...position });
    } else if (log.eventName === 'MediatorSlashed') {
      events.push({ eventName: 'MediatorSlashed', ...log.args, ...position });
    }
  }
  return events;
}
