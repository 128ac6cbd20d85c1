// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: SACD's Template contract (Polygon 0x666309AD...), an
// ERC-721 per template, in two implementations to be used behind
// DevnetProxy:
//   SacdTemplate          as deployed: TemplateCreated, TemplateDeactivated;
//   SacdTemplateActivate  the newest source: adds TemplateActivated.
// Written for the devnet; test code only.
pragma solidity 0.8.28;

/// @title SacdTemplate (devnet)
/// @notice The manager (whoever ran initialize) creates templates: a
///         templateId = keccak256(cid) for a source "ipfs://<cid>", minted
///         as an NFT to `owner`, active from creation. Only the template
///         NFT's owner deactivates it. getTemplate reverts for a template
///         that does not exist; templates() answers zeros for it. Template
///         NFTs transfer (by their owner); none is ever burned.
contract SacdTemplate {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event TemplateCreated(
        uint256 indexed templateId, address indexed creator, address indexed asset, uint256 permissions, string cid
    );
    event TemplateDeactivated(uint256 indexed templateId);
    event TemplateActivated(uint256 indexed templateId);
    /// @dev The proxy's event, declared so that one ABI decodes every log of the proxy.
    event Upgraded(address indexed implementation);

    struct TemplateData {
        address asset;
        uint256 permissions;
        string source;
        bool isActive;
    }

    address internal _manager;
    mapping(uint256 => address) internal _owners;
    mapping(uint256 => TemplateData) internal _templates;

    error AlreadyInitialized();
    error NotManager(address caller);
    error InvalidTemplateData();
    error TemplateExists(uint256 templateId);
    error TemplateNotFound(uint256 templateId);
    error UnauthorizedTemplateAccess(address caller, uint256 templateId);

    /// @notice Through the proxy's constructor: the caller becomes the manager.
    function initialize() external {
        if (_manager != address(0)) revert AlreadyInitialized();
        _manager = msg.sender;
    }

    /// @notice Manager only. source must be "ipfs://" and a 46-character CID.
    function createTemplate(address owner, address asset, uint256 permissions, string calldata source)
        external
        returns (uint256 templateId)
    {
        if (msg.sender != _manager) revert NotManager(msg.sender);
        bytes calldata s = bytes(source);
        if (s.length != 53 || bytes7(s[:7]) != bytes7("ipfs://") || owner == address(0)) revert InvalidTemplateData();
        templateId = uint256(keccak256(s[7:]));
        if (_owners[templateId] != address(0)) revert TemplateExists(templateId);
        _templates[templateId] = TemplateData(asset, permissions, source, true);
        _owners[templateId] = owner;
        emit Transfer(address(0), owner, templateId);
        emit TemplateCreated(templateId, owner, asset, permissions, source);
    }

    /// @notice By the template NFT's owner.
    function deactivateTemplate(uint256 templateId) external {
        _requireOwner(templateId);
        _templates[templateId].isActive = false;
        emit TemplateDeactivated(templateId);
    }

    /// @notice By the template NFT's owner (no approvals).
    function transferFrom(address from, address to, uint256 templateId) external {
        address holder = _requireOwner(templateId);
        require(from == holder && to != address(0), "SacdTemplate: bad transfer");
        _owners[templateId] = to;
        emit Transfer(from, to, templateId);
    }

    function ownerOf(uint256 templateId) external view returns (address holder) {
        holder = _owners[templateId];
        if (holder == address(0)) revert TemplateNotFound(templateId);
    }

    function getTemplate(uint256 templateId)
        external
        view
        returns (address asset, uint256 permissions, string memory source, bool isActive)
    {
        if (_owners[templateId] == address(0)) revert TemplateNotFound(templateId);
        TemplateData storage t = _templates[templateId];
        return (t.asset, t.permissions, t.source, t.isActive);
    }

    function templates(uint256 templateId)
        external
        view
        returns (address asset, uint256 permissions, string memory source, bool isActive)
    {
        TemplateData storage t = _templates[templateId];
        return (t.asset, t.permissions, t.source, t.isActive);
    }

    function isTemplateActive(uint256 templateId) external view returns (bool) {
        return _owners[templateId] != address(0) && _templates[templateId].isActive;
    }

    function _requireOwner(uint256 templateId) internal view returns (address holder) {
        holder = _owners[templateId];
        if (holder == address(0)) revert TemplateNotFound(templateId);
        if (holder != msg.sender) revert UnauthorizedTemplateAccess(msg.sender, templateId);
    }
}

/// @title SacdTemplateActivate (devnet): the owner may re-activate a template.
contract SacdTemplateActivate is SacdTemplate {
    function activateTemplate(uint256 templateId) external {
        _requireOwner(templateId);
        _templates[templateId].isActive = true;
        emit TemplateActivated(templateId);
    }
}

/// @title DevnetConnections
/// @notice A minimal transferable ERC-721 standing in for DIMO's
///         ConnectionsManager (Polygon 0x41799E9D...): tokenId = the
///         connection's name as bytes32. deploy.js installs its code at the
///         Polygon address (anvil_setCode), so the indexer's connection rule
///         applies on the devnet as on Polygon. No constructor state: anyone
///         mints a free name to anyone.
contract DevnetConnections {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);

    mapping(uint256 => address) private _owners;

    function mint(address to, bytes32 name) external returns (uint256 tokenId) {
        tokenId = uint256(name);
        require(to != address(0) && _owners[tokenId] == address(0), "DevnetConnections: bad mint");
        _owners[tokenId] = to;
        emit Transfer(address(0), to, tokenId);
    }

    function transferFrom(address from, address to, uint256 tokenId) external {
        require(_owners[tokenId] == from && msg.sender == from && to != address(0), "DevnetConnections: bad transfer");
        _owners[tokenId] = to;
        emit Transfer(from, to, tokenId);
    }

    function ownerOf(uint256 tokenId) external view returns (address holder) {
        holder = _owners[tokenId];
        require(holder != address(0), "ERC721: invalid token ID");
    }
}
