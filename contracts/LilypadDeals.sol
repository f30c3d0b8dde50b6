// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title Lilypad deals: escrow balances, the deal state machine, mediation and the users' registry
/// @notice Each account deposits the network token once and draws deals from that balance. A deal locks amounts
/// from the parties' balances and unlocks or moves them as it settles: no token transfer per deal step, and one
/// storage write per party per step. At every block: `token.balanceOf(this) == sum(free) + sum(locked)`.
/// The money of every transition is exactly that of `src/protocol/settlement.ts` (the reference model).
/// @dev Deliberate deviation from PROTOCOL.md: every call after `agree` takes the full `Deal` in calldata (not a
/// deal id) and recomputes its id. The terms live in calldata (of the `agree` transaction too); storage holds one
/// slot per deal (state, two timestamps and the cost), which keeps the happy path cheap.
/// There is no owner and no pause: nobody has any power over anyone's free or locked funds, and no parameter can
/// be changed after deployment (see contracts/README.md). The contract assumes a plain ERC-20 (no fee on transfer,
/// no rebasing) whose supply stays below 2^128.
contract LilypadDeals is EIP712, ReentrancyGuardTransient {
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
    /// `src/protocol/eip712.ts`. `mediatorsDrawn` (n) of the `mediators` are drawn at a challenge and
    /// `verdictsNeeded` (k) matching verdicts decide.
    struct Deal {
        address jobCreator;
        address resourceProvider;
        address solver;
        address[] mediators;
        uint8 mediatorsDrawn;
        uint8 verdictsNeeded;
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

    /// @notice A deal with both parties' signatures, as `agreeMany` takes it.
    struct SignedDeal {
        Deal deal;
        bytes sigJC;
        bytes sigRP;
    }

    /// @notice A deal's result, as `submitResults` takes it.
    struct DealResult {
        Deal deal;
        bytes resultCID;
        uint256 instructionCount;
    }

    /// @notice One storage slot per account.
    struct Balance {
        uint128 free;
        uint128 locked;
    }


    /// @notice One slot per challenged deal: bit i of a mask is `deal.mediators[i]`.
    struct Mediation {
        uint40 challengedAt;
        uint64 drawn;
        uint64 votedCorrect;
        uint64 votedWrong;
    }

    /// @notice The users' registry: roles (bit flags) and, for mediators, the stake (a part of `locked`), how many
    /// mediations they are drawn in and have not settled yet, and the pending unstake request: `unstaking` of the
    /// stake can be taken back from `unstakeAt` on. The first slot is what a challenge reads; the service URL is
    /// kept apart.
    struct User {
        uint128 stake;
        uint32 openMediations;
        uint8 roles;
        uint40 unstakeAt;
        uint128 unstaking;
    }

    // The type string is hashed at compile time: its length costs no gas.
    // solhint-disable-next-line gas-small-strings
    bytes32 public constant DEAL_TYPEHASH = keccak256(
        "Deal(address jobCreator,address resourceProvider,address solver,address[] mediators,uint8 mediatorsDrawn,"
        "uint8 verdictsNeeded,bytes32 jobOffer,bytes32 resourceOffer,uint256 fixedPrice,uint256 pricePerInstruction,"
        "uint256 paymentCollateral,uint256 timeoutCollateral,uint32 resultsCollateralMultipleBps,"
        "uint256 mediationFee,uint64 submitTimeout,uint64 judgeTimeout,uint64 mediateTimeout,uint64 expiry)"
    );

    uint8 public constant ROLE_SOLVER = 1;
    uint8 public constant ROLE_RESOURCE_PROVIDER = 2;
    uint8 public constant ROLE_MEDIATOR = 4;
    /// @notice At most this many mediators in a deal (the masks of `Mediation` are 64 bits).
    uint256 public constant MAX_MEDIATORS = 64;
    /// @notice A mediator announces an unstake this long before it can take the stake back: a deal that names it can
    /// rely on its stake until then (and, once drawn, until the mediation settles).
    uint256 public constant UNSTAKE_DELAY = 7 days;

    uint256 private constant BPS = 10_000;
    /// @dev The number of static words in the ABI head of `Deal` (every field; `mediators` is an offset).
    uint256 private constant DEAL_HEAD_BYTES = 18 * 32;

    /// @dev Named `token` (not TOKEN) because `token()` is the public getter clients call.
    // solhint-disable-next-line immutable-vars-naming
    IERC20 public immutable token;

    mapping(address account => Balance) private _balances;

    /// @dev One storage word per deal: state in bits 0-7, agreedAt 8-47, resultsAt 48-87 and cost 88-215 (see
    /// `deals`). A plain word, not a struct, so that a transition writes the slot without reading it again.
    mapping(bytes32 dealId => uint256 word) private _dealWords;

    /// @notice The mediation of a challenged deal, by id.
    mapping(bytes32 dealId => Mediation) public mediations;

    /// @notice Roles, stake and open mediations of a registered account.
    mapping(address account => User) public users;

    /// @notice The service URL an account registered (a solver's API, for example).
    mapping(address account => string) public serviceUrls;

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event UserRegistered(address indexed account, uint8 roles, string url);
    event StakeChanged(address indexed mediator, uint256 stake);
    /// @notice `amount` of the stake can be taken back from `availableAt` on (a later request replaces it).
    event UnstakeRequested(address indexed mediator, uint256 amount, uint256 availableAt);
    /// @notice Emitted by every transition, with the state the deal is in after it.
    event DealStateChanged(bytes32 indexed dealId, uint8 state);
    event ResultsSubmitted(bytes32 indexed dealId, bytes resultCID, uint256 instructionCount, uint256 cost);
    /// @notice One per mediator drawn at a challenge, so a mediator can follow its own address.
    event MediatorDrawn(bytes32 indexed dealId, address indexed mediator);
    event VerdictGiven(bytes32 indexed dealId, address indexed mediator, bool resultCorrect);
    event MediatorSlashed(bytes32 indexed dealId, address indexed mediator, uint256 amount);

    error InvalidSignature(address signer);
    error WrongState(bytes32 dealId, uint8 state);
    /// @notice The call is allowed only after `deadline` (a unix time in seconds).
    error TooEarly(bytes32 dealId, uint256 deadline);
    /// @notice The call was allowed only until `deadline` (a unix time in seconds).
    error TooLate(bytes32 dealId, uint256 deadline);
    error NotParty(bytes32 dealId, address caller);
    /// @notice The caller is not one of the mediators drawn for this deal.
    error NotDrawnMediator(bytes32 dealId, address caller);
    error AlreadyVoted(bytes32 dealId, address mediator);
    /// @notice The deal's k-of-n terms are impossible: 1 <= k <= n <= mediators.length <= MAX_MEDIATORS.
    error InvalidMediationTerms(bytes32 dealId);
    /// @notice Fewer than n of the deal's mediators are registered with a stake of at least the mediation fee.
    error NotEnoughMediators(bytes32 dealId, uint256 eligible, uint256 needed);
    error InsufficientFree(address account, uint256 needed, uint256 free);
    error InsufficientStake(address account, uint256 needed, uint256 stake);
    /// @notice A mediator drawn in an unsettled mediation cannot take stake back.
    error MediationsOpen(address mediator, uint256 open);
    /// @notice `unstake` needs an earlier `requestUnstake` of at least the amount.
    error UnstakeNotRequested(address mediator, uint256 amount, uint256 requested);
    /// @notice The requested unstake is allowed only from `availableAt` on (a unix time in seconds).
    error UnstakeNotReady(address mediator, uint256 availableAt);
    error ZeroAmount();

    constructor(IERC20 token_) EIP712("Lilypad", "1") {
        token = token_;
    }

    /// @dev The settlement functions make no external call but a `staticcall` (ERC-1271); this makes sure none
    /// of them runs inside a deposit or a withdrawal's token call.
    modifier notInTokenCall() {
        if (_reentrancyGuardEntered()) revert ReentrancyGuardReentrantCall();
        _;
    }

    // ---- escrow -------------------------------------------------------------------------------------------------

    function deposit(uint256 amount) external nonReentrant {
        _deposit(amount);
    }

    /// @notice Approve (EIP-2612) and deposit in one transaction.
    /// @dev A failed permit is ignored so that a front-run permit cannot block the deposit; `transferFrom` still
    /// needs the allowance.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        // solhint-disable-next-line no-empty-blocks
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(amount);
    }

    /// @notice Returns free balance to the caller's wallet; locked amounts stay until their deals settle.
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Balance memory b = _balances[msg.sender];
        if (b.free < amount) revert InsufficientFree(msg.sender, amount, b.free);
        unchecked {
            _balances[msg.sender].free = b.free - uint128(amount);
        }
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    function balanceOf(address account) external view returns (uint128 free, uint128 locked) {
        Balance memory b = _balances[account];
        return (b.free, b.locked);
    }

    // ---- users' registry ----------------------------------------------------------------------------------------

    /// @notice Registers (or re-registers) the caller's roles (`ROLE_*` flags) and service URL. Clients find a
    /// solver's URL here from its address.
    function register(uint8 roles, string calldata url) external {
        users[msg.sender].roles = roles;
        serviceUrls[msg.sender] = url;
        emit UserRegistered(msg.sender, roles, url);
    }

    /// @notice Moves `amount` of the caller's free balance into its mediator stake (still counted as locked).
    function stake(uint256 amount) external notInTokenCall {
        if (amount == 0) revert ZeroAmount();
        User storage user = users[msg.sender];
        uint256 staked = uint256(user.stake) + amount;
        user.stake = SafeCast.toUint128(staked);
        _update(msg.sender, 0, 0, amount);
        emit StakeChanged(msg.sender, staked);
    }

    /// @notice Announces that `amount` of the caller's stake will be taken back, from `UNSTAKE_DELAY` after now on;
    /// replaces an earlier request. The stake stays whole, drawable and slashable until `unstake`.
    function requestUnstake(uint256 amount) external notInTokenCall {
        if (amount == 0) revert ZeroAmount();
        User storage user = users[msg.sender];
        uint256 staked = user.stake;
        if (staked < amount) revert InsufficientStake(msg.sender, amount, staked);
        uint256 availableAt = block.timestamp + UNSTAKE_DELAY;
        user.unstakeAt = uint40(availableAt);
        user.unstaking = uint128(amount);
        emit UnstakeRequested(msg.sender, amount, availableAt);
    }

    /// @notice Takes requested stake back into the free balance, once the request's delay has passed; refused while
    /// the caller is drawn in an open mediation.
    function unstake(uint256 amount) external notInTokenCall {
        if (amount == 0) revert ZeroAmount();
        User storage user = users[msg.sender];
        User memory u = user;
        if (u.unstaking < amount) revert UnstakeNotRequested(msg.sender, amount, u.unstaking);
        if (block.timestamp < u.unstakeAt) revert UnstakeNotReady(msg.sender, u.unstakeAt);
        if (u.openMediations != 0) revert MediationsOpen(msg.sender, u.openMediations);
        // A slash since the request may have left less than was requested.
        if (u.stake < amount) revert InsufficientStake(msg.sender, amount, u.stake);
        unchecked {
            user.stake = u.stake - uint128(amount);
            user.unstaking = u.unstaking - uint128(amount);
        }
        _update(msg.sender, amount, amount, 0);
        emit StakeChanged(msg.sender, u.stake - amount);
    }

    // ---- deals --------------------------------------------------------------------------------------------------

    /// @notice The on-chain status of a deal, by id.
    function deals(bytes32 id)
        external
        view
        returns (DealState state, uint40 agreedAt, uint40 resultsAt, uint128 cost)
    {
        uint256 word = _dealWords[id];
        return (_stateOf(word), uint40(_agreedAtOf(word)), uint40(_resultsAtOf(word)), uint128(_costOf(word)));
    }

    /// @notice The deal's id: its EIP-712 hash, the digest both parties sign.
    function dealId(Deal calldata deal) external view returns (bytes32) {
        return _dealId(deal);
    }

    /// @notice Anyone holding both signatures (solver, job creator or resource provider) starts the deal: locks the
    /// payment collateral P from the job creator and the timeout collateral Ts from the resource provider.
    function agree(Deal calldata deal, bytes calldata sigJC, bytes calldata sigRP)
        external
        notInTokenCall
        returns (bytes32 id)
    {
        return _agree(deal, sigJC, sigRP);
    }

    /// @notice `agree` for many deals in one transaction (a solver's batch); reverts if any of them cannot be agreed.
    function agreeMany(SignedDeal[] calldata batch) external notInTokenCall {
        uint256 length = batch.length;
        for (uint256 i = 0; i < length; ++i) {
            SignedDeal calldata signed = batch[i];
            _agree(signed.deal, signed.sigJC, signed.sigRP);
        }
    }

    /// @notice The resource provider posts the result until `agreedAt + submitTimeout`: its timeout collateral is
    /// unlocked and the results collateral R = max(mediationFee, cost * multiple) is locked, in one write. The
    /// `ResultsSubmitted` event is the transition's event (state ResultsSubmitted).
    function submitResult(Deal calldata deal, bytes calldata resultCID, uint256 instructionCount)
        external
        notInTokenCall
    {
        _submitResult(deal, resultCID, instructionCount);
    }

    /// @notice `submitResult` for many deals of the caller in one transaction; reverts if any of them is refused.
    function submitResults(DealResult[] calldata batch) external notInTokenCall {
        uint256 length = batch.length;
        for (uint256 i = 0; i < length; ++i) {
            DealResult calldata result = batch[i];
            _submitResult(result.deal, result.resultCID, result.instructionCount);
        }
    }

    /// @notice The job creator accepts the result: the cost moves to the resource provider, the rest of P and all
    /// of R are unlocked to their owners.
    function accept(Deal calldata deal) external notInTokenCall {
        _accept(deal);
    }

    /// @notice `accept` for many deals in one transaction; reverts if any of them cannot be accepted.
    function acceptMany(Deal[] calldata batch) external notInTokenCall {
        uint256 length = batch.length;
        for (uint256 i = 0; i < length; ++i) {
            _accept(batch[i]);
        }
    }

    /// @notice Anyone, after `agreedAt + submitTimeout` without a result: P goes back to the job creator and the
    /// resource provider's timeout collateral Ts moves to the job creator.
    function timeoutSubmit(Deal calldata deal) external notInTokenCall {
        bytes32 id = _dealId(deal);
        uint256 status = _dealWords[id];
        if (_stateOf(status) != DealState.Agreed) revert WrongState(id, uint8(_stateOf(status)));
        uint256 deadline = _agreedAtOf(status) + deal.submitTimeout;
        if (block.timestamp <= deadline) revert TooEarly(id, deadline);
        _dealWords[id] = _withState(status, DealState.TimedOutSubmit);
        uint256 payment = deal.paymentCollateral;
        uint256 timeoutCollateral = deal.timeoutCollateral;
        _update(deal.jobCreator, payment, payment + timeoutCollateral, 0);
        _update(deal.resourceProvider, timeoutCollateral, 0, 0);
        emit DealStateChanged(id, uint8(DealState.TimedOutSubmit));
    }

    /// @notice Anyone, after `resultsAt + judgeTimeout` without a verdict from the job creator: silence is
    /// acceptance, with the same money as `accept`.
    function timeoutJudge(Deal calldata deal) external notInTokenCall {
        _timeoutJudge(deal);
    }

    /// @notice `timeoutJudge` for many deals in one transaction; reverts if any of them cannot be settled.
    function timeoutJudgeMany(Deal[] calldata batch) external notInTokenCall {
        uint256 length = batch.length;
        for (uint256 i = 0; i < length; ++i) {
            _timeoutJudge(batch[i]);
        }
    }

    // ---- mediation ----------------------------------------------------------------------------------------------

    /// @notice The job creator disputes the result until `resultsAt + judgeTimeout`: the mediation fee F is locked
    /// from it and n mediators are drawn, with on-chain randomness (prevrandao and the deal id), among the deal's
    /// mediators (those both parties trust) that are registered as mediators with a stake of at least F.
    function challenge(Deal calldata deal) external notInTokenCall {
        bytes32 id = _dealId(deal);
        uint256 status = _dealWords[id];
        if (_stateOf(status) != DealState.ResultsSubmitted) revert WrongState(id, uint8(_stateOf(status)));
        if (msg.sender != deal.jobCreator) revert NotParty(id, msg.sender);
        uint256 deadline = _resultsAtOf(status) + deal.judgeTimeout;
        if (block.timestamp > deadline) revert TooLate(id, deadline);
        uint256 drawn = _draw(deal, id);
        _dealWords[id] = _withState(status, DealState.Challenged);
        mediations[id] = Mediation(uint40(block.timestamp), uint64(drawn), 0, 0);
        _update(msg.sender, 0, 0, deal.mediationFee);
        emit DealStateChanged(id, uint8(DealState.Challenged));
    }

    /// @notice A drawn mediator's verdict, until `challengedAt + mediateTimeout`. The k-th matching verdict settles
    /// the deal: "correct" pays the resource provider as `accept` does and F from the job creator to the deciding
    /// mediators; "wrong" returns P and F to the job creator and takes F (to the mediators) and R − F (to the job
    /// creator) from the resource provider's results collateral.
    function verdict(Deal calldata deal, bool resultCorrect) external notInTokenCall {
        bytes32 id = _dealId(deal);
        uint256 status = _dealWords[id];
        if (_stateOf(status) != DealState.Challenged) revert WrongState(id, uint8(_stateOf(status)));
        Mediation memory m = mediations[id];
        uint256 deadline = uint256(m.challengedAt) + deal.mediateTimeout;
        if (block.timestamp > deadline) revert TooLate(id, deadline);
        uint256 bit = _drawnBit(deal, id, m.drawn);
        if ((m.votedCorrect | m.votedWrong) & bit != 0) revert AlreadyVoted(id, msg.sender);
        uint256 votes = (resultCorrect ? m.votedCorrect : m.votedWrong) | bit;
        emit VerdictGiven(id, msg.sender, resultCorrect);
        if (_popcount(votes) < deal.verdictsNeeded) {
            if (resultCorrect) mediations[id].votedCorrect = uint64(votes);
            else mediations[id].votedWrong = uint64(votes);
            return;
        }
        _closeMediation(deal, m.drawn);
        uint256 fee = deal.mediationFee;
        uint256 payment = deal.paymentCollateral;
        uint256 cost = _costOf(status);
        uint256 results = _resultsCollateral(deal, cost);
        if (resultCorrect) {
            _dealWords[id] = _withState(status, DealState.MediationAccepted);
            _update(deal.jobCreator, payment + fee, payment - cost, 0);
            _update(deal.resourceProvider, results, results + cost, 0);
        } else {
            _dealWords[id] = _withState(status, DealState.MediationRejected);
            // results >= fee: R is never less than the mediation fee.
            _update(deal.jobCreator, payment + fee, payment + results, 0);
            _update(deal.resourceProvider, results, 0, 0);
        }
        _payMediators(deal, votes, fee);
        emit DealStateChanged(id, uint8(resultCorrect ? DealState.MediationAccepted : DealState.MediationRejected));
    }

    /// @notice Anyone, after `challengedAt + mediateTimeout` without a decision: everything is unlocked to its owner
    /// and nobody is paid; each drawn mediator that did not vote loses min(stake, F), half to the resource
    /// provider and the rest to the job creator.
    function timeoutMediate(Deal calldata deal) external notInTokenCall {
        bytes32 id = _dealId(deal);
        uint256 status = _dealWords[id];
        if (_stateOf(status) != DealState.Challenged) revert WrongState(id, uint8(_stateOf(status)));
        Mediation memory m = mediations[id];
        uint256 deadline = uint256(m.challengedAt) + deal.mediateTimeout;
        if (block.timestamp <= deadline) revert TooEarly(id, deadline);
        _dealWords[id] = _withState(status, DealState.TimedOutMediate);
        _closeMediation(deal, m.drawn);
        uint256 fee = deal.mediationFee;
        uint256 toJC = deal.paymentCollateral + fee;
        uint256 results = _resultsCollateral(deal, _costOf(status));
        uint256 toRP = results;
        uint256 silent = m.drawn & ~uint256(m.votedCorrect | m.votedWrong);
        for (uint256 i = 0; silent != 0; ++i) {
            if (silent & 1 != 0) {
                uint256 slashed = _slash(deal.mediators[i], fee);
                if (slashed != 0) {
                    toRP += slashed / 2;
                    toJC += slashed - slashed / 2;
                    emit MediatorSlashed(id, deal.mediators[i], slashed);
                }
            }
            silent >>= 1;
        }
        _update(deal.jobCreator, deal.paymentCollateral + fee, toJC, 0);
        _update(deal.resourceProvider, results, toRP, 0);
        emit DealStateChanged(id, uint8(DealState.TimedOutMediate));
    }

    // ---- internals ----------------------------------------------------------------------------------------------

    function _deposit(uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        _update(msg.sender, 0, amount, 0);
        emit Deposited(msg.sender, amount);
    }

    function _agree(Deal calldata deal, bytes calldata sigJC, bytes calldata sigRP) private returns (bytes32 id) {
        id = _dealId(deal);
        DealState state = _stateOf(_dealWords[id]);
        if (state != DealState.None) revert WrongState(id, uint8(state));
        if (block.timestamp > deal.expiry) revert TooLate(id, deal.expiry);
        _checkSignature(deal.jobCreator, id, sigJC);
        _checkSignature(deal.resourceProvider, id, sigRP);
        _dealWords[id] = _statusWord(DealState.Agreed, block.timestamp, 0, 0);
        _update(deal.jobCreator, 0, 0, deal.paymentCollateral);
        _update(deal.resourceProvider, 0, 0, deal.timeoutCollateral);
        emit DealStateChanged(id, uint8(DealState.Agreed));
    }

    function _submitResult(Deal calldata deal, bytes calldata resultCID, uint256 instructionCount) private {
        bytes32 id = _dealId(deal);
        uint256 status = _dealWords[id];
        if (_stateOf(status) != DealState.Agreed) revert WrongState(id, uint8(_stateOf(status)));
        if (msg.sender != deal.resourceProvider) revert NotParty(id, msg.sender);
        uint256 deadline = _agreedAtOf(status) + deal.submitTimeout;
        if (block.timestamp > deadline) revert TooLate(id, deadline);
        uint256 cost = _jobCost(deal, instructionCount);
        uint256 timeoutCollateral = deal.timeoutCollateral;
        _dealWords[id] = _statusWord(DealState.ResultsSubmitted, _agreedAtOf(status), block.timestamp, cost);
        _update(msg.sender, timeoutCollateral, timeoutCollateral, _resultsCollateral(deal, cost));
        emit ResultsSubmitted(id, resultCID, instructionCount, cost);
    }

    function _accept(Deal calldata deal) private {
        bytes32 id = _dealId(deal);
        uint256 status = _dealWords[id];
        if (_stateOf(status) != DealState.ResultsSubmitted) revert WrongState(id, uint8(_stateOf(status)));
        if (msg.sender != deal.jobCreator) revert NotParty(id, msg.sender);
        _settleAccepted(deal, id, status);
    }

    function _timeoutJudge(Deal calldata deal) private {
        bytes32 id = _dealId(deal);
        uint256 status = _dealWords[id];
        if (_stateOf(status) != DealState.ResultsSubmitted) revert WrongState(id, uint8(_stateOf(status)));
        uint256 deadline = _resultsAtOf(status) + deal.judgeTimeout;
        if (block.timestamp <= deadline) revert TooEarly(id, deadline);
        _settleAccepted(deal, id, status);
    }

    /// @dev cost JC → RP; P − cost unlocked to JC; R unlocked to RP. R is recomputed from the terms and the stored
    /// cost, exactly as `submitResult` locked it.
    function _settleAccepted(Deal calldata deal, bytes32 id, uint256 status) private {
        uint256 cost = _costOf(status);
        _dealWords[id] = _withState(status, DealState.Accepted);
        uint256 payment = deal.paymentCollateral;
        uint256 results = _resultsCollateral(deal, cost);
        _update(deal.jobCreator, payment, payment - cost, 0);
        _update(deal.resourceProvider, results, results + cost, 0);
        emit DealStateChanged(id, uint8(DealState.Accepted));
    }

    /// @dev A deal's status word (`_dealWords`); times fit in 40 bits and the cost (<= P) in 128.
    function _statusWord(DealState state, uint256 agreedAt, uint256 resultsAt, uint256 cost)
        private
        pure
        returns (uint256)
    {
        return uint256(state) | (agreedAt << 8) | (resultsAt << 48) | (uint256(SafeCast.toUint128(cost)) << 88);
    }

    /// @dev The same status word in another state: a transition.
    function _withState(uint256 word, DealState state) private pure returns (uint256) {
        return (word & ~uint256(0xff)) | uint256(state);
    }

    function _stateOf(uint256 word) private pure returns (DealState) {
        return DealState(uint8(word));
    }

    function _agreedAtOf(uint256 word) private pure returns (uint256) {
        return uint40(word >> 8);
    }

    function _resultsAtOf(uint256 word) private pure returns (uint256) {
        return uint40(word >> 48);
    }

    function _costOf(uint256 word) private pure returns (uint256) {
        return uint128(word >> 88);
    }

    /// @dev Draws `mediatorsDrawn` distinct eligible mediators by a partial Fisher–Yates shuffle of the eligible
    /// indices; each drawn mediator's open-mediation count goes up (it cannot unstake until the deal settles).
    function _draw(Deal calldata deal, bytes32 id) private returns (uint256 drawn) {
        uint256 n = deal.mediatorsDrawn;
        uint256 length = deal.mediators.length;
        if (deal.verdictsNeeded == 0 || deal.verdictsNeeded > n || n > length || length > MAX_MEDIATORS) {
            revert InvalidMediationTerms(id);
        }
        uint256 fee = deal.mediationFee;
        uint256[] memory eligible = new uint256[](length);
        uint256 count = 0;
        for (uint256 i = 0; i < length; ++i) {
            User storage user = users[deal.mediators[i]]; // reads the first slot only
            if (user.roles & ROLE_MEDIATOR != 0 && user.stake >= fee) eligible[count++] = i;
        }
        uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, id)));
        uint256 picked = 0;
        for (uint256 j = 0; j < count && picked < n; ++j) {
            uint256 r = j + uint256(keccak256(abi.encode(seed, j))) % (count - j);
            uint256 index = eligible[r];
            eligible[r] = eligible[j];
            address mediator = deal.mediators[index];
            if (_isDrawn(deal, drawn, mediator)) continue; // listed twice: drawn once
            drawn |= 1 << index;
            ++picked;
            ++users[mediator].openMediations;
            emit MediatorDrawn(id, mediator);
        }
        if (picked < n) revert NotEnoughMediators(id, picked, n);
    }

    function _isDrawn(Deal calldata deal, uint256 drawn, address mediator) private pure returns (bool) {
        for (uint256 i = 0; drawn >> i != 0; ++i) {
            if ((drawn >> i) & 1 != 0 && deal.mediators[i] == mediator) return true;
        }
        return false;
    }

    /// @dev The caller's bit in the drawn mask; reverts if the caller was not drawn.
    function _drawnBit(Deal calldata deal, bytes32 id, uint256 drawn) private view returns (uint256) {
        for (uint256 i = 0; drawn >> i != 0; ++i) {
            if ((drawn >> i) & 1 != 0 && deal.mediators[i] == msg.sender) return 1 << i;
        }
        revert NotDrawnMediator(id, msg.sender);
    }

    /// @dev Every drawn mediator's open-mediation count goes down: the deal no longer needs its stake.
    function _closeMediation(Deal calldata deal, uint256 drawn) private {
        for (uint256 i = 0; drawn != 0; ++i) {
            if (drawn & 1 != 0) --users[deal.mediators[i]].openMediations;
            drawn >>= 1;
        }
    }

    /// @dev F split equally among the deciding mediators (in the deal's order); the remainder to the first.
    function _payMediators(Deal calldata deal, uint256 votes, uint256 fee) private {
        uint256 share = fee / _popcount(votes);
        uint256 remainder = fee - share * _popcount(votes);
        for (uint256 i = 0; votes != 0; ++i) {
            if (votes & 1 != 0) {
                _update(deal.mediators[i], 0, share + remainder, 0);
                remainder = 0;
            }
            votes >>= 1;
        }
    }

    /// @dev Takes min(stake, amount) from the mediator's stake and locked balance; returns what was taken.
    function _slash(address mediator, uint256 amount) private returns (uint256 slashed) {
        User storage user = users[mediator];
        uint256 staked = user.stake;
        slashed = staked < amount ? staked : amount;
        if (slashed == 0) return 0;
        unchecked {
            user.stake = uint128(staked - slashed);
        }
        _update(mediator, slashed, 0, 0);
    }

    /// @dev ECDSA first, and ERC-1271 only when that fails: an account's code is not looked up (a cold
    /// EXTCODESIZE, 2,600 gas) when its key signed. The ERC-1271 check is a `staticcall`, so a contract wallet's
    /// callback cannot change any state, let alone re-enter a settlement.
    function _checkSignature(address signer, bytes32 id, bytes calldata signature) private view {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(id, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return;
        if (!SignatureChecker.isValidERC1271SignatureNowCalldata(signer, id, signature)) {
            revert InvalidSignature(signer);
        }
    }

    function _popcount(uint256 x) private pure returns (uint256 count) {
        for (; x != 0; x &= x - 1) ++count;
    }

    /// @dev The one read and one write of an account's balance in a step: `release` leaves the locked amount,
    /// `credit` joins the free amount, then `lock` moves from free to locked. Calls for the same account in one step
    /// (a job creator who is also the provider) compose, because each reads what the previous one wrote.
    function _update(address account, uint256 release, uint256 credit, uint256 lock) private {
        Balance memory b = _balances[account];
        uint256 free = uint256(b.free) + credit;
        if (free < lock) revert InsufficientFree(account, lock, free);
        unchecked {
            free -= lock;
        }
        _balances[account] = Balance(SafeCast.toUint128(free), SafeCast.toUint128(uint256(b.locked) - release + lock));
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
    /// calldata and the `mediators` offset word is replaced by keccak256 of the array's words, copied from calldata.
    /// A non-canonical encoding (dirty high bits) only yields a different id, which nobody signed.
    function _dealId(Deal calldata deal) private view returns (bytes32) {
        address[] calldata mediators = deal.mediators;
        bytes32 typeHash = DEAL_TYPEHASH;
        bytes32 structHash;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let m := mload(0x40)
            // The array's elements are 32-byte words in calldata already, as EIP-712 hashes them.
            let mediatorsBytes := mul(mediators.length, 0x20)
            calldatacopy(m, mediators.offset, mediatorsBytes)
            let mediatorsHash := keccak256(m, mediatorsBytes)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), deal, DEAL_HEAD_BYTES)
            mstore(add(m, 0x80), mediatorsHash)
            structHash := keccak256(m, add(DEAL_HEAD_BYTES, 0x20))
        }
        return _hashTypedDataV4(structHash);
    }
}
