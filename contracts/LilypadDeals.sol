// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title Lilypad deals: escrow balances and the deal state machine
/// @notice Each account deposits the network token once and draws deals from that balance. A deal locks amounts
/// from the parties' balances and unlocks or moves them as it settles: no token transfer per deal step, and one
/// storage write per party per step. At every block:
/// `token.balanceOf(this) == sum(free) + sum(locked)`.
/// @dev Deliberate deviation from PROTOCOL.md: every call after `agree` takes the full `Deal` in calldata (not a
/// deal id) and recomputes its id. The terms live in calldata and in the `DealAgreed` event; storage holds one slot
/// per deal (state, two timestamps and the cost), which keeps the happy path cheap.
/// The contract has no owner and no power over anyone's funds. It assumes a plain ERC-20 (no fee on transfer,
/// no rebasing) whose supply stays below 2^128.
contract LilypadDeals is EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Keep in step with `src/protocol/deal-states.ts`.
    enum DealState {
        None,
        Agreed,
        ResultsSubmitted,
        Accepted,
        TimedOutSubmit,
        Challenged,
        MediationAccepted,
        MediationRejected,
        TimedOutMediate
    }

    /// @notice The deal both parties sign; the same fields, in the same order, as `dealTypes` in
    /// `src/protocol/eip712.ts`.
    struct Deal {
        address jobCreator;
        address resourceProvider;
        address solver;
        address[] mediators;
        bytes32 jobOffer;
        bytes32 resourceOffer;
        uint256 fixedPrice;
        uint256 pricePerInstruction;
        uint256 paymentCollateral;
        uint256 timeoutCollateral;
        uint32 resultsCollateralMultipleBps;
        uint256 mediationFee;
        uint64 submitTimeout;
        uint64 judgeTimeout;
        uint64 mediateTimeout;
        uint64 expiry;
    }

    /// @notice One storage slot per account.
    struct Balance {
        uint128 free;
        uint128 locked;
    }

    /// @notice One storage slot per deal.
    struct DealStatus {
        DealState state;
        uint40 agreedAt;
        uint40 resultsAt;
        uint128 cost;
    }

    bytes32 public constant DEAL_TYPEHASH = keccak256(
        "Deal(address jobCreator,address resourceProvider,address solver,address[] mediators,bytes32 jobOffer,"
        "bytes32 resourceOffer,uint256 fixedPrice,uint256 pricePerInstruction,uint256 paymentCollateral,"
        "uint256 timeoutCollateral,uint32 resultsCollateralMultipleBps,uint256 mediationFee,uint64 submitTimeout,"
        "uint64 judgeTimeout,uint64 mediateTimeout,uint64 expiry)"
    );

    uint256 private constant BPS = 10_000;

    IERC20 public immutable token;

    mapping(address account => Balance) private _balances;

    /// @notice The on-chain status of a deal, by id.
    mapping(bytes32 dealId => DealStatus) public deals;

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event DealStateChanged(bytes32 indexed dealId, uint8 state);
    event DealAgreed(bytes32 indexed dealId, Deal deal);
    event ResultsSubmitted(bytes32 indexed dealId, bytes resultCID, uint256 instructionCount, uint256 cost);

    error InvalidSignature(address signer);
    error WrongState(bytes32 dealId, uint8 state);
    /// @notice The call is allowed only after `deadline` (a unix time in seconds).
    error TooEarly(bytes32 dealId, uint256 deadline);
    /// @notice The call was allowed only until `deadline` (a unix time in seconds).
    error TooLate(bytes32 dealId, uint256 deadline);
    error NotParty(bytes32 dealId, address caller);
    error InsufficientFree(address account, uint256 needed, uint256 free);
    error ZeroAmount();

    constructor(IERC20 token_) EIP712("Lilypad", "1") {
        token = token_;
    }

    // ---- escrow -------------------------------------------------------------------------------------------------

    function deposit(uint256 amount) external {
        _deposit(amount);
    }

    /// @notice Approve (EIP-2612) and deposit in one transaction.
    /// @dev A failed permit is ignored so that a front-run permit cannot block the deposit; `transferFrom` still
    /// needs the allowance.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(amount);
    }

    /// @notice Returns free balance to the caller's wallet; locked amounts stay until their deals settle.
    function withdraw(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Balance memory b = _balances[msg.sender];
        if (b.free < amount) revert InsufficientFree(msg.sender, amount, b.free);
        _balances[msg.sender].free = b.free - uint128(amount);
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    function balanceOf(address account) external view returns (uint128 free, uint128 locked) {
        Balance memory b = _balances[account];
        return (b.free, b.locked);
    }

    // ---- deals --------------------------------------------------------------------------------------------------

    /// @notice The deal's id: its EIP-712 hash, the digest both parties sign.
    function dealId(Deal calldata deal) external view returns (bytes32) {
        return _dealId(deal);
    }

    /// @notice Anyone holding both signatures (solver, job creator or resource provider) starts the deal: locks the
    /// payment collateral P from the job creator and the timeout collateral Ts from the resource provider.
    function agree(Deal calldata deal, bytes calldata sigJC, bytes calldata sigRP) external returns (bytes32 id) {
        id = _dealId(deal);
        DealState state = deals[id].state;
        if (state != DealState.None) revert WrongState(id, uint8(state));
        if (block.timestamp > deal.expiry) revert TooLate(id, deal.expiry);
        if (!SignatureChecker.isValidSignatureNowCalldata(deal.jobCreator, id, sigJC)) {
            revert InvalidSignature(deal.jobCreator);
        }
        if (!SignatureChecker.isValidSignatureNowCalldata(deal.resourceProvider, id, sigRP)) {
            revert InvalidSignature(deal.resourceProvider);
        }
        deals[id] = DealStatus(DealState.Agreed, uint40(block.timestamp), 0, 0);
        _update(deal.jobCreator, 0, 0, deal.paymentCollateral);
        _update(deal.resourceProvider, 0, 0, deal.timeoutCollateral);
        emit DealAgreed(id, deal);
        emit DealStateChanged(id, uint8(DealState.Agreed));
    }

    /// @notice The resource provider posts the result before `agreedAt + submitTimeout`: its timeout collateral is
    /// unlocked and the results collateral R = max(mediationFee, cost * multiple) is locked, in one write.
    function submitResult(Deal calldata deal, bytes calldata resultCID, uint256 instructionCount) external {
        bytes32 id = _dealId(deal);
        DealStatus memory status = deals[id];
        if (status.state != DealState.Agreed) revert WrongState(id, uint8(status.state));
        if (msg.sender != deal.resourceProvider) revert NotParty(id, msg.sender);
        uint256 deadline = uint256(status.agreedAt) + deal.submitTimeout;
        if (block.timestamp > deadline) revert TooLate(id, deadline);
        uint256 cost = _jobCost(deal, instructionCount);
        uint256 timeoutCollateral = deal.timeoutCollateral;
        deals[id] = DealStatus(DealState.ResultsSubmitted, status.agreedAt, uint40(block.timestamp), uint128(cost));
        _update(deal.resourceProvider, timeoutCollateral, timeoutCollateral, _resultsCollateral(deal, cost));
        emit ResultsSubmitted(id, resultCID, instructionCount, cost);
        emit DealStateChanged(id, uint8(DealState.ResultsSubmitted));
    }

    /// @notice The job creator accepts the result: the cost moves to the resource provider, the rest of P and all
    /// of R are unlocked to their owners.
    function accept(Deal calldata deal) external {
        _accept(deal);
    }

    /// @notice `accept` for many deals in one transaction; reverts if any of them cannot be accepted.
    function acceptMany(Deal[] calldata batch) external {
        for (uint256 i = 0; i < batch.length; ++i) {
            _accept(batch[i]);
        }
    }

    /// @notice Anyone, after `agreedAt + submitTimeout` without a result: P goes back to the job creator and the
    /// resource provider's timeout collateral Ts moves to the job creator.
    function timeoutSubmit(Deal calldata deal) external {
        bytes32 id = _dealId(deal);
        DealStatus storage status = deals[id];
        DealState state = status.state;
        if (state != DealState.Agreed) revert WrongState(id, uint8(state));
        uint256 deadline = uint256(status.agreedAt) + deal.submitTimeout;
        if (block.timestamp <= deadline) revert TooEarly(id, deadline);
        status.state = DealState.TimedOutSubmit;
        uint256 payment = deal.paymentCollateral;
        uint256 timeoutCollateral = deal.timeoutCollateral;
        _update(deal.jobCreator, payment, payment + timeoutCollateral, 0);
        _update(deal.resourceProvider, timeoutCollateral, 0, 0);
        emit DealStateChanged(id, uint8(DealState.TimedOutSubmit));
    }

    /// @notice Anyone, after `resultsAt + judgeTimeout` without a verdict from the job creator: silence is
    /// acceptance, with the same money as `accept`.
    function timeoutJudge(Deal calldata deal) external {
        _timeoutJudge(deal);
    }

    /// @notice `timeoutJudge` for many deals in one transaction; reverts if any of them cannot be settled.
    function timeoutJudgeMany(Deal[] calldata batch) external {
        for (uint256 i = 0; i < batch.length; ++i) {
            _timeoutJudge(batch[i]);
        }
    }

    // ---- internals ----------------------------------------------------------------------------------------------

    function _deposit(uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        _update(msg.sender, 0, amount, 0);
        emit Deposited(msg.sender, amount);
    }

    function _accept(Deal calldata deal) private {
        bytes32 id = _dealId(deal);
        DealStatus storage status = deals[id];
        DealState state = status.state;
        if (state != DealState.ResultsSubmitted) revert WrongState(id, uint8(state));
        if (msg.sender != deal.jobCreator) revert NotParty(id, msg.sender);
        _settleAccepted(deal, id, status);
    }

    function _timeoutJudge(Deal calldata deal) private {
        bytes32 id = _dealId(deal);
        DealStatus storage status = deals[id];
        DealState state = status.state;
        if (state != DealState.ResultsSubmitted) revert WrongState(id, uint8(state));
        uint256 deadline = uint256(status.resultsAt) + deal.judgeTimeout;
        if (block.timestamp <= deadline) revert TooEarly(id, deadline);
        _settleAccepted(deal, id, status);
    }

    /// @dev cost JC → RP; P − cost unlocked to JC; R unlocked to RP. R is recomputed from the terms and the stored
    /// cost, exactly as `submitResult` locked it.
    function _settleAccepted(Deal calldata deal, bytes32 id, DealStatus storage status) private {
        uint256 cost = status.cost;
        status.state = DealState.Accepted;
        uint256 payment = deal.paymentCollateral;
        uint256 results = _resultsCollateral(deal, cost);
        _update(deal.jobCreator, payment, payment - cost, 0);
        _update(deal.resourceProvider, results, results + cost, 0);
        emit DealStateChanged(id, uint8(DealState.Accepted));
    }

    /// @dev The one read and one write of an account's balance in a step: `release` leaves the locked amount,
    /// `credit` joins the free amount, then `lock` moves from free to locked. Calls for the same account in one step
    /// (a job creator who is also the provider) compose, because each reads what the previous one wrote.
    function _update(address account, uint256 release, uint256 credit, uint256 lock) private {
        Balance memory b = _balances[account];
        uint256 free = uint256(b.free) + credit;
        if (free < lock) revert InsufficientFree(account, lock, free);
        _balances[account] = Balance(
            SafeCast.toUint128(free - lock), SafeCast.toUint128(uint256(b.locked) - release + lock)
        );
    }

    /// @dev min(P, fixedPrice + pricePerInstruction × instructionCount), without overflow for any count.
    function _jobCost(Deal calldata deal, uint256 instructionCount) private pure returns (uint256) {
        uint256 cap = deal.paymentCollateral;
        uint256 fixedPrice = deal.fixedPrice;
        if (fixedPrice >= cap) return cap;
        uint256 perInstruction = deal.pricePerInstruction;
        if (perInstruction != 0 && instructionCount > (cap - fixedPrice) / perInstruction) return cap;
        return fixedPrice + perInstruction * instructionCount;
    }

    /// @dev max(mediationFee, cost × multiple): a cheater's collateral always covers the mediator.
    function _resultsCollateral(Deal calldata deal, uint256 cost) private pure returns (uint256) {
        uint256 multiple = (cost * deal.resultsCollateralMultipleBps) / BPS;
        uint256 fee = deal.mediationFee;
        return multiple > fee ? multiple : fee;
    }

    /// @dev EIP-712: the struct's static fields are encoded exactly as in its ABI head, so the head is copied from
    /// calldata and the `mediators` offset word is replaced by keccak256 of the packed (32-byte padded) array.
    /// A non-canonical encoding (dirty high bits) only yields a different id, which nobody signed.
    function _dealId(Deal calldata deal) private view returns (bytes32) {
        bytes32 mediatorsHash = keccak256(abi.encodePacked(deal.mediators));
        bytes32 typeHash = DEAL_TYPEHASH;
        bytes32 structHash;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), deal, 0x200)
            mstore(add(m, 0x80), mediatorsHash)
            structHash := keccak256(m, 0x220)
        }
        return _hashTypedDataV4(structHash);
    }
}
