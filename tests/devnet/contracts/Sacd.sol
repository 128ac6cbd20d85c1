// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: a SACD-compatible permission registry (Service Access
// Contract Definition, Polygon 0x3c152B5d...), in the three implementations
// the Polygon proxy has run, to be used behind DevnetProxy:
//   Sacd           the 2024 code: PermissionsSet without templateId; no
//                  owner shortcut, burned tokens keep their grants;
//   SacdTemplated  the templateId upgrade: PermissionsSet with templateId
//                  (also from the 6-argument setPermissions), templates,
//                  account grants, payments, the owner shortcut and the
//                  burned-token rule in the views;
//   SacdRenounce   adds the grantee's renounce (PermissionsRenounced).
// They share one storage layout (SacdStore), so each upgrade keeps every
// record. Written for the devnet; test code only.
pragma solidity 0.8.28;

/// @dev The one ERC-721 view SACD needs from an asset.
interface IDevnetOwnerOf {
    function ownerOf(uint256 tokenId) external view returns (address);
}

/// @dev What SACD reads from the Template contract.
interface IDevnetTemplates {
    function templates(uint256 templateId)
        external
        view
        returns (address asset, uint256 permissions, string memory source, bool isActive);

    /// @dev Reverts for a template that does not exist.
    function getTemplate(uint256 templateId)
        external
        view
        returns (address asset, uint256 permissions, string memory source, bool isActive);
}

