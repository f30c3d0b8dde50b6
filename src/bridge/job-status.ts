/** How a contract-requested job ends: `LilypadJobStatus` in contracts/ILilypadJobClient.sol, in the same order. */
export enum JobStatus {
  None = 0,
  Pending = 1,
  Succeeded = 2,
  /** The job could not be offered: an unknown module, or inputs the module refuses. */
  Failed = 3,
  /** No resource provider took it before its offer expired. */
  NoMatch = 4,
  /** The provider agreed but posted no result in time. */
  TimedOut = 5,
  /** The mediators found the result wrong. */
  Rejected = 6,
  /** The client took its money back after the deadline. */
  Cancelled = 7,
}

/** The failures the bridge may report with `reportFailure`. */
export type FailureStatus = JobStatus.Failed | JobStatus.NoMatch | JobStatus.TimedOut | JobStatus.Rejected;
