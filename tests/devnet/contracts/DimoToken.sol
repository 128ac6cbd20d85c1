// SPDX-License-Identifier: UNLICENSED
// dimo-indexer devnet: a stand-in for the DIMO ERC-20 on Polygon. Test code only.
pragma solidity 0.8.28;

/// @title DimoToken (devnet)
/// @notice 18-decimal ERC-20 with burn (Transfer(from -> 0x0)) and an owner-only
///         mint used to fund dev accounts.
///         Deviation, on purpose: approve() logs nothing. The devnet must stay
///         event-compatible with abi/DimoToken.json, which lists Transfer only;
///         the real token's Approval logs never pass the indexer's filter
///         (topic0 Transfer, from = a license contract) anyway.
contract DimoToken {
    event Transfer(address indexed from, address indexed to, uint256 value);

    string public constant name = "Dimo";
    string public constant symbol = "DIMO";
    uint8 public constant decimals = 18;

    address public immutable owner;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    constructor() {
        owner = msg.sender;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "DimoToken: allowance too low");
            allowance[from][msg.sender] = allowed - value;
        }
        _move(from, to, value);
        return true;
    }

    /// @notice Devnet funding: only the deployer may mint.
    function mint(address to, uint256 value) external {
        require(msg.sender == owner, "DimoToken: only owner mints");
        require(to != address(0), "DimoToken: mint to zero");
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    /// @notice Burns the caller's tokens: Transfer(caller -> 0x0).
    function burn(uint256 value) external {
        uint256 bal = balanceOf[msg.sender];
        require(bal >= value, "DimoToken: burn exceeds balance");
        balanceOf[msg.sender] = bal - value;
        totalSupply -= value;
        emit Transfer(msg.sender, address(0), value);
    }

    function _move(address from, address to, uint256 value) private {
        require(to != address(0), "DimoToken: transfer to zero");
        uint256 bal = balanceOf[from];
        require(bal >= value, "DimoToken: balance too low");
        balanceOf[from] = bal - value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
