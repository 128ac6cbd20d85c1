// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: a multisig-style forwarder (the pattern of DIMO's
// admin Safe): its owners ask it to call a contract, and the call reaches
// the target from the forwarder's address, which holds the role. No events
// of its own (a Safe's are not what the indexer reads). Test code only.
pragma solidity 0.8.28;

contract DevnetForwarder {
    mapping(address => bool) public isOwner;

    constructor(address[] memory owners) {
        for (uint256 i = 0; i < owners.length; i++) isOwner[owners[i]] = true;
    }

    /// @notice Calls `target` with `data`; reverts with the target's reason.
    function forward(address target, bytes calldata data) external returns (bytes memory) {
        require(isOwner[msg.sender], "Forwarder: not owner");
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }
}
