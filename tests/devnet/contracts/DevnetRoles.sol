// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: role-based access control with the events and rules
// of OpenZeppelin's AccessControl, which DIMO's license contracts use
// (DevLicenseDimo and the 2022 Stake). Written for the devnet; test code only.
pragma solidity 0.8.28;

/// @title DevnetRoles
/// @notice grantRole / revokeRole by the role's admin role (DEFAULT_ADMIN_ROLE
///         unless changed), renounceRole by the holder, each logging
///         RoleGranted / RoleRevoked only when the role changes; a devnet-only
///         setRoleAdmin logs RoleAdminChanged (DIMO's contracts change role
///         admins in code, if at all, but their ABIs declare the event).
abstract contract DevnetRoles {
    event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);
    event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);
    event RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole);

    bytes32 public constant DEFAULT_ADMIN_ROLE = 0x00;

    mapping(bytes32 => mapping(address => bool)) internal _hasRole;
    mapping(bytes32 => bytes32) internal _roleAdmin;

    modifier onlyRole(bytes32 role) {
        require(_hasRole[role][msg.sender], "AccessControl: missing role");
        _;
    }

    function hasRole(bytes32 role, address account) public view returns (bool) {
        return _hasRole[role][account];
    }

    function getRoleAdmin(bytes32 role) public view returns (bytes32) {
        return _roleAdmin[role];
    }

    function grantRole(bytes32 role, address account) external onlyRole(getRoleAdmin(role)) {
        _grantRole(role, account);
    }

    function revokeRole(bytes32 role, address account) external onlyRole(getRoleAdmin(role)) {
        _revokeRole(role, account);
    }

    function renounceRole(bytes32 role, address callerConfirmation) external {
        require(callerConfirmation == msg.sender, "AccessControl: bad confirmation");
        _revokeRole(role, callerConfirmation);
    }

    function setRoleAdmin(bytes32 role, bytes32 adminRole) external onlyRole(DEFAULT_ADMIN_ROLE) {
        bytes32 previous = _roleAdmin[role];
        _roleAdmin[role] = adminRole;
        emit RoleAdminChanged(role, previous, adminRole);
    }

    function _grantRole(bytes32 role, address account) internal {
        if (!_hasRole[role][account]) {
            _hasRole[role][account] = true;
            emit RoleGranted(role, account, msg.sender);
        }
    }

    function _revokeRole(bytes32 role, address account) internal {
        if (_hasRole[role][account]) {
            _hasRole[role][account] = false;
            emit RoleRevoked(role, account, msg.sender);
        }
    }
}
