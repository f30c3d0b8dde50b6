// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ILilypadJobClient, LilypadJobStatus} from "./ILilypadJobClient.sol";
import {LilypadDeals} from "./LilypadDeals.sol";

/// @title Lilypad jobs for smart contracts: a contract asks for a job, the bridge runs it and calls back
/// @notice `runJob` takes `maxPrice` from the caller (its balance here, else its token allowance) and emits
/// `JobRequested`. The bridge (one account, fixed at deployment) runs the job as an ordinary job creator, fronting
/// the deal from its own escrow in `LilypadDeals`, then calls `deliverResult` or `reportFailure`: the job finishes
/// exactly once, the money is settled in this contract's ledger, and the client's `onLilypadResult` is called with a
/// fixed gas limit. What the contract checks and what it trusts the bridge with: see contracts/README.md.
contract LilypadJobs is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice One storage slot per job.
    struct Job {
        address client;
        uint40 requestedAt;
        LilypadJobStatus status;
        uint128 maxPrice;
    }

    /// @notice The gas the client's callback gets: enough to store a CID and emit an event.
    uint256 public constant CALLBACK_GAS = 200_000;
    /// @notice After this long without a result the client may `cancel` the job and take its money back.
    uint256 public constant JOB_DEADLINE = 1 days;

    /// @dev What a call needs beyond the callback's own gas: the 1/64 kept back (EIP-150) and the call's cost.
    uint256 private constant CALL_OVERHEAD = 10_000;

    // Named like the public getters clients call.
    // solhint-disable-next-line immutable-vars-naming
    LilypadDeals public immutable deals;
    // solhint-disable-next-line immutable-vars-naming
    IERC20 public immutable token;
    // solhint-disable-next-line immutable-vars-naming
    address public immutable bridge;

    /// @notice Tokens an account holds here: what clients pay jobs from, refunds, and the bridge's earnings.
    mapping(address account => uint256) public balanceOf;
    mapping(uint256 jobId => Job) public jobs;
    /// @notice Deals already used to settle a job: one deal pays for one job.
    mapping(bytes32 dealId => bool) public dealUsed;
    /// @notice The number of jobs requested so far; job ids are 1, 2, 3, …
    uint256 public jobCount;

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice `inputs` are `Name=value` pairs, as `lilypad run -i` takes them.
    event JobRequested(uint256 indexed jobId, address indexed client, string module, string[] inputs, uint256 maxPrice);
    /// @notice The job's one end. `callbackOk` is false when the client's callback reverted or ran out of gas.
    event JobFinished(
        uint256 indexed jobId,
        LilypadJobStatus status,
        string resultCID,
        bytes32 dealId,
        uint256 cost,
        bool callbackOk
    );

    error NotBridge(address caller);
    error NotClient(uint256 jobId, address caller);
    error NotPending(uint256 jobId, LilypadJobStatus status);
    /// @notice Only `Failed`, `NoMatch`, `TimedOut` and `Rejected` are failures the bridge can report.
    error NotAFailure(LilypadJobStatus status);
    error NotBridgeDeal(bytes32 dealId, address jobCreator);
    error DealNotAccepted(bytes32 dealId, LilypadDeals.DealState state);
    error DealAlreadyUsed(bytes32 dealId);
    error OverMaxPrice(bytes32 dealId, uint256 paymentCollateral, uint256 maxPrice);
    error InsufficientBalance(address account, uint256 needed, uint256 balance);
    /// @notice The job may be cancelled only after `deadline` (a unix time in seconds).
    error TooEarly(uint256 jobId, uint256 deadline);
    /// @notice The transaction did not carry enough gas to give the callback its `CALLBACK_GAS`.
    error CallbackGasTooLow(uint256 gasLeft);
    error ZeroAmount();

    modifier onlyBridge() {
        if (msg.sender != bridge) revert NotBridge(msg.sender);
        _;
    }

    constructor(LilypadDeals deals_, address bridge_) {
        deals = deals_;
        token = deals_.token();
        bridge = bridge_;
    }

    // ---- balances -----------------------------------------------------------------------------------------------

    function deposit(uint256 amount) external {
        depositFor(msg.sender, amount);
    }

    /// @notice Pays `amount` from the caller's wallet into `account`'s balance here (funding a client contract).
    function depositFor(address account, uint256 amount) public {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        balanceOf[account] += amount;
        emit Deposited(account, amount);
    }

    function withdraw(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = balanceOf[msg.sender];
        if (balance < amount) revert InsufficientBalance(msg.sender, amount, balance);
        unchecked {
            balanceOf[msg.sender] = balance - amount;
        }
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ---- jobs ---------------------------------------------------------------------------------------------------

    /// @notice Asks for a job: `module` as `lilypad run` takes it (`cowsay:v0.0.1`), `inputs` as `Name=value`
    /// pairs. `maxPrice` (the most the job may cost) comes from the caller's balance here when it covers it, else
    /// from its token allowance to this contract. The result comes back through `onLilypadResult`.
    function runJob(string calldata module, string[] calldata inputs, uint256 maxPrice)
        external
        returns (uint256 jobId)
    {
        if (maxPrice == 0) revert ZeroAmount();
        uint256 balance = balanceOf[msg.sender];
        if (balance >= maxPrice) {
            unchecked {
                balanceOf[msg.sender] = balance - maxPrice;
            }
        } else {
            token.safeTransferFrom(msg.sender, address(this), maxPrice);
        }
        jobId = ++jobCount;
        jobs[jobId] =
            Job(msg.sender, uint40(block.timestamp), LilypadJobStatus.Pending, SafeCast.toUint128(maxPrice));
        emit JobRequested(jobId, msg.sender, module, inputs, maxPrice);
    }

    /// @notice The bridge settles a job with the deal it ran it in: a deal of the bridge's, accepted on-chain, within
    /// the job's `maxPrice` and not used for any other job. The deal's cost goes to the bridge, the rest of
    /// `maxPrice` back to the client, and the client is called back with the result's CID.
    function deliverResult(uint256 jobId, LilypadDeals.Deal calldata deal, string calldata resultCID)
        external
        onlyBridge
        nonReentrant
    {
        Job memory job = _pending(jobId);
        bytes32 id = deals.dealId(deal);
        if (deal.jobCreator != bridge) revert NotBridgeDeal(id, deal.jobCreator);
        if (deal.paymentCollateral > job.maxPrice) revert OverMaxPrice(id, deal.paymentCollateral, job.maxPrice);
        if (dealUsed[id]) revert DealAlreadyUsed(id);
        (LilypadDeals.DealState state,,, uint128 cost) = deals.deals(id);
        if (state != LilypadDeals.DealState.Accepted && state != LilypadDeals.DealState.MediationAccepted) {
            revert DealNotAccepted(id, state);
        }
        dealUsed[id] = true;
        jobs[jobId].status = LilypadJobStatus.Succeeded;
        balanceOf[bridge] += cost;
        // cost <= paymentCollateral <= maxPrice
        balanceOf[job.client] += job.maxPrice - cost;
        _callBack(jobId, job.client, resultCID, LilypadJobStatus.Succeeded, id, cost);
    }

    /// @notice The bridge reports a job that ended without a result: all of `maxPrice` goes back to the client.
    function reportFailure(uint256 jobId, LilypadJobStatus status) external onlyBridge nonReentrant {
        if (
            status != LilypadJobStatus.Failed && status != LilypadJobStatus.NoMatch
                && status != LilypadJobStatus.TimedOut && status != LilypadJobStatus.Rejected
        ) revert NotAFailure(status);
        Job memory job = _pending(jobId);
        jobs[jobId].status = status;
        balanceOf[job.client] += job.maxPrice;
        _callBack(jobId, job.client, "", status, bytes32(0), 0);
    }

    /// @notice The client takes `maxPrice` back when the bridge has not finished the job within `JOB_DEADLINE`.
    /// No callback: the client is the caller.
    function cancel(uint256 jobId) external nonReentrant {
        Job memory job = _pending(jobId);
        if (msg.sender != job.client) revert NotClient(jobId, msg.sender);
        uint256 deadline = uint256(job.requestedAt) + JOB_DEADLINE;
        if (block.timestamp <= deadline) revert TooEarly(jobId, deadline);
        jobs[jobId].status = LilypadJobStatus.Cancelled;
        balanceOf[job.client] += job.maxPrice;
        emit JobFinished(jobId, LilypadJobStatus.Cancelled, "", bytes32(0), 0, false);
    }

    // ---- internals ----------------------------------------------------------------------------------------------

    function _pending(uint256 jobId) private view returns (Job memory job) {
        job = jobs[jobId];
        if (job.status != LilypadJobStatus.Pending) revert NotPending(jobId, job.status);
    }

    /// @dev Called last, with every state change done. The callback gets exactly CALLBACK_GAS (the transaction must
    /// carry enough, so the bridge cannot starve it), its return data is not copied (no return-data bomb), and its
    /// revert is recorded, not propagated: a failing client cannot block its own job, others, or the bridge.
    function _callBack(
        uint256 jobId,
        address client,
        string memory resultCID,
        LilypadJobStatus status,
        bytes32 id,
        uint256 cost
    ) private {
        bytes memory data = abi.encodeCall(ILilypadJobClient.onLilypadResult, (jobId, resultCID, status));
        if (gasleft() < CALLBACK_GAS + CALLBACK_GAS / 63 + CALL_OVERHEAD) revert CallbackGasTooLow(gasleft());
        uint256 gasLimit = CALLBACK_GAS;
        bool ok;
        assembly ("memory-safe") {
            ok := call(gasLimit, client, 0, add(data, 0x20), mload(data), 0, 0)
        }
        emit JobFinished(jobId, status, resultCID, id, cost, ok);
    }
}
