/** The account's wallet: balances, spending, and escrow deposit and withdraw. */
import type { FastifyInstance } from 'fastify';
import { parseEther } from 'viem';
import { parseWire } from '../../protocol/wire.js';
import { authenticate, type WebContext } from '../context.js';
import { amountBody } from '../schemas.js';

export function registerAccountRoutes(app: FastifyInstance, context: WebContext): void {
  const { wallets, accounts, jobs } = context;

  app.get('/api/v1/account/wallet', async (request) => {
    const { account } = authenticate(context, request);
    const balances = await wallets.balances(account.wallet);
    const spent = jobs.costs({ accountId: account.id }).reduce((sum, cost) => sum + cost, 0n);
    return {
      address: account.wallet,
      gas: balances.gas.toString(),
      tokens: balances.tokens.toString(),
      escrowFree: balances.escrowFree.toString(),
      escrowLocked: balances.escrowLocked.toString(),
      spent: spent.toString(),
      faucet: wallets.hasFaucet,
    };
  });

  app.post('/api/v1/account/deposit', async (request) => {
    const { account } = authenticate(context, request);
    const { amount } = parseWire(amountBody, request.body, 'deposit');
    return { txHash: await wallets.deposit(accounts.walletKey(account.id), parseEther(amount)) };
  });

  app.post('/api/v1/account/withdraw', async (request) => {
    const { account } = authenticate(context, request);
    const { amount } = parseWire(amountBody, request.body, 'withdrawal');
    return { txHash: await wallets.withdraw(accounts.walletKey(account.id), parseEther(amount)) };
  });
}
