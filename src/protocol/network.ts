import type { Address } from 'viem';

/** Where a network lives: the chain, its contracts and the solver. Everything else is derived. */
export type NetworkConfig = {
  chainId: number;
  rpcUrl: string;
  token: Address;
  deals: Address;
  /** The block the deal contract was deployed in: chain followers read its events from there (0 when unknown). */
  deployBlock?: number;
  solver: Address;
  solverUrl: string;
  /** The jobs contract smart contracts ask for jobs through (LilypadJobs), where one is deployed. */
  jobs?: Address;
};
