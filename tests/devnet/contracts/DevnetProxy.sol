// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: a minimal ERC-1967 proxy, so that the devnet's SACD
// and Template live at one address across implementations and announce
// each upgrade with Upgraded(address indexed), as DIMO's UUPS proxies do on
// Polygon. Written for the devnet; test code only.
pragma solidity 0.8.28;

/// @title DevnetProxy
/// @notice Delegates every call to the implementation stored in the
///         ERC-1967 slot. The deployer is the admin: only it may call
///         upgradeToAndCall, which stores the new implementation, logs
///         Upgraded(implementation) from the proxy's address, then (when
///         data is not empty) delegates data to it, e.g. an initializer.
///         The constructor does the same for the first implementation.
contract DevnetProxy {
    event Upgraded(address indexed implementation);

    // bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)
    bytes32 private constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    // bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1)
    bytes32 private constant ADMIN_SLOT = 0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103;

    error NotAdmin(address caller);
    error NotAContract(address implementation);
    error InitFailed(bytes reason);

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

    function _upgrade(address implementation, bytes memory data) private {
        if (implementation.code.length == 0) revert NotAContract(implementation);
        bytes32 slot = IMPLEMENTATION_SLOT;
        assembly { sstore(slot, implementation) }
        emit Upgraded(implementation);
        if (data.length > 0) {
            (bool ok, bytes memory reason) = implementation.delegatecall(data);
            if (!ok) revert InitFailed(reason);
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

/// @title DevnetUupsProxy
/// @notice An ERC-1967 proxy with no function of its own, as OpenZeppelin's
///         ERC1967Proxy that DIMO deploys for DevLicenseDimo: the constructor
///         stores the first implementation, logs Upgraded(implementation)
///         from the proxy's address, then (when data is not empty) delegates
///         data to it, e.g. initialize(). Every later upgrade is the
///         implementation's (UUPS: DevLicenseBase.upgradeToAndCall, gated by
///         its UPGRADER_ROLE), so every call, upgradeToAndCall included,
///         goes to the implementation.
contract DevnetUupsProxy {
    event Upgraded(address indexed implementation);

    // bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)
    bytes32 private constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    error NotAContract(address implementation);

    constructor(address implementation, bytes memory data) {
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
