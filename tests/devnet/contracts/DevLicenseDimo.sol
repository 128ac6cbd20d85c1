// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: app-license contracts that emit exactly the events of
// DIMO's DevLicenseDimo (Polygon 0x9A9D2E71...) with the same signatures,
// indexed-ness and order. Written for the devnet; test code only.
// As DIMO's (developer-license src/DevLicenseDimo.sol: UUPSUpgradeable), each
// app license lives behind an ERC-1967 proxy (DevnetProxy.sol:
// DevnetUupsProxy): the implementation is initialized through the proxy, and
// upgradeToAndCall, gated by UPGRADER_ROLE, is the implementation's.
pragma solidity 0.8.28;

import "./DevnetRoles.sol";

interface IDevnetDimoToken {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function burn(uint256 value) external;
    function balanceOf(address account) external view returns (uint256);
}

interface IDevnetLicenseSigners {
    function isSigner(uint256 tokenId, address signer) external view returns (bool);
}

/// @title LicenseAccount
/// @notice The per-license client id: a tiny contract created with CREATE2 by
///         the license contract, salt = bytes32(tokenId), constructor argument
///         tokenId. Its address is the license's OAuth-style client id.
///         DIMO's DimoDeveloperLicenseAccount is a beacon proxy initialized
///         after creation; the devnet account is a plain contract (nothing
///         the indexer sees depends on it). As DIMO's, it answers ERC-1271
///         from the license's isSigner alone: a frozen or revoked license's
///         signers still sign valid signatures here.
contract LicenseAccount {
    address public immutable license;
    uint256 public immutable tokenId;

    constructor(uint256 tokenId_) {
        license = msg.sender;
        tokenId = tokenId_;
    }

    function isSigner(address signer) external view returns (bool) {
        return IDevnetLicenseSigners(license).isSigner(tokenId, signer);
    }

    /// @notice ERC-1271: 0x1626ba7e when the 65-byte (r, s, v) signature of
    ///         `hash` recovers to a signer of the license, else 0xffffffff.
    ///         (DIMO's uses OpenZeppelin's ECDSA.recover, which reverts on a
    ///         malformed or high-s signature; the devnet answers 0xffffffff for
    ///         a malformed one and, to keep the account small, accepts high s.)
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        address signer = ecrecover(hash, v, r, s);
        if (signer != address(0) && IDevnetLicenseSigners(license).isSigner(tokenId, signer)) return 0x1626ba7e;
        return 0xffffffff;
    }
}

