/**
 * Reentrancy: a malicious token that calls back into the deal contract from inside `transfer` and
 * `transferFrom` (the only external calls that can run code), and an ERC-1271 wallet whose signature check tries
 * to settle a deal (a `staticcall`, so it cannot change any state).
 */
import { createRequire } from 'node:module';
import {
  type Abi,
  decodeErrorResult,
  encodeFunctionData,
  getAddress,
  type Hex,
  parseEther,
  zeroAddress,
} from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lilypadDealsAbi, lilypadDealsBytecode } from '../../src/chain/artifacts/index.js';
import { agree, escrowBalance, withdraw } from '../../src/chain/deals.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { startChain, type TestChain } from './setup.js';

const source = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
/// Calls \`target\` with \`data\` from inside every transfer and records how that call ended.
contract ReentrantToken is ERC20 {
  address public target;
  bytes public data;
  bool public reentered;
  bytes public reentryError;
  constructor() ERC20("Evil", "EVIL") { _mint(msg.sender, 1e30); }
  function arm(address target_, bytes calldata data_) external { target = target_; data = data_; }
  function _update(address from, address to, uint256 value) internal override {
    super._update(from, to, value);
    if (target != address(0) && data.length != 0) {
      bytes memory d = data;
      data = "";
      (bool ok, bytes memory ret) = target.call(d);
      reentered = ok;
      reentryError = ret;
    }
  }
}
/// An ERC-1271 wallet whose signature check tries to settle a deal.
contract GreedyWallet {
  address public immutable deals;
  bytes public data;
  constructor(address deals_) { deals = deals_; }
  function arm(bytes calldata data_) external { data = data_; }
  function isValidSignature(bytes32, bytes calldata) external view returns (bytes4) {
    (bool ok,) = deals.staticcall(data); // a state change here would revert: only view calls can succeed
    return ok ? bytes4(0x1626ba7e) : bytes4(0x1626ba7e);
  }
}`;

type Compiled = { abi: Abi; evm: { bytecode: { object: string } } };
function compile(): Record<string, Compiled> {
  const require = createRequire(import.meta.url);
  const solc = require('solc') as { compile(input: string, cb: unknown): string };
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  const output = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: 'Solidity',
        sources: { 'Evil.sol': { content: source } },
        settings: { evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
      }),
      { import: (path: string) => ({ contents: readFileSync(require.resolve(path), 'utf8') }) },
    ),
  ) as {
    contracts: Record<string, Record<string, Compiled>>;
    errors?: { severity: string; message: string }[];
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  return output.contracts['Evil.sol'] as Record<string, Compiled>;
}

let chain: TestChain;
let compiled: Record<string, Compiled>;

beforeAll(async () => {
  chain = await startChain();
  compiled = compile();
});
afterAll(async () => {
  await chain?.stop();
});

async function deploy(name: string, args: readonly unknown[], abi?: Abi, bytecode?: Hex) {
  const c = compiled[name];
  const hash = await chain.deployer.deployContract({
    abi: abi ?? (c?.abi as Abi),
    bytecode: bytecode ?? (`0x${c?.evm.bytecode.object}` as Hex),
    args,
  });
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  return getAddress(receipt.contractAddress ?? zeroAddress);
}

describe('reentrancy', () => {
  it('a malicious token cannot re-enter a deposit, a withdrawal or a settlement', async () => {
    const tokenAbi = compiled.ReentrantToken?.abi as Abi;
    const token = await deploy('ReentrantToken', []);
    const deals = await deploy('', [token], lilypadDealsAbi, lilypadDealsBytecode);
    const network = { chainId: chain.network.chainId, token, deals };
    const write = async (functionName: string, args: readonly unknown[]) => {
      const hash = await chain.deployer.writeContract({ address: token, abi: tokenAbi, functionName, args });
      await chain.publicClient.waitForTransactionReceipt({ hash });
    };
    const read = (functionName: string) =>
      chain.publicClient.readContract({ address: token, abi: tokenAbi, functionName }) as Promise<unknown>;
    await write('approve', [deals, parseEther('100')]);
    const deal = await chain.makeDeal();
    for (const data of [
      encodeFunctionData({ abi: lilypadDealsAbi, functionName: 'withdraw', args: [1n] }),
      encodeFunctionData({ abi: lilypadDealsAbi, functionName: 'deposit', args: [1n] }),
      encodeFunctionData({ abi: lilypadDealsAbi, functionName: 'accept', args: [deal] }),
      encodeFunctionData({ abi: lilypadDealsAbi, functionName: 'stake', args: [1n] }),
      encodeFunctionData({ abi: lilypadDealsAbi, functionName: 'agree', args: [deal, '0x', '0x'] }),
      encodeFunctionData({
        abi: lilypadDealsAbi,
        functionName: 'agreeMany',
        args: [[{ deal, sigJC: '0x', sigRP: '0x' }]],
      }),
      encodeFunctionData({
        abi: lilypadDealsAbi,
        functionName: 'submitResults',
        args: [[{ deal, resultCID: '0x', instructionCount: 1n }]],
      }),
      encodeFunctionData({ abi: lilypadDealsAbi, functionName: 'requestUnstake', args: [1n] }),
      encodeFunctionData({ abi: lilypadDealsAbi, functionName: 'unstake', args: [1n] }),
    ]) {
      await write('arm', [deals, data]);
      const hash = await chain.deployer.writeContract({
        address: deals,
        abi: lilypadDealsAbi,
        functionName: 'deposit',
        args: [parseEther('1')],
        gas: 1_000_000n,
      });
      expect((await chain.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success');
      expect(await read('reentered')).toBe(false);
      const error = decodeErrorResult({ abi: lilypadDealsAbi, data: (await read('reentryError')) as Hex });
      expect(error.errorName).toBe('ReentrancyGuardReentrantCall');
      // And from inside the withdrawal's transfer.
      await write('arm', [deals, data]);
      await withdraw(chain.deployer, network, 1n);
      expect(await read('reentered')).toBe(false);
    }
    const held = (await chain.publicClient.readContract({
      address: token,
      abi: tokenAbi,
      functionName: 'balanceOf',
      args: [deals],
    })) as bigint;
    const { free, locked } = await escrowBalance(chain.publicClient, network, chain.deployer.account.address);
    expect(held).toBe(free + locked);
  });

  it("an ERC-1271 wallet's callback cannot settle anything (staticcall)", async () => {
    const wallet = await deploy('GreedyWallet', [chain.network.deals]);
    const walletAbi = compiled.GreedyWallet?.abi as Abi;
    const deal = await chain.makeDeal({ jobCreator: wallet });
    const arm = async (data: Hex) => {
      const hash = await chain.deployer.writeContract({
        address: wallet,
        abi: walletAbi,
        functionName: 'arm',
        args: [data],
      });
      await chain.publicClient.waitForTransactionReceipt({ hash });
    };
    // The wallet "approves" any hash but tries to withdraw first: the staticcall forbids the state change, and
    // with no escrow of its own the wallet's agree fails on the money, not by a re-entered settlement.
    await arm(encodeFunctionData({ abi: lilypadDealsAbi, functionName: 'withdraw', args: [1n] }));
    const sigRPForDeal = await chain.sign(deal, devAccount('resourceProvider').privateKey);
    await expect(
      agree(chain.wallet('solver'), chain.network, deal, '0x', sigRPForDeal),
    ).rejects.toMatchObject({
      errorName: 'InsufficientFree',
    });
    await chain.expectInvariant();
  });
});
