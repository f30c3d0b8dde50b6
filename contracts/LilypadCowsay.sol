// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ILilypadJobClient, LilypadJobStatus} from "./ILilypadJobClient.sol";
import {LilypadJobs} from "./LilypadJobs.sol";

/// @title An example client: asks Lilypad for a cow and keeps the CID of the result folder
/// @notice Fund it with `jobs.depositFor(address(this), amount)`; each `runCowsay` spends at most `maxPrice`.
contract LilypadCowsay is ILilypadJobClient {
    // solhint-disable-next-line immutable-vars-naming
    LilypadJobs public immutable jobs;
    // solhint-disable-next-line immutable-vars-naming
    uint256 public immutable maxPrice;

    /// @notice The CID of each finished job's result folder (its `stdout` holds the cow); empty on failure.
    mapping(uint256 jobId => string) public results;
    mapping(uint256 jobId => LilypadJobStatus) public statuses;

    event CowsayRequested(uint256 indexed jobId, string message);
    event CowsayFinished(uint256 indexed jobId, LilypadJobStatus status, string resultCID);

    error NotJobsContract(address caller);

    constructor(LilypadJobs jobs_, uint256 maxPrice_) {
        jobs = jobs_;
        maxPrice = maxPrice_;
    }

    function runCowsay(string calldata message) external returns (uint256 jobId) {
        string[] memory inputs = new string[](1);
        inputs[0] = string.concat("Message=", message);
        jobId = jobs.runJob("cowsay:v0.0.1", inputs, maxPrice);
        statuses[jobId] = LilypadJobStatus.Pending;
        emit CowsayRequested(jobId, message);
    }

    function onLilypadResult(uint256 jobId, string calldata resultCID, LilypadJobStatus status) external {
        if (msg.sender != address(jobs)) revert NotJobsContract(msg.sender);
        results[jobId] = resultCID;
        statuses[jobId] = status;
        emit CowsayFinished(jobId, status, resultCID);
    }
}
