/** Default economics, in LP token units (18 decimals). A network may choose others; these are sane. */
import { parseEther } from 'viem';

export const defaults = {
  /** What a job creator puts up by default: the most a job may cost (P). */
  maxPrice: parseEther('10'),
  /** Locked from the job creator only if it challenges; paid by whoever loses the mediation. */
  mediationFee: parseEther('1'),
  /** How alike two traces of a not deterministic module must be for a re-run to confirm a result. */
  traceSimilarityThreshold: 0.9,
  resourceProvider: {
    fixedPrice: parseEther('1'),
    pricePerInstruction: 0n,
    timeoutCollateral: parseEther('2'),
    resultsCollateralMultipleBps: 20_000,
  },
  /** A generous machine for the devnet's provider: 4 CPUs, 8 GiB RAM, 10 GiB disk, no GPU. */
  devnetSpec: { cpu: 4000, gpu: 0, gpuVram: 0, ram: 8192, disk: 10_240 },
} as const;
