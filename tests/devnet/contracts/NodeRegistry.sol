// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: a stand-in for the DIMO registry's vehicle -> storage
// node assignment (Polygon 0xFA8beC73...), emitting exactly its two event
// names. Written for the devnet; test code only.
pragma solidity 0.8.28;

interface IDevnetVehicle {
    function ownerOf(uint256 tokenId) external view returns (address);
}

interface IDevnetStorageNode {
    function exists(uint256 id) external view returns (bool);
}

/// @title NodeRegistry (devnet)
/// @notice The vehicle's owner (DimoVehicle.ownerOf) names the storage node
///         its data goes to. Node id 0 resolves to the default node
///         (setDefaultStorageNodeId: admin, no event); the event carries
///         the resolved id, which must be a live StorageNode token.
///         Before `rename` (admin, no event: the July 2025 rename stands
///         in for an upgrade of the real registry) the event is
///         NodeIdSetForVehicleId, after it VehicleStorageNodeIdSet: both
///         generations appear at one address.
contract NodeRegistry {
    event NodeIdSetForVehicleId(uint256 indexed vehicleId, uint256 indexed storageNodeId);
    event VehicleStorageNodeIdSet(uint256 indexed vehicleId, uint256 indexed storageNodeId);

    IDevnetVehicle public immutable vehicle;
    IDevnetStorageNode public immutable storageNode;
    address public immutable admin;
    uint256 public defaultStorageNodeId;
    bool public renamed;

    mapping(uint256 => uint256) private _nodeOfVehicle;

    constructor(address vehicle_, address storageNode_) {
        vehicle = IDevnetVehicle(vehicle_);
        storageNode = IDevnetStorageNode(storageNode_);
        admin = msg.sender;
    }

    function setDefaultStorageNodeId(uint256 nodeId) external {
        require(msg.sender == admin, "NodeRegistry: not admin");
        require(storageNode.exists(nodeId), "NodeRegistry: no such node");
        defaultStorageNodeId = nodeId;
    }

    function rename() external {
        require(msg.sender == admin, "NodeRegistry: not admin");
        renamed = true;
    }

    /// @notice By the vehicle's owner (reverts for a burned vehicle).
    function setStorageNodeForVehicle(uint256 vehicleId, uint256 nodeId) external {
        require(msg.sender == vehicle.ownerOf(vehicleId), "NodeRegistry: not the vehicle owner");
        uint256 resolved = nodeId == 0 ? defaultStorageNodeId : nodeId;
        require(resolved != 0 && storageNode.exists(resolved), "NodeRegistry: no such node");
        _nodeOfVehicle[vehicleId] = resolved;
        if (renamed) emit VehicleStorageNodeIdSet(vehicleId, resolved);
        else emit NodeIdSetForVehicleId(vehicleId, resolved);
    }

    /// @notice The node a vehicle's data goes to: 0 when never set, and 0
    ///         for a burned vehicle (a burned vehicle has no node).
    function storageNodeOf(uint256 vehicleId) external view returns (uint256) {
        try vehicle.ownerOf(vehicleId) returns (address) {
            return _nodeOfVehicle[vehicleId];
        } catch {
            return 0;
        }
    }
}
