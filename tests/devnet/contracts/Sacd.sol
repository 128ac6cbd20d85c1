// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: a SACD-compatible permission registry (Service Access
// Contract Definition, Polygon 0x3c152B5d...) emitting exactly its
// PermissionsSet event. Written for the devnet; test code only.
pragma solidity 0.8.28;

/// @dev The one ERC-721 view SACD needs from an asset.
interface IDevnetOwnerOf {
    function ownerOf(uint256 tokenId) external view returns (address);
}

/// @title Sacd (devnet)
/// @notice Owners of ERC-721 tokens grant permissions over their token to
///         grantees. A grant is a record (permissions, expiration, source)
///         under (asset, tokenId, version, grantee); a new grant for the same
///         key replaces the previous one. Only the record of the token's
///         current version counts, and only while expiration > now.
///         Permission i is granted when bits 2i and 2i+1 are both set.
///         The asset contract calls onTransfer on every transfer between two
///         owners: the version goes up and every earlier record of the token
///         stops counting, with no event here (the asset's Transfer is the
///         only trace). Mints and burns do not call it.
contract Sacd {
    event PermissionsSet(
        address indexed asset,
        uint256 indexed tokenId,
        uint256 permissions,
        address indexed grantee,
        uint256 expiration,
        string source
    );

    error InvalidTokenId(address asset, uint256 tokenId);
    error Unauthorized(address caller);
    error ZeroAddress();

    struct Grant {
        uint256 permissions;
        uint256 expiration;
        string source;
    }

    // asset => tokenId => version
    mapping(address => mapping(uint256 => uint256)) private _versions;
    // asset => tokenId => version => grantee => record
    mapping(address => mapping(uint256 => mapping(uint256 => mapping(address => Grant)))) private _grants;

    /// @notice Records a grant under the token's current version. Callers:
    ///         the token's current owner, or the asset contract itself (as on
    ///         Polygon; the devnet vehicle never does). Reverts with
    ///         InvalidTokenId when ownerOf reverts (unknown or burned token),
    ///         Unauthorized for anyone else, ZeroAddress for grantee 0x0.
    ///         Any expiration is accepted, also one in the past (it never
    ///         counts) and 0; permissions 0 is how a grant is withdrawn.
    function setPermissions(
        address asset,
        uint256 tokenId,
        address grantee,
        uint256 permissions,
        uint256 expiration,
        string calldata source
    ) external {
        address holder;
        try IDevnetOwnerOf(asset).ownerOf(tokenId) returns (address o) {
            holder = o;
        } catch {
            revert InvalidTokenId(asset, tokenId);
        }
        if (msg.sender != holder && msg.sender != asset) revert Unauthorized(msg.sender);
        if (grantee == address(0)) revert ZeroAddress();
        uint256 version = _versions[asset][tokenId];
        Grant storage g = _grants[asset][tokenId][version][grantee];
        g.permissions = permissions;
        g.expiration = expiration;
        g.source = source;
        emit PermissionsSet(asset, tokenId, permissions, grantee, expiration, source);
    }

    /// @notice Called by the asset contract when a token changes hands
    ///         between two owners: invalidates every earlier record. Emits nothing.
    function onTransfer(address asset, uint256 tokenId) external {
        if (msg.sender != asset) revert Unauthorized(msg.sender);
        unchecked { _versions[asset][tokenId] += 1; }
    }

    /// @notice True while the current version's record has expiration > now
    ///         and bits 2i and 2i+1 set. No shortcut for the token's owner and
    ///         no ownership check: a burned token's records keep counting
    ///         until they expire. As deployed, the shift is computed in
    ///         uint8, so an index of 128 or more reverts (checked overflow).
    function hasPermission(address asset, uint256 tokenId, address grantee, uint8 permissionIndex)
        external
        view
        returns (bool)
    {
        Grant storage g = _current(asset, tokenId, grantee);
        if (g.expiration <= block.timestamp) return false;
        uint8 shift = 2 * permissionIndex;
        return (g.permissions >> shift) & 3 == 3;
    }

    /// @notice True while the current record is unexpired and holds every
    ///         bit of `permissions` (a plain mask test: asking for a single
    ///         bit of a pair is answered for that bit alone).
    function hasPermissions(address asset, uint256 tokenId, address grantee, uint256 permissions)
        external
        view
        returns (bool)
    {
        Grant storage g = _current(asset, tokenId, grantee);
        if (g.expiration <= block.timestamp) return false;
        return g.permissions & permissions == permissions;
    }

    /// @notice The record of the token's current version (zeros and "" when none).
    function currentPermissionRecord(address asset, uint256 tokenId, address grantee)
        external
        view
        returns (uint256 permissions, uint256 expiration, string memory source)
    {
        Grant storage g = _current(asset, tokenId, grantee);
        return (g.permissions, g.expiration, g.source);
    }

    /// @notice The record stored under one version (earlier versions stay readable).
    function permissionRecords(address asset, uint256 tokenId, uint256 version, address grantee)
        external
        view
        returns (uint256 permissions, uint256 expiration, string memory source)
    {
        Grant storage g = _grants[asset][tokenId][version][grantee];
        return (g.permissions, g.expiration, g.source);
    }

    /// @notice The token's version: the number of onTransfer calls for it.
    function tokenIdToVersion(address asset, uint256 tokenId) external view returns (uint256) {
        return _versions[asset][tokenId];
    }

    function _current(address asset, uint256 tokenId, address grantee) private view returns (Grant storage) {
        return _grants[asset][tokenId][_versions[asset][tokenId]][grantee];
    }
}
