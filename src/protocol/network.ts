import type { Address } from 'viem';

/** Where a network lives: the chain, its contracts and the solver. Everything else is derived. */
export type NetworkConfig = {
  chainId: number;
  rpcUrl: string;
  token: Address;
  deals: Address;
  solver: Address;
  solverUrl: string;
  /** The jobs contract smart contracts ask for jobs through (LilypadJobs), where one is deployed. */
  jobs?: Address;
};