/// @title DevLicenseBase
/// @notice Everything except the LicenseAliasSet event, whose signature differs
///         between the current (string) and the older (bytes32) implementation.
abstract contract DevLicenseBase is DevnetRoles {
    // ---- events (signatures as deployed on Polygon) ----
    event Issued(uint256 indexed tokenId, address indexed owner, address indexed clientId);
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Locked(uint256 indexed tokenId);
    event SignerEnabled(uint256 indexed tokenId, address indexed signer);
    event SignerDisabled(uint256 indexed tokenId, address indexed signer);
    event RedirectUriEnabled(uint256 indexed tokenId, string uri);
    event RedirectUriDisabled(uint256 indexed tokenId, string uri);
    event StakeDeposit(uint256 indexed tokenId, address indexed user, uint256 amount);
    event StakeWithdraw(uint256 indexed tokenId, address indexed user, uint256 amount);
    event AssetFreezeUpdate(uint256 indexed tokenId, uint256 amount, bool frozen);
    event AssetForfeit(uint256 indexed tokenId, uint256 amount);
    event UpdatePeriodValidity(uint256 periodValidity);
    event UpdateLicenseCost(uint256 licenseCost);
    /// @notice Not in abi/DevLicenseDimo.json (see setReceiverAddress).
    event UpdateReceiverAddress(address receiver_);
    /// @notice ERC-1967, logged from the proxy by upgradeToAndCall. Not in
    ///         abi/DevLicenseDimo.json: the indexer adds it to every contract.
    event Upgraded(address indexed implementation);
    /// @dev As OpenZeppelin 5's Initializable, which DIMO's uses: logged by
    ///      the `initializer` modifier after the initializer's body.
    event Initialized(uint64 version);

    // The roles of DIMO's source (developer-license src/): who may do what.
    bytes32 public constant LICENSE_ADMIN_ROLE = keccak256("LICENSE_ADMIN_ROLE");
    bytes32 public constant REVOKER_ROLE = keccak256("REVOKER_ROLE");
    bytes32 public constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");

    // bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)
    bytes32 private constant _IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    /// @dev This implementation's own address, to tell a call through the proxy.
    address private immutable _self;

    string public name;
    string public symbol;
    IDevnetDimoToken public immutable dimoToken;
    /// @notice The implementation's deployer (the devnet's admin, who also
    ///         initializes the proxy): holds every role at first (the roles decide).
    address public immutable admin;
    /// @notice Receives license fees (the deployer at first; setReceiverAddress).
    address public receiver;

    uint256 public periodValidity;
    uint256 public licenseCost;
    /// @notice Highest token id issued so far (ids start at 1).
    uint256 public lastTokenId;
    uint256 public totalStaked;
    /// @notice Events emitted by the devnet-only bulk hook (for benchmarks).
    uint256 public bulkEmitted;
    /// @dev Set by initialize (and, in an implementation's own storage, by its constructor).
    bool private _initialized;

    mapping(uint256 => address) private _owners;
    mapping(address => uint256) private _balances;
    /// @dev As DIMO's: both client id mappings are deleted by revoke.
    mapping(uint256 => address) public tokenIdToClientId;
    mapping(address => uint256) public clientIdToTokenId;
    /// @dev As DIMO's: the alias is a bytes32 (the string's bytes, zero-padded),
    ///      in both directions; revoke deletes both.
    mapping(uint256 => bytes32) private _aliases;
    mapping(bytes32 => uint256) private _aliasToken;
    mapping(uint256 => mapping(address => uint256)) private _signerEnabledAt;
    mapping(uint256 => mapping(bytes32 => bool)) private _redirectUris;
    mapping(uint256 => uint256) public stakedBalance;
    mapping(uint256 => bool) public frozen;

    // Devnet-only bookkeeping so that state readers can enumerate without
    // scanning logs (see signersOf / redirectUrisOf). Logs nothing.
    mapping(uint256 => address[]) private _signerList;
    mapping(uint256 => mapping(address => bool)) private _signerListed;
    mapping(uint256 => string[]) private _uriList;
    mapping(uint256 => mapping(bytes32 => bool)) private _uriListed;

    /// @dev As DIMO's: the LICENSE_ADMIN_ROLE gates freezes, forfeits,
    ///      adminWithdraw and every setting; REVOKER_ROLE gates revoke.
    modifier onlyAdmin() {
        require(_hasRole[LICENSE_ADMIN_ROLE][msg.sender], "DevLicense: not license admin");
        _;
    }

    modifier onlyLicenseOwner(uint256 tokenId) {
        require(_owners[tokenId] != address(0), "DevLicense: invalid token");
        require(_owners[tokenId] == msg.sender, "DevLicense: not license owner");
        _;
    }

    /// @dev Runs once per implementation, in the implementation's own code:
    ///      the immutables (the token, the deployer) live there, so a proxy
    ///      reads them through delegatecall. Storage (roles, settings) is
    ///      the proxy's and is written by initialize.
    constructor(address dimoToken_) {
        dimoToken = IDevnetDimoToken(dimoToken_);
        admin = msg.sender;
        _self = address(this);
        // As DIMO's `_disableInitializers()`: the implementation's own
        // storage can never be initialized, only a proxy's.
        _initialized = true;
    }

    /// @notice Sets up the proxy's storage, once, with the caller (the
    ///         deployer, through the proxy's constructor) holding every role.
    ///         Logs what the devnet's plain constructor logged before: the
    ///         four RoleGranted, in this order; then Initialized(1), as
    ///         DIMO's (OpenZeppelin's `initializer` logs it last).
    function initialize() external {
        require(!_initialized, "Initializable: already initialized");
        _initialized = true;
        receiver = msg.sender;
        name = _licenseName();
        symbol = "DLX";
        periodValidity = 365 days;
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _grantRole(LICENSE_ADMIN_ROLE, msg.sender);
        _grantRole(REVOKER_ROLE, msg.sender);
        _grantRole(UPGRADER_ROLE, msg.sender);
        emit Initialized(1);
    }

    function _licenseName() internal pure virtual returns (string memory);

    // ------------------------------------------------------------------
    // UUPS (ERC-1822 / ERC-1967), as DIMO's DevLicenseDimo
    // (UUPSUpgradeable, `_authorizeUpgrade` gated by UPGRADER_ROLE): the
    // upgrade is a function of the implementation, called through the
    // proxy, which stores the new implementation in the proxy's ERC-1967
    // slot and logs Upgraded from the proxy's address.
    // ------------------------------------------------------------------

    /// @notice The implementation's ERC-1822 answer: a new implementation
    ///         must give it, or the upgrade reverts (OpenZeppelin's check).
    function proxiableUUID() external view returns (bytes32) {
        require(address(this) == _self, "UUPS: must not be called through delegatecall");
        return _IMPLEMENTATION_SLOT;
    }

    /// @notice UPGRADER_ROLE only, through the proxy: switch to
    ///         `newImplementation`, log Upgraded, then delegate `data` to it
    ///         when not empty.
    function upgradeToAndCall(address newImplementation, bytes calldata data) external onlyRole(UPGRADER_ROLE) {
        require(address(this) != _self, "UUPS: must be called through the proxy");
        require(newImplementation.code.length > 0, "ERC1967: not a contract");
        (bool ok, bytes memory uuid) = newImplementation.staticcall(abi.encodeWithSignature("proxiableUUID()"));
        require(ok && uuid.length == 32 && abi.decode(uuid, (bytes32)) == _IMPLEMENTATION_SLOT,
            "ERC1967: new implementation is not UUPS");
        bytes32 slot = _IMPLEMENTATION_SLOT;
        assembly { sstore(slot, newImplementation) }
        emit Upgraded(newImplementation);
        if (data.length > 0) {
            (bool done, bytes memory reason) = newImplementation.delegatecall(data);
            if (!done) assembly { revert(add(reason, 32), mload(reason)) }
        }
    }

    /// @notice Which generation of the devnet's implementation this is (1;
    ///         DevLicenseDimoV2 answers 2). Logs nothing.
    function implementationVersion() external pure virtual returns (uint256) {
        return 1;
    }

    // AccessControl (OpenZeppelin's rules and events): DevnetRoles.sol.

    // ------------------------------------------------------------------
    // Issue
    // ------------------------------------------------------------------

    /// @notice Issues a license to the caller, paying `licenseCost` DIMO to the
    ///         receiver first (a DIMO Transfer(caller -> receiver) when non-zero).
    ///         Logs, in order: Issued, LicenseAliasSet (with an alias; in the
    ///         bytes32 variant always, all-zero without one), Locked,
    ///         Transfer(0x0 -> caller).
    function issueInDimo(string calldata licenseAlias) external returns (uint256 tokenId, address clientId) {
        if (licenseCost != 0) {
            require(dimoToken.transferFrom(msg.sender, receiver, licenseCost), "DevLicense: fee");
        }
        tokenId = ++lastTokenId;
        clientId = address(new LicenseAccount{salt: bytes32(tokenId)}(tokenId));
        tokenIdToClientId[tokenId] = clientId;
        clientIdToTokenId[clientId] = tokenId;
        _owners[tokenId] = msg.sender;
        _balances[msg.sender] += 1;

        emit Issued(tokenId, msg.sender, clientId);
        if (bytes(licenseAlias).length != 0 || _everyIssueSetsAlias()) {
            _setAlias(tokenId, licenseAlias);
        }
        emit Locked(tokenId);
        emit Transfer(address(0), msg.sender, tokenId);
    }

    // ------------------------------------------------------------------
    // Alias: at most 32 bytes, unique; a new alias frees the old one. As
    // DIMO's, keyed by the zero-padded bytes32 ("abc" and "abc\0" are one
    // alias), refused while any license holds the key (its own holder
    // included), and the bytes32 era's quirk kept: an issue without an alias
    // there sets the all-zero key, so that key is "held" until a license
    // whose alias is zero sets another or is revoked.
    // ------------------------------------------------------------------

    /// @dev The string variant refuses "" (DIMO's reads the word after an
    ///      empty string, whatever memory holds: not reproducible); the
    ///      bytes32 variant accepts it as the all-zero alias, as DIMO's
    ///      setLicenseAlias(tokenId, bytes32(0)) did ("no alias").
    function setLicenseAlias(uint256 tokenId, string calldata licenseAlias) external onlyLicenseOwner(tokenId) {
        require(bytes(licenseAlias).length != 0 || _everyIssueSetsAlias(), "DevLicense: empty alias");
        _setAlias(tokenId, licenseAlias);
    }

    function _aliasKey(bytes memory raw) internal pure returns (bytes32 key) {
        for (uint256 i = 0; i < raw.length; i++) {
            key |= bytes32(raw[i]) >> (i * 8);
        }
    }

    function _setAlias(uint256 tokenId, string memory licenseAlias) private {
        require(bytes(licenseAlias).length <= 32, "DevLicense: alias too long");
        bytes32 key = _aliasKey(bytes(licenseAlias));
        require(_aliasToken[key] == 0, "DevLicense: alias taken");
        delete _aliasToken[_aliases[tokenId]];
        _aliases[tokenId] = key;
        _aliasToken[key] = tokenId;
        _emitAlias(tokenId, licenseAlias);
    }

    /// @dev The places where the two implementations differ.
    function _emitAlias(uint256 tokenId, string memory licenseAlias) internal virtual;

    function _everyIssueSetsAlias() internal pure virtual returns (bool);

    /// @notice As DIMO's string-era view (solady fromSmallString): the bytes
    ///         up to the first zero byte. (The bytes32 era's returned the
    ///         bytes32; the devnet keeps one view for both variants.)
    function getLicenseAliasByTokenId(uint256 tokenId) external view returns (string memory) {
        bytes32 key = _aliases[tokenId];
        uint256 n = 0;
        while (n < 32 && key[n] != 0) n++;
        bytes memory out = new bytes(n);
        for (uint256 i = 0; i < n; i++) out[i] = key[i];
        return string(out);
    }

    function getTokenIdByLicenseAlias(string calldata licenseAlias) external view returns (uint256) {
        if (bytes(licenseAlias).length > 32) return 0;
        return _aliasToken[_aliasKey(bytes(licenseAlias))];
    }

    function getTokenIdByLicenseAlias(bytes32 licenseAlias) external view returns (uint256) {
        return _aliasToken[licenseAlias];
    }

    /// @notice Devnet-only: the alias key (zero-padded bytes) of a token.
    function aliasKeyOf(uint256 tokenId) external view returns (bytes32) {
        return _aliases[tokenId];
    }

    // ------------------------------------------------------------------
    // Signers: enabledAt = block timestamp; valid while now - enabledAt <= periodValidity.
    // ------------------------------------------------------------------

    function enableSigner(uint256 tokenId, address signer) external onlyLicenseOwner(tokenId) {
        require(signer != address(0), "DevLicense: zero signer");
        _signerEnabledAt[tokenId][signer] = block.timestamp;
        if (!_signerListed[tokenId][signer]) {
            _signerListed[tokenId][signer] = true;
            _signerList[tokenId].push(signer);
        }
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

    /// @notice enabledAt + periodValidity, or 0 when the signer is not enabled.
    function getSignerExpiration(uint256 tokenId, address signer) external view returns (uint256) {
        uint256 enabledAt = _signerEnabledAt[tokenId][signer];
        return enabledAt == 0 ? 0 : enabledAt + periodValidity;
    }

    function signerEnabledAt(uint256 tokenId, address signer) external view returns (uint256) {
        return _signerEnabledAt[tokenId][signer];
    }

    function setPeriodValidity(uint256 periodValidity_) external onlyAdmin {
        periodValidity = periodValidity_;
        emit UpdatePeriodValidity(periodValidity_);
    }

    function setLicenseCost(uint256 licenseCost_) external onlyAdmin {
        licenseCost = licenseCost_;
        emit UpdateLicenseCost(licenseCost_);
    }

    /// @notice As DIMO's: moves the fee receiver and logs
    ///         UpdateReceiverAddress, an event of no license meaning that
    ///         abi/DevLicenseDimo.json leaves out on purpose: the indexer,
    ///         which asks a license contract for every log, must store it
    ///         raw and count it (issue #22: nothing unknown passes silently).
    function setReceiverAddress(address receiver_) external onlyAdmin {
        receiver = receiver_;
        emit UpdateReceiverAddress(receiver_);
    }

    // ------------------------------------------------------------------
    // Redirect URIs
    // ------------------------------------------------------------------

    function setRedirectUri(uint256 tokenId, bool enabled, string calldata uri) external onlyLicenseOwner(tokenId) {
        bytes32 key = keccak256(bytes(uri));
        if (!_uriListed[tokenId][key]) {
            _uriListed[tokenId][key] = true;
            _uriList[tokenId].push(uri);
        }
        if (enabled) {
            _redirectUris[tokenId][key] = true;
            emit RedirectUriEnabled(tokenId, uri);
        } else {
            delete _redirectUris[tokenId][key];
            emit RedirectUriDisabled(tokenId, uri);
        }
    }

    function redirectUriStatus(uint256 tokenId, string calldata uri) external view returns (bool) {
        return _redirectUris[tokenId][keccak256(bytes(uri))];
    }

    /// @notice DEVNET-ONLY view: every signer ever enabled with enableSigner for
    ///         the token, in first-enable order (bulk-hook signers are not listed:
    ///         the hook writes no storage, they are never enabled).
    function signersOf(uint256 tokenId) external view returns (address[] memory) {
        return _signerList[tokenId];
    }

    /// @notice DEVNET-ONLY view: every redirect URI ever set (on or off) for the token.
    function redirectUrisOf(uint256 tokenId) external view returns (string[] memory) {
        return _uriList[tokenId];
    }

    // ------------------------------------------------------------------
    // Stake per license. Each path moves DIMO first, then logs its event.
    // ------------------------------------------------------------------

    /// @notice DIMO Transfer(owner -> this), then StakeDeposit. As DIMO's, an
    ///         amount of 0 is accepted (a StakeDeposit of 0).
    function lock(uint256 tokenId, uint256 amount) external onlyLicenseOwner(tokenId) {
        require(dimoToken.transferFrom(msg.sender, address(this), amount), "DevLicense: transferFrom");
        stakedBalance[tokenId] += amount;
        totalStaked += amount;
        emit StakeDeposit(tokenId, msg.sender, amount);
    }

    /// @notice DIMO Transfer(this -> owner), then StakeWithdraw. Refused while frozen.
    function withdraw(uint256 tokenId, uint256 amount) external onlyLicenseOwner(tokenId) {
        require(!frozen[tokenId], "DevLicense: frozen");
        require(amount != 0, "DevLicense: zero amount");
        uint256 staked = stakedBalance[tokenId];
        require(staked >= amount, "DevLicense: amount exceeds stake");
        stakedBalance[tokenId] = staked - amount;
        totalStaked -= amount;
        require(dimoToken.transfer(msg.sender, amount), "DevLicense: transfer");
        emit StakeWithdraw(tokenId, msg.sender, amount);
    }

    /// @notice Suspension (true) and its lifting (false); logs the stake at that
    ///         moment. As DIMO's, the token need not exist: a freeze before
    ///         the issue holds from the issue on, and revoked tokens can be
    ///         frozen too.
    function adminFreeze(uint256 tokenId, bool frozen_) external onlyAdmin {
        frozen[tokenId] = frozen_;
        emit AssetFreezeUpdate(tokenId, stakedBalance[tokenId], frozen_);
    }

    /// @notice Forfeit by burn: DIMO Transfer(this -> 0x0), then AssetForfeit.
    function adminBurnLockedFunds(uint256 tokenId, uint256 amount) external onlyAdmin {
        _forfeit(tokenId, amount);
        dimoToken.burn(amount);
        emit AssetForfeit(tokenId, amount);
    }

    /// @notice Forfeit by reallocation: DIMO Transfer(this -> to), then AssetForfeit.
    function adminReallocate(uint256 tokenId, uint256 amount, address to) external onlyAdmin {
        require(to != address(0), "DevLicense: zero destination");
        _forfeit(tokenId, amount);
        require(dimoToken.transfer(to, amount), "DevLicense: transfer");
        emit AssetForfeit(tokenId, amount);
    }

    /// @dev As DIMO's: any token, any amount up to its stake, 0 included (an
    ///      AssetForfeit of 0 after a DIMO Transfer of 0).
    function _forfeit(uint256 tokenId, uint256 amount) private {
        uint256 staked = stakedBalance[tokenId];
        require(staked >= amount, "DevLicense: amount exceeds stake");
        stakedBalance[tokenId] = staked - amount;
        totalStaked -= amount;
    }

    /// @notice As DIMO's: sends the DIMO above the sum of all stakes (tokens
    ///         sent by mistake) to `to`: a DIMO Transfer out of the contract
    ///         with no event of the license's own.
    function adminWithdraw(address to) external onlyAdmin {
        uint256 amount = dimoToken.balanceOf(address(this)) - totalStaked;
        require(dimoToken.transfer(to, amount), "DevLicense: transfer");
    }

    // ------------------------------------------------------------------
    // Revoke, as DIMO's: burn, only with zero stake; deletes the client id
    // mappings and the alias in both directions with no event of their own
    // (the burn Transfer is the only trace), so the alias is free again.
    // Signers, redirect URIs and the freeze stay. No existence check: a
    // token never issued, or already revoked, logs Transfer(0x0 -> 0x0).
    // ------------------------------------------------------------------

    function revoke(uint256 tokenId) external onlyRole(REVOKER_ROLE) {
        require(stakedBalance[tokenId] == 0, "DevLicense: stake not zero");
        address owner_ = _owners[tokenId];
        delete _owners[tokenId];
        if (owner_ != address(0)) _balances[owner_] -= 1;
        address clientId = tokenIdToClientId[tokenId];
        delete tokenIdToClientId[tokenId];
        delete clientIdToTokenId[clientId];
        bytes32 key = _aliases[tokenId];
        delete _aliases[tokenId];
        delete _aliasToken[key];
        emit Transfer(owner_, address(0), tokenId);
    }

    // ------------------------------------------------------------------
    // ERC-721 / ERC-5192 surface: soulbound.
    // ------------------------------------------------------------------

    function ownerOf(uint256 tokenId) external view returns (address) {
        address owner_ = _owners[tokenId];
        require(owner_ != address(0), "ERC721: invalid token ID");
        return owner_;
    }

    function balanceOf(address owner_) external view returns (uint256) {
        require(owner_ != address(0), "ERC721: zero address");
        return _balances[owner_];
    }

    /// @notice Devnet-only: the client id the token was issued with (its
    ///         CREATE2 address, computed: no storage), also after revoke
    ///         (DIMO's tokenIdToClientId forgets it); 0x0 for an id not issued.
    function clientIdOf(uint256 tokenId) external view returns (address) {
        if (tokenId == 0 || tokenId > lastTokenId) return address(0);
        bytes32 initHash = keccak256(abi.encodePacked(type(LicenseAccount).creationCode, abi.encode(tokenId)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), bytes32(tokenId), initHash)))));
    }

    function locked(uint256 tokenId) external view returns (bool) {
        require(_owners[tokenId] != address(0), "ERC721: invalid token ID");
        return true;
    }

    function transferFrom(address, address, uint256) external pure {
        revert("DevLicense: soulbound");
    }

    function safeTransferFrom(address, address, uint256) external pure {
        revert("DevLicense: soulbound");
    }

    function safeTransferFrom(address, address, uint256, bytes calldata) external pure {
        revert("DevLicense: soulbound");
    }

    function approve(address, uint256) external pure {
        revert("DevLicense: soulbound");
    }

    function setApprovalForAll(address, bool) external pure {
        revert("DevLicense: soulbound");
    }

    function getApproved(uint256) external pure returns (address) {
        return address(0);
    }

    function isApprovedForAll(address, address) external pure returns (bool) {
        return false;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 // ERC-165
            || interfaceId == 0x80ac58cd // ERC-721
            || interfaceId == 0xb45a3c0e; // ERC-5192
    }

    // ------------------------------------------------------------------
    // DEVNET-ONLY BULK HOOK. Not part of DevLicenseDimo; exists only so the
    // benchmarks can produce millions of real license events cheaply.
    // Emits `count` events for the existing licenses firstTokenId ..
    // firstTokenId + tokenCount - 1 as SignerEnabled / SignerDisabled pairs
    // (event i even: enable, i odd: disable the same signer on the same
    // token), so an indexer ends with every bulk signer disabled, which is
    // what the (untouched) storage says too. Signers come from a pool of 64
    // addresses 0xb0b0...00 .. 0xb0b0...3f. No storage is written except the
    // bulkEmitted counter. About 2,000 gas per event.
    // ------------------------------------------------------------------

    function devnetBulkEmit(uint256 firstTokenId, uint256 tokenCount, uint256 count, uint256 salt) external onlyAdmin {
        require(tokenCount != 0 && firstTokenId != 0, "DevLicense: bad range");
        require(firstTokenId + tokenCount - 1 <= lastTokenId, "DevLicense: tokens do not exist");
        uint256 base = uint256(uint160(0xB0b0000000000000000000000000000000000000));
        for (uint256 i = 0; i < count; ) {
            uint256 pair = i >> 1;
            uint256 tokenId = firstTokenId + (pair % tokenCount);
            address signer = address(uint160(base + ((salt + pair) & 63)));
            if (i & 1 == 0) {
                emit SignerEnabled(tokenId, signer);
            } else {
                emit SignerDisabled(tokenId, signer);
            }
            unchecked { ++i; }
        }
        bulkEmitted += count;
    }
}

