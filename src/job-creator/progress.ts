/** What `runJob` reports as a job moves through the protocol, in order. */
import type { Address, Hex } from 'viem';
import type { Deal } from '../protocol/eip712.js';

export type JobProgress =
  | { type: 'job:module-resolved'; module: string; cid: string }
  | { type: 'job:deposited'; amount: bigint; txHash: Hex }
  | { type: 'job:offer-posted'; jobOfferId: Hex }
  | { type: 'job:queued'; reason: string }
  | { type: 'job:matched'; dealId: Hex; deal: Deal; resourceProvider: Address }
  | { type: 'job:agreed'; dealId: Hex; txHash: Hex }
  | { type: 'job:running'; dealId: Hex }
  | { type: 'job:results-submitted'; dealId: Hex; resultCID: string; cost: bigint }
  | { type: 'job:result-verified'; resultCID: string; path: string; blocks: number; bytes: number }
  | {
      type: 'job:checked';
      dealId: Hex;
      check: string;
      challenge: boolean;
      reason: string;
      wallTimeMs?: number;
      instructionCount?: bigint;
    }
  | { type: 'job:accepted'; dealId: Hex; txHash: Hex; cost: bigint }
  | { type: 'job:challenged'; dealId: Hex; txHash: Hex; fee: bigint }
  | { type: 'job:settled'; dealId: Hex; state: string; paid: bigint; received: bigint; summary: string };

export type JobProgressType = JobProgress['type'];
