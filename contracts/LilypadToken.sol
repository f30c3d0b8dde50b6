// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title Lilypad Token (LP)
/// @notice The network's ERC-20, with EIP-2612 permit so that approving and depositing into the deal escrow is a
/// single transaction. The whole supply is minted to the deployer, which acts as the faucet on a devnet.
contract LilypadToken is ERC20Permit {
    constructor(uint256 initialSupply) ERC20("Lilypad Token", "LP") ERC20Permit("Lilypad Token") {
        _mint(msg.sender, initialSupply);
    }
}