/// @title DevLicenseDimo (devnet, current implementation)
/// @notice LicenseAliasSet carries the alias as a string.
contract DevLicenseDimo is DevLicenseBase {
    event LicenseAliasSet(uint256 indexed tokenId, string licenseAlias);

    constructor(address dimoToken_) DevLicenseBase(dimoToken_) {}

    function _licenseName() internal pure override returns (string memory) {
        return "DIMO Developer License";
    }

    function _emitAlias(uint256 tokenId, string memory licenseAlias) internal override {
        emit LicenseAliasSet(tokenId, licenseAlias);
    }

    function _everyIssueSetsAlias() internal pure override returns (bool) {
        return false;
    }
}

/// @title DevLicenseDimoBytes32Alias (devnet, the older implementation, June 2024 to March 2025)
/// @notice Same rules; LicenseAliasSet carries the alias as bytes32, right-padded
///         with zeros, and, as DIMO's tested `licenseAlias.length > 0` (always
///         true for a bytes32), every issue logs one: all-zero without an
///         alias. (DIMO's took the alias as a bytes32 argument; the devnet takes
///         a string and pads it, which logs the same.)
contract DevLicenseDimoBytes32Alias is DevLicenseBase {
    event LicenseAliasSet(uint256 indexed tokenId, bytes32 licenseAlias);

    constructor(address dimoToken_) DevLicenseBase(dimoToken_) {}

    function _licenseName() internal pure override returns (string memory) {
        return "DIMO Developer License (bytes32 alias)";
    }

    function _emitAlias(uint256 tokenId, string memory licenseAlias) internal override {
        emit LicenseAliasSet(tokenId, _aliasKey(bytes(licenseAlias)));
    }

    function _everyIssueSetsAlias() internal pure override returns (bool) {
        return true;
    }
}

/// @title DevLicenseDimoV2 (devnet, a second implementation of the same proxy)
/// @notice The same rules, storage and events as DevLicenseDimo; only
///         implementationVersion differs. The scenarios upgrade an app
///         license proxy to it (UPGRADER_ROLE), so that the devnet has a
///         license `Upgraded` after the deployment one, as Polygon's proxy
///         has (dimo-contracts.md section 1: three implementations so far).
contract DevLicenseDimoV2 is DevLicenseDimo {
    constructor(address dimoToken_) DevLicenseDimo(dimoToken_) {}

    function implementationVersion() external pure override returns (uint256) {
        return 2;
    }
}
