// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice How a job requested through `LilypadJobs.runJob` ends. Keep in step with `src/bridge/job-status.ts`.
enum LilypadJobStatus {
    None,
    /// Requested, not finished yet.
    Pending,
    /// The result was verified and accepted; `resultCID` names the result folder.
    Succeeded,
    /// The job could not be offered (unknown module, inputs the module refuses).
    Failed,
    /// No resource provider took the job before its offer expired.
    NoMatch,
    /// The resource provider agreed but posted no result in time (`timeoutSubmit`).
    TimedOut,
    /// The result was challenged and the mediators found it wrong.
    Rejected,
    /// The client took its money back after the bridge missed the job's deadline (no callback).
    Cancelled
}

/// @title The callback a contract implements to receive the results of the jobs it asks `LilypadJobs` for
interface ILilypadJobClient {
    /// @notice Called once per job, by the jobs contract only, with at most `LilypadJobs.CALLBACK_GAS` gas. On any
    /// status but `Succeeded` the job's `maxPrice` is back in the client's balance and `resultCID` is empty. A revert
    /// here is recorded (`JobFinished.callbackOk`) and changes nothing else: the job stays finished.
    function onLilypadResult(uint256 jobId, string calldata resultCID, LilypadJobStatus status) external;
}
