// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: a storage-node anchor contract (Polygon
// 0xf76eEBa3...) emitting exactly its events: StorageNodeAnchorMinted,
// NodeUriUpdated, the ERC-721 Transfer and the proxy's Upgraded. Written
// for the devnet; test code only.
pragma solidity 0.8.28;

/// @title StorageNode (devnet)
/// @notice One ERC-721 token per DIP-5 node operator: tokenId =
///         uint256(keccak256(label)), so a label names one token forever.
///         The minter (the deployer, standing in for MINTER_ROLE) mints;
///         the owner sets the node's URI, transfers it and may burn it.
///         No stake, freeze or slash: DIMO's contract has none.
///         `upgradeTo` stands in for a proxy upgrade: it only logs
///         Upgraded(implementation).
contract StorageNode {
    event StorageNodeAnchorMinted(
        address indexed account,
        uint256 indexed nodeAnchorId,
        address indexed nodeAnchorAddr,
        string nodeAnchorLabel,
        string nodeAnchorUri
    );
    event NodeUriUpdated(uint256 indexed nodeId, string newNodeUri);
    event Transfer(address indexed from, address indexed to, uint256 indexed id);
    event Upgraded(address indexed implementation);

    string public constant name = "DIMO Storage Node (devnet)";
    string public constant symbol = "DIMO/NODE";

    address public immutable minter;

    struct Node {
        address owner;
        address anchor;
        string label;
        string uri;
        uint256 uriChanges; // NodeUriUpdated logs so far
    }

    mapping(uint256 => Node) private _nodes;
    // every id ever minted, in mint order (ids come back after a burn and re-mint)
    uint256[] private _ids;
    mapping(uint256 => bool) private _known;

    constructor() {
        minter = msg.sender;
    }

    function idOf(string memory label) public pure returns (uint256) {
        return uint256(keccak256(bytes(label)));
    }

    /// @notice Minter only; the label must be new (or its token burned).
    ///         Logs Transfer(0x0 -> to), then StorageNodeAnchorMinted.
    function mint(address to, string calldata label, string calldata uri, address anchor)
        external
        returns (uint256 id)
    {
        require(msg.sender == minter, "StorageNode: not the minter");
        require(to != address(0), "StorageNode: mint to zero");
        require(bytes(label).length > 0, "StorageNode: empty label");
        id = idOf(label);
        require(_nodes[id].owner == address(0), "StorageNode: label taken");
        Node storage n = _nodes[id];
        n.owner = to;
        n.anchor = anchor;
        n.label = label;
        n.uri = uri;
        if (!_known[id]) {
            _known[id] = true;
            _ids.push(id);
        }
        emit Transfer(address(0), to, id);
        emit StorageNodeAnchorMinted(to, id, anchor, label, uri);
    }

    /// @notice The node's owner only.
    function setNodeUri(uint256 id, string calldata uri) external {
        require(msg.sender == _requireOwned(id), "StorageNode: not the owner");
        _nodes[id].uri = uri;
        _nodes[id].uriChanges += 1;
        emit NodeUriUpdated(id, uri);
    }

    /// @notice The owner only (no approvals in the devnet).
    function transferFrom(address from, address to, uint256 id) external {
        address holder = _requireOwned(id);
        require(holder == from && msg.sender == from, "StorageNode: not the owner");
        require(to != address(0), "StorageNode: transfer to zero");
        _nodes[id].owner = to;
        emit Transfer(from, to, id);
    }

    /// @notice The owner only. Label, URI and anchor stay readable.
    function burn(uint256 id) external {
        address holder = _requireOwned(id);
        require(msg.sender == holder, "StorageNode: not the owner");
        _nodes[id].owner = address(0);
        emit Transfer(holder, address(0), id);
    }

    function upgradeTo(address implementation) external {
        require(msg.sender == minter, "StorageNode: not the admin");
        emit Upgraded(implementation);
    }

    // ---------------------------------------------------------------- views

    function ownerOf(uint256 id) external view returns (address) {
        return _requireOwned(id);
    }

    function exists(uint256 id) external view returns (bool) {
        return _nodes[id].owner != address(0);
    }

    /// @notice (label, uri, anchor, uriChanges) of a token ever minted
    ///         (empty for an unknown id), burned or not.
    function nodeOf(uint256 id)
        external
        view
        returns (string memory label, string memory uri, address anchor, uint256 uriChanges)
    {
        Node storage n = _nodes[id];
        return (n.label, n.uri, n.anchor, n.uriChanges);
    }

    /// @notice Every id ever minted, in first-mint order (devnet only: lets
    ///         a checker enumerate the tokens without reading logs).
    function allIds() external view returns (uint256[] memory) {
        return _ids;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == 0x80ac58cd;
    }

    function _requireOwned(uint256 id) private view returns (address holder) {
        holder = _nodes[id].owner;
        require(holder != address(0), "ERC721: invalid token ID");
    }
}
