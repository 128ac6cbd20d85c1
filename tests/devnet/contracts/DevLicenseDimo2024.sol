// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: a stand-in for DIMO's 2024 app-license contract, the
// non-upgradeable predecessor of the proxy (Polygon 0xc1946311...6EA1, April
// to July 2024; shared/dimo-contracts.md, end of section 1). It emits the
// events of abi/DevLicenseDimo2024.json with the same signatures,
// indexed-ness and order as today's contract where they are the same, and
// the 2024 generation where they differ: Deposit / Withdraw for the stake,
// UpdateMinimumStake, and UpdateLicenseCost / UpdatePeriodValidity with the
// value indexed (in topics[1]). Written for the devnet; test code only.
pragma solidity 0.8.28;

interface IDevnetDimoToken2024 {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function burn(uint256 value) external;
}

/// @title DevLicenseDimo2024
/// @notice Soulbound licenses with a per-license stake. The client id is an
///         address derived from (this, tokenId) with no code behind it: the
///         indexer only records it (DIMO's deployed a per-license account).
contract DevLicenseDimo2024 {
    // ---- events (the 2024 generation) ----
    event Issued(uint256 indexed tokenId, address indexed owner, address indexed clientId);
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Locked(uint256 indexed tokenId);
    event LicenseAliasSet(uint256 indexed tokenId, bytes32 licenseAlias);
    event SignerEnabled(uint256 indexed tokenId, address indexed signer);
    event SignerDisabled(uint256 indexed tokenId, address indexed signer);
    event Deposit(uint256 indexed tokenId, address indexed user, uint256 amount);
    event Withdraw(uint256 indexed tokenId, address indexed user, uint256 amount);
    event AssetFreezeUpdate(uint256 indexed tokenId, uint256 amount, bool frozen);
    event AssetForfeit(uint256 indexed tokenId, uint256 amount);
    event UpdateMinimumStake(uint256 amount);
    event UpdatePeriodValidity(uint256 indexed periodValidity);
    event UpdateLicenseCost(uint256 indexed licenseCost);

    IDevnetDimoToken2024 public immutable dimoToken;
    address public immutable admin;

    uint256 public periodValidity;
    uint256 public licenseCost;
    /// @notice The smallest amount one lock() accepts (1 DIMO at deployment).
    uint256 public minimumStake;
    uint256 public lastTokenId;
    uint256 public totalStaked;

    mapping(uint256 => address) private _owners;
    mapping(uint256 => address) public tokenIdToClientId;
    mapping(uint256 => bytes32) private _aliases;
    mapping(bytes32 => uint256) private _aliasToken;
    mapping(uint256 => mapping(address => uint256)) private _signerEnabledAt;
    mapping(uint256 => uint256) public stakedBalance;
    mapping(uint256 => bool) public frozen;

    modifier onlyAdmin() {
        require(msg.sender == admin, "DevLicense2024: not admin");
        _;
    }

    modifier onlyLicenseOwner(uint256 tokenId) {
        require(_owners[tokenId] != address(0), "DevLicense2024: invalid token");
        require(_owners[tokenId] == msg.sender, "DevLicense2024: not license owner");
        _;
    }

    constructor(address dimoToken_) {
        dimoToken = IDevnetDimoToken2024(dimoToken_);
        admin = msg.sender;
        periodValidity = 365 days;
        minimumStake = 1 ether;
    }

    /// @notice Issues a license to the caller, paying licenseCost to the admin.
    ///         Logs, in order: Issued, LicenseAliasSet (only with a non-zero
    ///         alias), Locked, Transfer(0x0 -> caller).
    function issueInDimo(bytes32 licenseAlias) external returns (uint256 tokenId) {
        if (licenseCost != 0) {
            require(dimoToken.transferFrom(msg.sender, admin, licenseCost), "DevLicense2024: fee");
        }
        tokenId = ++lastTokenId;
        address clientId = clientIdOf(tokenId);
        tokenIdToClientId[tokenId] = clientId;
        _owners[tokenId] = msg.sender;
        emit Issued(tokenId, msg.sender, clientId);
        if (licenseAlias != bytes32(0)) _setAlias(tokenId, licenseAlias);
        emit Locked(tokenId);
        emit Transfer(address(0), msg.sender, tokenId);
    }

    function clientIdOf(uint256 tokenId) public view returns (address) {
        return address(uint160(uint256(keccak256(abi.encode(address(this), tokenId)))));
    }

    function setLicenseAlias(uint256 tokenId, bytes32 licenseAlias) external onlyLicenseOwner(tokenId) {
        _setAlias(tokenId, licenseAlias);
    }

    function _setAlias(uint256 tokenId, bytes32 key) private {
        require(key == bytes32(0) || _aliasToken[key] == 0, "DevLicense2024: alias taken");
        delete _aliasToken[_aliases[tokenId]];
        _aliases[tokenId] = key;
        if (key != bytes32(0)) _aliasToken[key] = tokenId;
        emit LicenseAliasSet(tokenId, key);
    }

    function aliasOf(uint256 tokenId) external view returns (bytes32) {
        return _aliases[tokenId];
    }

    function getTokenIdByLicenseAlias(bytes32 licenseAlias) external view returns (uint256) {
        return _aliasToken[licenseAlias];
    }

    function enableSigner(uint256 tokenId, address signer) external onlyLicenseOwner(tokenId) {
        _signerEnabledAt[tokenId][signer] = block.timestamp;
        emit SignerEnabled(tokenId, signer);
    }

    function disableSigner(uint256 tokenId, address signer) external onlyLicenseOwner(tokenId) {
        delete _signerEnabledAt[tokenId][signer];
        emit SignerDisabled(tokenId, signer);
    }

    function isSigner(uint256 tokenId, address signer) external view returns (bool) {
        uint256 enabledAt = _signerEnabledAt[tokenId][signer];
        return enabledAt != 0 && block.timestamp - enabledAt <= periodValidity;
    }

    /// @notice DIMO Transfer(owner -> this), then Deposit. At least minimumStake.
    function lock(uint256 tokenId, uint256 amount) external onlyLicenseOwner(tokenId) {
        require(amount >= minimumStake, "DevLicense2024: below minimum");
        require(dimoToken.transferFrom(msg.sender, address(this), amount), "DevLicense2024: transferFrom");
        stakedBalance[tokenId] += amount;
        totalStaked += amount;
        emit Deposit(tokenId, msg.sender, amount);
    }

    /// @notice DIMO Transfer(this -> owner), then Withdraw. Refused while frozen.
    function withdraw(uint256 tokenId, uint256 amount) external onlyLicenseOwner(tokenId) {
        require(!frozen[tokenId], "DevLicense2024: frozen");
        require(amount != 0 && stakedBalance[tokenId] >= amount, "DevLicense2024: amount");
        stakedBalance[tokenId] -= amount;
        totalStaked -= amount;
        require(dimoToken.transfer(msg.sender, amount), "DevLicense2024: transfer");
        emit Withdraw(tokenId, msg.sender, amount);
    }

    function adminFreeze(uint256 tokenId, bool frozen_) external onlyAdmin {
        frozen[tokenId] = frozen_;
        emit AssetFreezeUpdate(tokenId, stakedBalance[tokenId], frozen_);
    }

    /// @notice DIMO burned (Transfer(this -> 0x0)), then AssetForfeit.
    function adminBurnLockedFunds(uint256 tokenId, uint256 amount) external onlyAdmin {
        require(stakedBalance[tokenId] >= amount, "DevLicense2024: amount");
        stakedBalance[tokenId] -= amount;
        totalStaked -= amount;
        dimoToken.burn(amount);
        emit AssetForfeit(tokenId, amount);
    }

    function setMinimumStake(uint256 amount) external onlyAdmin {
        minimumStake = amount;
        emit UpdateMinimumStake(amount);
    }

    function setPeriodValidity(uint256 periodValidity_) external onlyAdmin {
        periodValidity = periodValidity_;
        emit UpdatePeriodValidity(periodValidity_);
    }

    function setLicenseCost(uint256 licenseCost_) external onlyAdmin {
        licenseCost = licenseCost_;
        emit UpdateLicenseCost(licenseCost_);
    }

    /// @notice Admin; only with zero stake. Transfer(owner -> 0x0); the alias
    ///         is freed in both directions with no event of its own (as
    ///         today's revoke).
    function revoke(uint256 tokenId) external onlyAdmin {
        address owner_ = _owners[tokenId];
        require(owner_ != address(0), "DevLicense2024: invalid token");
        require(stakedBalance[tokenId] == 0, "DevLicense2024: stake");
        delete _aliasToken[_aliases[tokenId]];
        delete _aliases[tokenId];
        delete _owners[tokenId];
        delete tokenIdToClientId[tokenId];
        emit Transfer(owner_, address(0), tokenId);
    }

    function ownerOf(uint256 tokenId) external view returns (address) {
        address owner_ = _owners[tokenId];
        require(owner_ != address(0), "ERC721: invalid token ID");
        return owner_;
    }

    function locked(uint256 tokenId) external view returns (bool) {
        require(_owners[tokenId] != address(0), "ERC721: invalid token ID");
        return true;
    }
}
