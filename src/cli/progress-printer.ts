/** Prints a job's progress as one line per step, with the time since the run began. */
import { formatEther } from 'viem';
import type { JobProgress } from '../job-creator/progress.js';

const short = (hex: string) => (hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex);
const lp = (amount: bigint) => `${formatEther(amount)} LP`;

export function describeProgress(event: JobProgress): string {
  switch (event.type) {
    case 'job:module-resolved':
      return `module ${event.module} is ${event.cid}`;
    case 'job:deposited':
      return `deposited ${lp(event.amount)} into escrow (tx ${short(event.txHash)})`;
    case 'job:offer-posted':
      // In full: `lilypad jobs why <id>` takes it.
      return `job offer posted: ${event.jobOfferId}`;
    case 'job:queued':
      return `waiting for a match: ${event.reason}`;
    case 'job:matched':
      return `matched with resource provider ${short(event.resourceProvider)} (deal ${short(event.dealId)})`;
    case 'job:agreed':
      return `deal agreed on-chain (tx ${short(event.txHash)})`;
    case 'job:running':
      return 'running';
    case 'job:results-submitted':
      return `results submitted: ${event.resultCID} (cost ${lp(event.cost)})`;
    case 'job:result-verified':
      return `result downloaded and verified (${event.blocks} blocks, ${event.bytes} bytes)`;
    case 'job:checked': {
      const cost =
        event.wallTimeMs === undefined
          ? ''
          : ` (the check cost a local run of ${Math.round(event.wallTimeMs)} ms, ${event.instructionCount ?? 0n} instructions)`;
      return `check ${event.check}: ${event.reason}${cost}`;
    }
    case 'job:accepted':
      return `result accepted, paid ${lp(event.cost)} (tx ${short(event.txHash)})`;
    case 'job:challenged':
      return `result challenged: ${lp(event.fee)} mediation fee locked, waiting for the verdict (tx ${short(event.txHash)})`;
    case 'job:settled':
      return `deal settled: ${event.state}: ${event.summary}; paid ${lp(event.paid)}, received ${lp(event.received)}`;
  }
}

export function progressPrinter(write: (line: string) => void, startedAt = performance.now()) {
  return (message: string) => {
    const elapsed = `${Math.round(performance.now() - startedAt)} ms`.padStart(8);
    write(`${elapsed}  ${message}\n`);
  };
}
