// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: a minimal DIMO vehicle NFT (Polygon 0xbA5738a1...)
// emitting exactly its ERC-721 Transfer and its legacy PrivilegeSet events,
// and telling SACD about transfers. Written for the devnet; test code only.
pragma solidity 0.8.28;

/// @dev What the vehicle calls on SACD.
interface IDevnetSacdListener {
    function onTransfer(address asset, uint256 tokenId) external;
}

/// @title DimoVehicle (devnet)
/// @notice ERC-721 without approvals (as on Polygon, only the owner moves a
///         vehicle). Token ids start at 1 and are never reused.
///         Transfers between two owners (also to oneself) bump the token's
///         privilege version and call SACD's onTransfer; mints and burns do
///         neither. Legacy privileges (before SACD): the owner sets
///         entry[tokenId][version][privId][user] = expires and the contract
///         logs PrivilegeSet(tokenId, version, privId, user, expires).
///         Privilege ids 1..privilegeCount exist and are enabled from
///         deployment (set in the constructor, without logs).
contract DimoVehicle {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event PrivilegeSet(uint256 indexed tokenId, uint256 version, uint256 indexed privId, address indexed user, uint256 expires);

    string public constant name = "DIMO Vehicle ID (devnet)";
    string public constant symbol = "DIMO/VEHICLE";

    IDevnetSacdListener public immutable sacd;
    address public immutable admin;
    uint256 public immutable privilegeCount;
    /// @notice Highest token id minted so far.
    uint256 public lastTokenId;

    mapping(uint256 => address) private _owners;
    mapping(address => uint256) private _balances;
    // tokenId => privilege version (transfers between owners so far)
    mapping(uint256 => uint256) public tokenIdToVersion;
    // tokenId => version => privId => user => expires
    mapping(uint256 => mapping(uint256 => mapping(uint256 => mapping(address => uint256)))) private _privileges;

    constructor(address sacd_, uint256 privilegeCount_) {
        sacd = IDevnetSacdListener(sacd_);
        admin = msg.sender;
        privilegeCount = privilegeCount_;
    }

    // ------------------------------------------------------------------
    // ERC-721 life cycle
    // ------------------------------------------------------------------

    /// @notice Admin only (on Polygon the DIMO registry mints). Logs Transfer(0x0 -> to).
    function mint(address to) external returns (uint256 tokenId) {
        require(msg.sender == admin, "DimoVehicle: not admin");
        require(to != address(0), "DimoVehicle: mint to zero");
        tokenId = ++lastTokenId;
        _owners[tokenId] = to;
        _balances[to] += 1;
        emit Transfer(address(0), to, tokenId);
    }

    /// @notice Only the owner itself (no approvals); `to` may equal `from`.
    ///         Bumps the privilege version, calls sacd.onTransfer, then logs Transfer.
    function transferFrom(address from, address to, uint256 tokenId) public {
        address holder = _requireOwned(tokenId);
        require(holder == from, "DimoVehicle: from is not the owner");
        require(msg.sender == from, "DimoVehicle: only the owner transfers");
        require(to != address(0), "DimoVehicle: transfer to zero");
        unchecked { tokenIdToVersion[tokenId] += 1; }
        sacd.onTransfer(address(this), tokenId);
        _balances[from] -= 1;
        _balances[to] += 1;
        _owners[tokenId] = to;
        emit Transfer(from, to, tokenId);
    }

    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        transferFrom(from, to, tokenId);
    }

    /// @notice By the owner. Logs Transfer(owner -> 0x0). No version bump, no
    ///         SACD call: the token's grants and privileges stay recorded.
    function burn(uint256 tokenId) external {
        address holder = _requireOwned(tokenId);
        require(msg.sender == holder, "DimoVehicle: not the owner");
        _balances[holder] -= 1;
        delete _owners[tokenId];
        emit Transfer(holder, address(0), tokenId);
    }

    function ownerOf(uint256 tokenId) external view returns (address) {
        return _requireOwned(tokenId);
    }

    function balanceOf(address holder) external view returns (uint256) {
        require(holder != address(0), "ERC721: zero address");
        return _balances[holder];
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 // ERC-165
            || interfaceId == 0x80ac58cd; // ERC-721
    }

    function _requireOwned(uint256 tokenId) private view returns (address holder) {
        holder = _owners[tokenId];
        require(holder != address(0), "ERC721: invalid token ID");
    }

    // ------------------------------------------------------------------
    // Legacy privileges
    // ------------------------------------------------------------------

    /// @notice By the owner; privId in 1..privilegeCount; any user (also
    ///         0x0) and any expires (0 withdraws the privilege).
    function setPrivilege(uint256 tokenId, uint256 privId, address user, uint256 expires) external {
        require(msg.sender == _requireOwned(tokenId), "DimoVehicle: not the owner");
        require(privId != 0 && privId <= privilegeCount, "DimoVehicle: invalid privilege id");
        uint256 version = tokenIdToVersion[tokenId];
        _privileges[tokenId][version][privId][user] = expires;
        emit PrivilegeSet(tokenId, version, privId, user, expires);
    }

    /// @notice As deployed: (privilege enabled and entry of the current
    ///         version >= now) or user is the owner. Note ">=" (SACD uses
    ///         ">"), and the owner test runs only when the entry does not
    ///         answer, so for a burned token this reverts unless the entry
    ///         is still valid.
    function hasPrivilege(uint256 tokenId, uint256 privId, address user) external view returns (bool) {
        bool enabled = privId != 0 && privId <= privilegeCount;
        return (enabled && _privileges[tokenId][tokenIdToVersion[tokenId]][privId][user] >= block.timestamp)
            || _requireOwned(tokenId) == user;
    }

    /// @notice The entry of the current version (0 when none).
    function privilegeExpiresAt(uint256 tokenId, uint256 privId, address user) external view returns (uint256) {
        return _privileges[tokenId][tokenIdToVersion[tokenId]][privId][user];
    }
}
