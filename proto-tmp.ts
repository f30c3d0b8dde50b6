// Measures the prototype LeanDeals happy path on anvil (scratch, not part of the project).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  concat,
  encodeAbiParameters,
  type Hex,
  hexToBytes,
  keccak256,
  numberToHex,
  pad,
  parseEther,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  deployContract,
  getBlock,
  readContract,
  waitForTransactionReceipt,
  writeContract,
} from 'viem/actions';
import { startAnvil } from './src/chain/anvil.js';
import { publicClientFor, walletClientFor } from './src/chain/clients.js';
import { type DevRole, devAccount } from './src/chain/dev-accounts.js';
import { type Deal, dealId, dealTypedData } from './src/protocol/eip712.js';
import { devDeal } from './test/fixtures/deal.js';

const require = createRequire(import.meta.url);
const solc = require('solc');
const input = {
  language: 'Solidity',
  sources: { 'LeanDeals.sol': { content: readFileSync('/tmp/gastrace/proto/LeanDeals.sol', 'utf8') } },
  settings: {
    optimizer: { enabled: true, runs: 20000 },
    viaIR: true,
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const out = JSON.parse(
  solc.compile(JSON.stringify(input), {
    import: (p: string) => ({ contents: readFileSync(require.resolve(p), 'utf8') }),
  }),
);
for (const e of out.errors ?? [])
  if (e.severity === 'error') {
    console.error(e.formattedMessage);
    process.exit(1);
  }
const c = out.contracts['LeanDeals.sol'].LeanDeals;
const abi = c.abi;
const bytecode = `0x${c.evm.bytecode.object}` as Hex;
const CID = '0x01551220aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899' as Hex;
const cdGas = (h: Hex) => {
  let g = 0;
  for (const b of hexToBytes(h)) g += b === 0 ? 4 : 16;
  return g;
};

import { spawn } from 'node:child_process';
import { anvilBinary } from './src/chain/anvil.js';

const port = 19545 + Math.floor(Math.random() * 1000);
const proc = spawn(
  anvilBinary(),
  ['--host', '127.0.0.1', '--port', String(port), '--steps-tracing', '--silent'],
  { stdio: 'ignore' },
);
await new Promise((r) => setTimeout(r, 1500));
const anvil = {
  rpcUrl: `http://127.0.0.1:${port}`,
  chainId: 31337,
  stop: async () => {
    proc.kill();
  },
};
try {
  const client = publicClientFor(anvil.rpcUrl, anvil.chainId);
  const wallet = (r: DevRole) => walletClientFor(anvil.rpcUrl, anvil.chainId, devAccount(r).privateKey);
  const dep = wallet('deployer');
  const h = await deployContract(dep, { abi, bytecode, account: dep.account!, chain: dep.chain });
  const address = (await waitForTransactionReceipt(client, { hash: h })).contractAddress!;
  const send = async (r: DevRole, functionName: string, args: unknown[]) => {
    const w = wallet(r);
    const hash = await writeContract(w, {
      address,
      abi,
      functionName,
      args,
      account: w.account!,
      chain: w.chain,
    } as never);
    const rc = await waitForTransactionReceipt(client, { hash });
    if (rc.status !== 'success') throw new Error(`${functionName} reverted`);
    if (process.env.TRACE) {
      const t = (await client.request({
        method: 'debug_traceTransaction' as never,
        params: [hash, {}] as never,
      })) as any;
      const tx = await client.getTransaction({ hash });
      const logs = t.structLogs;
      const by: Record<string, number> = {};
      let exec = 0;
      for (let i = 0; i < logs.length; i++) {
        const l = logs[i];
        const n = logs[i + 1];
        const cost = n && n.depth === l.depth ? l.gas - n.gas : l.gasCost;
        by[l.op] = (by[l.op] ?? 0) + cost;
        exec += cost;
      }
      const st = (by.SSTORE ?? 0) + (by.SLOAD ?? 0);
      const lg = Object.entries(by)
        .filter(([k]) => k.startsWith('LOG'))
        .reduce((a, [, v]) => a + v, 0);
      console.log(
        functionName,
        'gas',
        rc.gasUsed,
        'calldata',
        cdGas(tx.input),
        'storage',
        st,
        'logs',
        lg,
        'staticcall',
        by.STATICCALL ?? 0,
        'other',
        exec - st - lg - (by.STATICCALL ?? 0),
      );
    }
    return rc.gasUsed;
  };
  for (const r of ['jobCreator', 'resourceProvider'] as const)
    await send('deployer', 'fund', [devAccount(r).address, parseEther('10000')]);
  const network = { chainId: anvil.chainId, deals: address, token: address };
  const u = (v: bigint, n: number) => pad(numberToHex(v), { size: n });
  const terms = (d: Deal) =>
    concat([
      d.jobCreator,
      d.resourceProvider,
      keccak256(
        encodeAbiParameters(
          d.mediators.map(() => ({ type: 'address' })),
          d.mediators,
        ),
      ),
      u(BigInt(d.mediatorsDrawn), 1),
      u(BigInt(d.verdictsNeeded), 1),
      u(d.fixedPrice, 16),
      u(d.pricePerInstruction, 16),
      u(d.paymentCollateral, 16),
      u(d.timeoutCollateral, 16),
      u(BigInt(d.resultsCollateralMultipleBps), 4),
      u(d.mediationFee, 16),
      u(d.submitTimeout, 8),
      u(d.judgeTimeout, 8),
      u(d.mediateTimeout, 8),
    ]);
  const sign = (d: Deal, r: DevRole) =>
    privateKeyToAccount(devAccount(r).privateKey).signTypedData(dealTypedData(network, d));
  let k = 0;
  const run = async () => {
    const d = devDeal(`p ${++k}`, (await getBlock(client)).timestamp + 3600n);
    const t = terms(d);
    const packed = concat([
      t,
      d.solver,
      d.jobOffer,
      d.resourceOffer,
      u(d.expiry, 8),
      u(BigInt(d.mediators.length), 1),
      ...d.mediators,
      await sign(d, 'jobCreator'),
      await sign(d, 'resourceProvider'),
    ]);
    const a = await send('solver', 'agree', [packed]);
    const id = dealId(network, d);
    const s = await send('resourceProvider', 'submitResult', [id, t, CID, 123_456_789n]);
    const cost = 1_000_000_000_000_000_000n + 1_000_000n * 123_456_789n;
    const x = await send('jobCreator', 'accept', [id, concat([t, u(cost, 16)])]);
    return { a, s, x, cdA: cdGas(packed) };
  };
  await run();
  const r = await run();
  console.log({
    agree: r.a,
    submitResult: r.s,
    accept: r.x,
    total: r.a + r.s + r.x,
    packedAgreeCalldataGas: r.cdA,
  });
} finally {
  await anvil.stop();
}
process.exit(0);