/// @dev The storage of every implementation, in this order (the 2024 code
///      uses the first two slots only). A record's templateId is its last
///      field, so 2024 records read as templateId 0 after the upgrade.
abstract contract SacdStore {
    struct Grant {
        uint256 permissions;
        uint256 expiration;
        string source;
        uint256 templateId;
    }

    // asset => tokenId => version
    mapping(address => mapping(uint256 => uint256)) internal _versions;
    // asset => tokenId => version => grantee => record
    mapping(address => mapping(uint256 => mapping(uint256 => mapping(address => Grant)))) internal _grants;
    // since the templateId upgrade
    address internal _admin;
    bool internal _templatedInitialized;
    address internal _templateContract;
    // grantor => grantee => record
    mapping(address => mapping(address => Grant)) internal _accountGrants;
    // asset => grantee (payer) => grantor => payments so far
    mapping(address => mapping(address => mapping(address => uint256))) internal _payments;

    error InvalidTokenId(address asset, uint256 tokenId);
    error Unauthorized(address caller);
    error ZeroAddress();

    function _current(address asset, uint256 tokenId, address grantee) internal view returns (Grant storage) {
        return _grants[asset][tokenId][_versions[asset][tokenId]][grantee];
    }

    /// @notice Called by the asset contract when a token changes hands
    ///         between two owners: invalidates every earlier record. Emits nothing.
    function onTransfer(address asset, uint256 tokenId) external {
        if (msg.sender != asset) revert Unauthorized(msg.sender);
        unchecked { _versions[asset][tokenId] += 1; }
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
}

/// @title Sacd (devnet, the 2024 implementation)
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
contract Sacd is SacdStore {
    event PermissionsSet(
        address indexed asset,
        uint256 indexed tokenId,
        uint256 permissions,
        address indexed grantee,
        uint256 expiration,
        string source
    );

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
        Grant storage g = _current(asset, tokenId, grantee);
        g.permissions = permissions;
        g.expiration = expiration;
        g.source = source;
        emit PermissionsSet(asset, tokenId, permissions, grantee, expiration, source);
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
}

/// @title SacdTemplated (devnet, the templateId implementation)
/// @notice Records carry a templateId; every setPermissions (also the
///         6-argument one, templateId 0) emits the PermissionsSet with
///         templateId. A record counts while expiration > now and, when its
///         templateId is not 0, while the Template contract's getTemplate
///         answers an active template. Views since this upgrade: a token
///         whose ownerOf reverts (burned, never minted) has no permission,
///         and its owner has every permission. Account grants
///         (setAccountPermissions) are per (grantor, grantee), logged as
///         PermissionsSet(grantor, 0, ...), never reset, and the grantor has
///         every permission of its own. PaymentSet records payments.
contract SacdTemplated is SacdStore {
    /// @dev The 2024 event, declared so that one ABI decodes every log of the proxy.
    event PermissionsSet(
        address indexed asset,
        uint256 indexed tokenId,
        uint256 permissions,
        address indexed grantee,
        uint256 expiration,
        string source
    );
    event PermissionsSet(
        address indexed asset,
        uint256 indexed tokenId,
        uint256 permissions,
        address indexed grantee,
        uint256 expiration,
        uint256 templateId,
        string source
    );
    event PaymentSet(
        address indexed asset,
        address indexed grantee,
        address indexed grantor,
        uint256 amount,
        uint256 expiration,
        string source
    );
    /// @dev The proxy's event, declared for the same reason.
    event Upgraded(address indexed implementation);

    error AlreadyInitialized();
    error TemplateContractNotSet();
    error TemplateNotActive(uint256 templateId);
    error TemplateAssetMismatch(uint256 templateId);
    error TemplatePermissionsMismatch(uint256 templateId);

    /// @notice Run once, through the proxy's upgradeToAndCall: the caller
    ///         (the proxy's admin) becomes SACD's admin; sets the Template contract.
    function initializeTemplated(address templateContract) external {
        if (_templatedInitialized) revert AlreadyInitialized();
        _templatedInitialized = true;
        _admin = msg.sender;
        _templateContract = templateContract;
    }

    /// @notice Admin only; no event (as deployed).
    function setTemplateContract(address templateContract) external {
        if (msg.sender != _admin) revert Unauthorized(msg.sender);
        _templateContract = templateContract;
    }

    function templateContract() external view returns (address) {
        return _templateContract;
    }

    function setPermissions(
        address asset,
        uint256 tokenId,
        address grantee,
        uint256 permissions,
        uint256 expiration,
        string calldata source
    ) external {
        _setPermissions(asset, tokenId, grantee, permissions, expiration, 0, source);
    }

    function setPermissions(
        address asset,
        uint256 tokenId,
        address grantee,
        uint256 permissions,
        uint256 expiration,
        uint256 templateId,
        string calldata source
    ) external {
        _setPermissions(asset, tokenId, grantee, permissions, expiration, templateId, source);
    }

    /// @notice The caller grants `grantee` account-level permissions (no token).
    ///         A template must be one whose asset is address 0.
    function setAccountPermissions(
        address grantee,
        uint256 permissions,
        uint256 expiration,
        uint256 templateId,
        string calldata source
    ) external {
        if (grantee == address(0)) revert ZeroAddress();
        _validateTemplate(templateId, address(0), permissions);
        _accountGrants[msg.sender][grantee] = Grant(permissions, expiration, source, templateId);
        emit PermissionsSet(msg.sender, 0, permissions, grantee, expiration, templateId, source);
    }

    /// @notice Records a payment from the caller (grantee) to a grantor. No permission meaning.
    function setPayment(address asset, address grantor, uint256 amount, uint256 expiration, string calldata source)
        external
    {
        if (grantor == address(0)) revert ZeroAddress();
        _payments[asset][msg.sender][grantor] += 1;
        emit PaymentSet(asset, msg.sender, grantor, amount, expiration, source);
    }

    function hasPermission(address asset, uint256 tokenId, address grantee, uint8 permissionIndex)
        external
        view
        returns (bool)
    {
        uint8 shift = 2 * permissionIndex;
        return hasPermissions(asset, tokenId, grantee, uint256(3) << shift);
    }

    /// @notice The owner has every permission; a token whose ownerOf reverts has none.
    function hasPermissions(address asset, uint256 tokenId, address grantee, uint256 permissions)
        public
        view
        returns (bool)
    {
        try IDevnetOwnerOf(asset).ownerOf(tokenId) returns (address holder) {
            if (holder == grantee) return true;
        } catch {
            return false;
        }
        Grant storage g = _current(asset, tokenId, grantee);
        return _valid(g) && g.permissions & permissions == permissions;
    }

    /// @notice The requested bits the grantee holds (all of them for the owner; 0 for a burned token).
    function getPermissions(address asset, uint256 tokenId, address grantee, uint256 permissions)
        external
        view
        returns (uint256)
    {
        try IDevnetOwnerOf(asset).ownerOf(tokenId) returns (address holder) {
            if (holder == grantee) return permissions;
        } catch {
            return 0;
        }
        Grant storage g = _current(asset, tokenId, grantee);
        return _valid(g) ? g.permissions & permissions : 0;
    }

    function hasAccountPermission(address grantor, address grantee, uint8 permissionIndex)
        external
        view
        returns (bool)
    {
        uint8 shift = 2 * permissionIndex;
        return hasAccountPermissions(grantor, grantee, uint256(3) << shift);
    }

    function hasAccountPermissions(address grantor, address grantee, uint256 permissions)
        public
        view
        returns (bool)
    {
        if (grantor == grantee) return true;
        Grant storage g = _accountGrants[grantor][grantee];
        return _valid(g) && g.permissions & permissions == permissions;
    }

    /// @notice The templateId of the token's current record (0 when none).
    function currentTemplateId(address asset, uint256 tokenId, address grantee) external view returns (uint256) {
        return _current(asset, tokenId, grantee).templateId;
    }

    /// @notice The account record of (grantor, grantee).
    function accountPermissionRecords(address grantor, address grantee)
        external
        view
        returns (uint256 permissions, uint256 expiration, string memory source, uint256 templateId)
    {
        Grant storage g = _accountGrants[grantor][grantee];
        return (g.permissions, g.expiration, g.source, g.templateId);
    }

    function paymentCount(address asset, address grantee, address grantor) external view returns (uint256) {
        return _payments[asset][grantee][grantor];
    }

    function _setPermissions(
        address asset,
        uint256 tokenId,
        address grantee,
        uint256 permissions,
        uint256 expiration,
        uint256 templateId,
        string calldata source
    ) internal {
        address holder;
        try IDevnetOwnerOf(asset).ownerOf(tokenId) returns (address o) {
            holder = o;
        } catch {
            revert InvalidTokenId(asset, tokenId);
        }
        if (msg.sender != holder && msg.sender != asset) revert Unauthorized(msg.sender);
        if (grantee == address(0)) revert ZeroAddress();
        _validateTemplate(templateId, asset, permissions);
        Grant storage g = _current(asset, tokenId, grantee);
        g.permissions = permissions;
        g.expiration = expiration;
        g.source = source;
        g.templateId = templateId;
        emit PermissionsSet(asset, tokenId, permissions, grantee, expiration, templateId, source);
    }

    /// @dev At set time: the template must be active, for this asset, with these permissions.
    function _validateTemplate(uint256 templateId, address asset, uint256 permissions) private view {
        if (templateId == 0) return;
        if (_templateContract == address(0)) revert TemplateContractNotSet();
        try IDevnetTemplates(_templateContract).templates(templateId) returns (
            address tAsset, uint256 tPermissions, string memory, bool isActive
        ) {
            if (!isActive) revert TemplateNotActive(templateId);
            if (tAsset != asset) revert TemplateAssetMismatch(templateId);
            if (tPermissions != permissions) revert TemplatePermissionsMismatch(templateId);
        } catch {
            revert TemplateNotActive(templateId);
        }
    }

    /// @dev At read time: unexpired, and its template (if any) exists and is active.
    function _valid(Grant storage g) private view returns (bool) {
        if (g.expiration <= block.timestamp) return false;
        if (g.templateId == 0) return true;
        if (_templateContract == address(0)) return false;
        try IDevnetTemplates(_templateContract).getTemplate(g.templateId) returns (
            address, uint256, string memory, bool isActive
        ) {
            return isActive;
        } catch {
            return false;
        }
    }
}

/// @title SacdRenounce (devnet, the renounce implementation)
/// @notice Adds the grantee's renounce: it deletes the caller's record at
///         the token's current version (no check of the token or its
///         owner), or its account record from a grantor, and always logs
///         PermissionsRenounced, even when there was no record.
contract SacdRenounce is SacdTemplated {
    event PermissionsRenounced(address indexed asset, uint256 indexed tokenId, address indexed grantee);

    function renouncePermissions(address asset, uint256 tokenId) external {
        delete _grants[asset][tokenId][_versions[asset][tokenId]][msg.sender];
        emit PermissionsRenounced(asset, tokenId, msg.sender);
    }

    function renounceAccountPermissions(address grantor) external {
        delete _accountGrants[grantor][msg.sender];
        emit PermissionsRenounced(grantor, 0, msg.sender);
    }
}
