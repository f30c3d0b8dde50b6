/**
 * Gas of the deal contract on anvil: per function (the three timeouts too), per job on the happy path (agree +
 * submitResult + accept), in batches of 50 deals (agreeMany + submitResults + acceptMany), on the mediation path
 * (agree + submitResult + challenge + verdict, k = 1), and the deployment of all contracts.
 */
import { createTestClient, type Hex, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { startAnvil } from '../src/chain/anvil.js';
import { chainFor, publicClientFor, walletClientFor } from '../src/chain/clients.js';
import {
  accept,
  acceptMany,
  agree,
  agreeMany,
  challenge,
  Role,
  register,
  stake,
  submitResult,
  submitResults,
  timeoutJudge,
  timeoutMediate,
  timeoutSubmit,
  verdict,
} from '../src/chain/deals.js';
import { deployContracts, fundDevNetwork } from '../src/chain/deploy.js';
import { type DevRole, devAccount, devAccounts } from '../src/chain/dev-accounts.js';
import { type Deal, dealTypedData } from '../src/protocol/eip712.js';
import { devDeal } from '../test/fixtures/deal.js';

export const name = 'contracts-gas';
const BATCH = 50;
const CID = '0x01551220aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899' as Hex;

export async function run(): Promise<Record<string, number>> {
  const anvil = await startAnvil();
  try {
    const client = publicClientFor(anvil.rpcUrl, anvil.chainId);
    const wallet = (role: DevRole) =>
      walletClientFor(anvil.rpcUrl, anvil.chainId, devAccount(role).privateKey);
    const deployer = wallet('deployer');
    const before = await client.getBlockNumber();
    const contracts = await deployContracts(deployer, client);
    let deployGas = 0n;
    for (let b = before + 1n; b <= (await client.getBlockNumber()); b++) {
      const block = await client.getBlock({ blockNumber: b });
      deployGas += block.gasUsed;
    }
    const network = { chainId: anvil.chainId, ...contracts };
    await fundDevNetwork({
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chainId,
      ...contracts,
      accounts: devAccounts.filter((a) => a.role !== 'deployer'),
      amountLP: parseEther('10000'),
    });
    await register(wallet('mediator'), network, Role.mediator, 'http://mediator.example');
    await stake(wallet('mediator'), network, parseEther('100'));

    let counter = 0;
    const now = async () => (await client.getBlock()).timestamp;
    const makeDeal = async (): Promise<Deal> => devDeal(`bench ${++counter}`, (await now()) + 3600n);
    const sign = (deal: Deal, role: DevRole) =>
      privateKeyToAccount(devAccount(role).privateKey).signTypedData(dealTypedData(network, deal));
    const agreed = async () => {
      const deal = await makeDeal();
      const { gasUsed } = await agree(
        wallet('solver'),
        network,
        deal,
        await sign(deal, 'jobCreator'),
        await sign(deal, 'resourceProvider'),
      );
      return { deal, agreeGas: gasUsed };
    };
    const submitted = async () => {
      const { deal, agreeGas } = await agreed();
      const { gasUsed } = await submitResult(wallet('resourceProvider'), network, deal, CID, 123_456_789n);
      return { deal, agreeGas, submitGas: gasUsed };
    };

    // Warm-up: the first deal of each account pays for fresh storage that later deals do not.
    await accept(wallet('jobCreator'), network, (await submitted()).deal);

    const happy = await submitted();
    const acceptGas = (await accept(wallet('jobCreator'), network, happy.deal)).gasUsed;

    const batch: Deal[] = [];
    for (let i = 0; i < BATCH; i++) batch.push(await makeDeal());
    const signed = await Promise.all(
      batch.map(async (deal) => ({
        deal,
        sigJC: await sign(deal, 'jobCreator'),
        sigRP: await sign(deal, 'resourceProvider'),
      })),
    );
    const agreeManyGas = (await agreeMany(wallet('solver'), network, signed)).gasUsed;
    const results = batch.map((deal) => ({ deal, resultCID: CID, instructionCount: 123_456_789n }));
    const submitResultsGas = (await submitResults(wallet('resourceProvider'), network, results)).gasUsed;
    const acceptManyGas = (await acceptMany(wallet('jobCreator'), network, batch)).gasUsed;

    const disputed = await submitted();
    const challengeGas = (await challenge(wallet('jobCreator'), network, disputed.deal)).gasUsed;
    const verdictGas = (await verdict(wallet('mediator' as DevRole), network, disputed.deal, true)).gasUsed;

    // Each timeout on a deal of its own, once the deal's 600 s window has passed.
    const testClient = createTestClient({
      mode: 'anvil',
      chain: chainFor(anvil.chainId, anvil.rpcUrl),
      transport: http(anvil.rpcUrl),
    });
    const late = async () => {
      await testClient.increaseTime({ seconds: 601 });
      await testClient.mine({ blocks: 1 });
    };
    const unsubmitted = (await agreed()).deal;
    const unjudged = (await submitted()).deal;
    const unmediated = (await submitted()).deal;
    await challenge(wallet('jobCreator'), network, unmediated);
    await late();
    const timeoutSubmitGas = (await timeoutSubmit(wallet('solver'), network, unsubmitted)).gasUsed;
    const timeoutJudgeGas = (await timeoutJudge(wallet('solver'), network, unjudged)).gasUsed;
    const timeoutMediateGas = (await timeoutMediate(wallet('solver'), network, unmediated)).gasUsed;

    const figures = {
      gas_agree: happy.agreeGas,
      gas_submit_result: happy.submitGas,
      gas_accept: acceptGas,
      gas_agree_many_50: agreeManyGas,
      gas_submit_results_50: submitResultsGas,
      gas_accept_many_50: acceptManyGas,
      gas_challenge: challengeGas,
      gas_verdict_k1: verdictGas,
      gas_timeout_submit: timeoutSubmitGas,
      gas_timeout_judge: timeoutJudgeGas,
      gas_timeout_mediate: timeoutMediateGas,
      gas_happy_path_per_job: happy.agreeGas + happy.submitGas + acceptGas,
      gas_happy_path_batched_per_job: (agreeManyGas + submitResultsGas + acceptManyGas) / BigInt(BATCH),
      gas_mediation_path_per_job: disputed.agreeGas + disputed.submitGas + challengeGas + verdictGas,
      gas_deploy_total: deployGas,
    } satisfies Record<string, bigint>;
    return Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number(v)]));
  } finally {
    await anvil.stop();
  }
}

// `tsx bench/contracts-gas.bench.ts` prints the figures alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await run());
  process.exit(0);
}
