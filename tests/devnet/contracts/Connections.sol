// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: a connections contract (Polygon 0x41799E9D...,
// "ConnectionsManager") emitting exactly its events, in all three mint
// generations. Written for the devnet; test code only.
pragma solidity 0.8.28;

/// @title Connections (devnet)
/// @notice A transferable ERC-721 per data connection; tokenId = the name
///         as bytes32 (right-padded with zero bytes), so names are unique
///         and at most 32 bytes. Anyone mints a connection to itself.
///         The mint event changed twice on Polygon; `upgradeTo(impl,
///         generation)` (admin) stands in for those upgrades: it logs
///         Upgraded(impl) and selects the mint of that generation:
///           1  LicenseMinted(account, id, addr, licenseCost): the flat
///              cost of setLicenseCost (LicenseCostSet);
///           2  ConnectionMinted(account, id, addr, name, cost, points):
///              cost and points of the default type (bytes32 0);
///           3  ConnectionMinted(account, id, addr, name, type, cost):
///              cost of the given type; ConnectionUpgraded (owner, type
///              change) exists from this generation on.
///         Per-type cost and points come from setConnectionConfig
///         (ConnectionConfigSet). The costs are recorded, not charged:
///         where DIMO's contract sends the DIMO is not public, and the
///         devnet's token balances belong to the license scenario.
///         A connection's address (connectionAddr) is derived from the
///         contract and the id.
contract Connections {
    event LicenseMinted(address indexed account, uint256 indexed licenseId, address indexed licenseAddr, uint256 licenseCostInDimo);
    event ConnectionMinted(
        address indexed account,
        uint256 indexed connectionId,
        address indexed connectionAddr,
        string connectionName,
        uint256 connectionCostInDimo,
        uint256 points
    );
    event ConnectionMinted(
        address indexed account,
        uint256 indexed connectionId,
        address indexed connectionAddr,
        string connectionName,
        bytes32 connectionType,
        uint256 connectionCostInDimo
    );
    event ConnectionUpgraded(uint256 indexed connectionId, address indexed connectionAddr, bytes32 indexed connectionType, uint256 connectionCostInDimo);
    event ConnectionConfigSet(bytes32 indexed connectionType, uint256 indexed cost, uint256 indexed points);
    event LicenseCostSet(uint256 licenseCost);
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Upgraded(address indexed implementation);

    string public constant name = "DIMO Connection (devnet)";
    string public constant symbol = "DIMO/CONN";

    address public immutable admin;
    uint8 public generation = 1;
    uint256 public licenseCost;

    struct Config {
        uint256 cost;
        uint256 points;
    }

    struct Connection {
        address owner;
        uint8 generation; // of its mint event
        bytes32 connectionType; // 0 until a mint or upgrade names one
        uint256 mintCost;
        uint256 points; // generation 2 only
        uint256 costPaid; // mint plus upgrades
        uint256 upgrades;
        string name;
    }

    mapping(bytes32 => Config) public configs;
    mapping(uint256 => Connection) private _conns;
    uint256[] private _ids;

    constructor() {
        admin = msg.sender;
    }

    function idOf(string memory connectionName) public pure returns (uint256) {
        bytes memory b = bytes(connectionName);
        require(b.length > 0 && b.length <= 32, "Connections: name must be 1..32 bytes");
        return uint256(bytes32(b));
    }

    function addressOf(uint256 id) public view returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked(address(this), id)))));
    }

    // ---------------------------------------------------------------- admin

    function upgradeTo(address implementation, uint8 generation_) external {
        require(msg.sender == admin, "Connections: not admin");
        require(generation_ >= 1 && generation_ <= 3, "Connections: no such generation");
        generation = generation_;
        emit Upgraded(implementation);
    }

    function setLicenseCost(uint256 cost) external {
        require(msg.sender == admin, "Connections: not admin");
        licenseCost = cost;
        emit LicenseCostSet(cost);
    }

    function setConnectionConfig(bytes32 connectionType, uint256 cost, uint256 points) external {
        require(msg.sender == admin, "Connections: not admin");
        configs[connectionType] = Config(cost, points);
        emit ConnectionConfigSet(connectionType, cost, points);
    }

    // ---------------------------------------------------------------- life cycle

    /// @notice Mints `connectionName` to the caller in the current
    ///         generation; `connectionType` is used from generation 3 on.
    ///         Logs Transfer(0x0 -> caller), then the generation's mint event.
    function mint(string calldata connectionName, bytes32 connectionType) external returns (uint256 id) {
        id = idOf(connectionName);
        require(_conns[id].owner == address(0) && _conns[id].generation == 0, "Connections: name taken");
        Connection storage c = _conns[id];
        c.owner = msg.sender;
        c.generation = generation;
        c.name = connectionName;
        _ids.push(id);
        address addr = addressOf(id);
        emit Transfer(address(0), msg.sender, id);
        if (generation == 1) {
            c.mintCost = licenseCost;
            emit LicenseMinted(msg.sender, id, addr, licenseCost);
        } else if (generation == 2) {
            Config memory cfg = configs[bytes32(0)];
            c.mintCost = cfg.cost;
            c.points = cfg.points;
            emit ConnectionMinted(msg.sender, id, addr, connectionName, cfg.cost, cfg.points);
        } else {
            uint256 cost = configs[connectionType].cost;
            c.mintCost = cost;
            c.connectionType = connectionType;
            emit ConnectionMinted(msg.sender, id, addr, connectionName, connectionType, cost);
        }
        c.costPaid = c.mintCost;
    }

    /// @notice The owner changes the connection's type (generation 3 on),
    ///         paying that type's cost.
    function upgrade(uint256 id, bytes32 connectionType) external {
        require(generation >= 3, "Connections: not in this generation");
        require(msg.sender == _requireOwned(id), "Connections: not the owner");
        Connection storage c = _conns[id];
        uint256 cost = configs[connectionType].cost;
        c.connectionType = connectionType;
        c.costPaid += cost;
        c.upgrades += 1;
        emit ConnectionUpgraded(id, addressOf(id), connectionType, cost);
    }

    /// @notice The owner only (no approvals in the devnet).
    function transferFrom(address from, address to, uint256 id) external {
        address holder = _requireOwned(id);
        require(holder == from && msg.sender == from, "Connections: not the owner");
        require(to != address(0), "Connections: transfer to zero");
        _conns[id].owner = to;
        emit Transfer(from, to, id);
    }

    // ---------------------------------------------------------------- views

    function ownerOf(uint256 id) external view returns (address) {
        return _requireOwned(id);
    }

    /// @notice Everything the devnet knows of a connection (zeros for an unknown id).
    function connectionOf(uint256 id)
        external
        view
        returns (
            string memory connectionName,
            address connectionAddr,
            uint8 mintGeneration,
            bytes32 connectionType,
            uint256 mintCost,
            uint256 points,
            uint256 costPaid,
            uint256 upgrades
        )
    {
        Connection storage c = _conns[id];
        return (c.name, c.generation == 0 ? address(0) : addressOf(id), c.generation, c.connectionType,
            c.mintCost, c.points, c.costPaid, c.upgrades);
    }

    /// @notice Every id minted, in mint order (devnet only: enumeration for a checker).
    function allIds() external view returns (uint256[] memory) {
        return _ids;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == 0x80ac58cd;
    }

    function _requireOwned(uint256 id) private view returns (address holder) {
        holder = _conns[id].owner;
        require(holder != address(0), "ERC721: invalid token ID");
    }
}
