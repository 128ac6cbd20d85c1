// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: the 2022 manufacturer license with staking ("Stake",
// Polygon 0xaa32a9e7...), same event signatures, including its bug, and the
// same access rule as DIMO's source (contracts/Stake.sol): AccessControl,
// every admin function onlyRole(DEFAULT_ADMIN_ROLE), granted at deployment
// to the deployer. Written for the devnet; test code only. (Not a proxy:
// the deployed contract's UUPS upgrade is not reproduced here.)
pragma solidity 0.8.28;

import "./DevnetRoles.sol";

interface IDevnetStakeToken {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
}

/// @title ManufacturerLicenseStake (devnet)
/// @notice Stake is per address; each stake() call must bring at least the
///         current minimum. A license (ERC-721, ids from 1) may be minted,
///         by a DEFAULT_ADMIN_ROLE holder only, to an address whose stake >=
///         minimumStake. Admin-only (DEFAULT_ADMIN_ROLE): mint, unstake,
///         emergency withdrawal of stray tokens (no stake changes), minimum
///         adjustment (setNewMinStakeAmount), revoke. Roles as OpenZeppelin's
///         AccessControl: grantRole / revokeRole by the role's admin,
///         renounceRole by the holder, each logging RoleGranted / RoleRevoked
///         (and a devnet-only setRoleAdmin: RoleAdminChanged).
///         Licenses do not move between owners here: transfers and approvals
///         revert (only mint and revoke log Transfer).
///
///         THE BUG, kept on purpose: LicenseRevoked carries the last minted
///         token id, not the revoked one. The burn Transfer(owner -> 0x0),
///         logged just before it in the same transaction, carries the truth.
contract ManufacturerLicenseStake is DevnetRoles {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event StakeTokens(address indexed user, uint256 amountOfTokens);
    event UnstakeTokens(address indexed user, uint256 amountOfTokens);
    event EmergencyWithdrawal(address indexed user, uint256 amountOfTokens);
    event StakeAmountAdjusted(uint256 amount);
    event LicenseMinted(address indexed user, uint256 tokenId);
    event LicenseRevoked(uint256 tokenId);

    string public constant name = "Dimo License";
    string public constant symbol = "DIMO";

    IDevnetStakeToken public immutable dimoToken;

    uint256 public minimumStake;
    uint256 public totalStaked;
    uint256 public lastMintedId;
    mapping(address => uint256) public stakedBalance;
    mapping(uint256 => address) private _owners;
    // Devnet-only: every address that ever staked or received a license (see stakers()).
    address[] private _stakers;
    mapping(address => bool) private _listed;
    mapping(address => uint256) private _balances;

    constructor(address dimoToken_) {
        dimoToken = IDevnetStakeToken(dimoToken_);
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        minimumStake = 100000 ether; // 100,000 DIMO
    }

    // Roles: DevnetRoles.sol (AccessControl's rules and events).

    // ---- staking and licenses ----

    /// @notice DIMO Transfer(user -> this), then StakeTokens. At least the
    ///         current minimum per call (Stake.sol's rule).
    function stake(uint256 amount) external {
        require(amount >= minimumStake, "Stake: amount below the minimum");
        require(dimoToken.transferFrom(msg.sender, address(this), amount), "Stake: transferFrom");
        stakedBalance[msg.sender] += amount;
        totalStaked += amount;
        _list(msg.sender);
        emit StakeTokens(msg.sender, amount);
    }

    function isWhitelisted(address user) public view returns (bool) {
        return stakedBalance[user] >= minimumStake;
    }

    /// @notice By a DEFAULT_ADMIN_ROLE holder. Logs Transfer(0x0 -> to), then LicenseMinted.
    function mint(address to) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 tokenId) {
        require(to != address(0), "Stake: zero address");
        require(isWhitelisted(to), "Stake: stake below minimum");
        tokenId = ++lastMintedId;
        _owners[tokenId] = to;
        _balances[to] += 1;
        _list(to);
        emit Transfer(address(0), to, tokenId);
        emit LicenseMinted(to, tokenId);
    }

    /// @notice Admin returns part of a user's stake: DIMO Transfer(this -> user), then UnstakeTokens.
    function unstake(address user, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        require(amount != 0, "Stake: zero amount");
        uint256 staked = stakedBalance[user];
        require(staked >= amount, "Stake: amount exceeds stake");
        stakedBalance[user] = staked - amount;
        totalStaked -= amount;
        require(dimoToken.transfer(user, amount), "Stake: transfer");
        emit UnstakeTokens(user, amount);
    }

    /// @notice Returns stray tokens (balance above totalStaked); stakes do not change.
    function emergencyWithdraw(address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        require(to != address(0), "Stake: zero address");
        require(amount != 0, "Stake: zero amount");
        require(dimoToken.balanceOf(address(this)) - totalStaked >= amount, "Stake: not stray tokens");
        require(dimoToken.transfer(to, amount), "Stake: transfer");
        emit EmergencyWithdrawal(to, amount);
    }

    function setNewMinStakeAmount(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        minimumStake = amount;
        emit StakeAmountAdjusted(amount);
    }

    /// @notice Burns the license: Transfer(owner -> 0x0, tokenId), then the buggy
    ///         LicenseRevoked(lastMintedId).
    function revoke(uint256 tokenId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        address owner_ = _owners[tokenId];
        require(owner_ != address(0), "Stake: invalid token");
        delete _owners[tokenId];
        _balances[owner_] -= 1;
        emit Transfer(owner_, address(0), tokenId);
        emit LicenseRevoked(lastMintedId);
    }

    function _list(address user) private {
        if (!_listed[user]) {
            _listed[user] = true;
            _stakers.push(user);
        }
    }

    /// @notice DEVNET-ONLY view: every address that ever staked or was minted a license.
    function stakers() external view returns (address[] memory) {
        return _stakers;
    }

    function ownerOf(uint256 tokenId) external view returns (address) {
        address owner_ = _owners[tokenId];
        require(owner_ != address(0), "ERC721: invalid token ID");
        return owner_;
    }

    function balanceOf(address owner_) external view returns (uint256) {
        require(owner_ != address(0), "ERC721: zero address");
        return _balances[owner_];
    }

    function transferFrom(address, address, uint256) external pure {
        revert("Stake: licenses do not move on the devnet");
    }

    function safeTransferFrom(address, address, uint256) external pure {
        revert("Stake: licenses do not move on the devnet");
    }

    function approve(address, uint256) external pure {
        revert("Stake: licenses do not move on the devnet");
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == 0x80ac58cd;
    }
}
