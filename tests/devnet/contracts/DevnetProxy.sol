// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: a minimal ERC-1967 proxy, so that the devnet's SACD
// and Template live at one address across implementations and announce
// each upgrade with Upgraded(address indexed), as DIMO's UUPS proxies do on
// Polygon. Written for the devnet; test code only.
pragma solidity 0.8.28;

/// @title Devnet1967
/// @notice What both proxies share: the ERC-1967 implementation slot, the
///         switch to an implementation (stored, Upgraded(implementation)
///         logged from the proxy's address, then `data` delegated to it when
///         not empty, e.g. an initializer; a failing call reverts with its
///         own reason) and the fallback that delegates every other call.
abstract contract Devnet1967 {
    event Upgraded(address indexed implementation);

    // bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    error NotAContract(address implementation);

    function _upgrade(address implementation, bytes memory data) internal {
        if (implementation.code.length == 0) revert NotAContract(implementation);
        bytes32 slot = IMPLEMENTATION_SLOT;
        assembly { sstore(slot, implementation) }
        emit Upgraded(implementation);
        if (data.length > 0) {
            (bool ok, bytes memory reason) = implementation.delegatecall(data);
            if (!ok) assembly { revert(add(reason, 32), mload(reason)) }
        }
    }

    fallback() external {
        bytes32 slot = IMPLEMENTATION_SLOT;
        assembly {
            let impl := sload(slot)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), impl, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }
}

/// @title DevnetProxy
/// @notice Delegates every call to the implementation stored in the
///         ERC-1967 slot. The deployer is the admin: only it may call
///         upgradeToAndCall, which switches the implementation (Devnet1967).
///         The constructor does the same for the first implementation.
contract DevnetProxy is Devnet1967 {
    // bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1)
    bytes32 private constant ADMIN_SLOT = 0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103;

    error NotAdmin(address caller);

    constructor(address implementation, bytes memory data) {
        bytes32 slot = ADMIN_SLOT;
        address admin = msg.sender;
        assembly { sstore(slot, admin) }
        _upgrade(implementation, data);
    }

    /// @notice Admin only: switch to `implementation`, then delegate `data` to it when not empty.
    function upgradeToAndCall(address implementation, bytes calldata data) external {
        bytes32 slot = ADMIN_SLOT;
        address admin;
        assembly { admin := sload(slot) }
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _upgrade(implementation, data);
    }
}

/// @title DevnetUupsProxy
/// @notice An ERC-1967 proxy with no function of its own, as OpenZeppelin's
///         ERC1967Proxy that DIMO deploys for DevLicenseDimo: the constructor
///         switches to the first implementation (Devnet1967: Upgraded logged
///         from the proxy's address, then e.g. initialize() delegated). Every
///         later upgrade is the implementation's (UUPS:
///         DevLicenseBase.upgradeToAndCall, gated by its UPGRADER_ROLE), so
///         every call, upgradeToAndCall included, goes to the implementation.
contract DevnetUupsProxy is Devnet1967 {
    constructor(address implementation, bytes memory data) {
        _upgrade(implementation, data);
    }
}
