-- The opt-in part (schema/005) from rows fed into `logs`: a SACD grant on
-- a vehicle, the permission bit pairs, expiry, the reset by a transfer
-- between owners (no SACD event: the vehicle's Transfer is the only
-- trace), grants at past blocks, and a rollback of the transfer.
-- Contract addresses: 2000 = vehicle NFT, 2001 = SACD; owners 1, 2;
-- the app's client id (the grantee) 101.
SELECT dimo_internal.register_contract(137, t.addr(2000), 'vehicle', NULL, 0);
SELECT dimo_internal.register_contract(137, t.addr(2001), 'sacd', NULL, 0);

-- Block 20: vehicle 7 minted to owner 1. Block 21: owner 1 grants
-- permissions 1 and 3 (bits 2,3 and 6,7: 0b11001100 = 204) to 101 until a
-- unix time far ahead, and permission 1 only to 102 expiring at block 30's
-- time.
SELECT t.log(20, 0, 0, 2000, 'vehicle', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(1), 'tokenId', '7'));
SELECT t.log(21, 0, 0, 2001, 'sacd', 'PermissionsSet(address,uint256,uint256,address,uint256,string)',
  jsonb_build_object('asset', t.hex(2000), 'tokenId', '7', 'permissions', '204', 'grantee', t.hex(101),
                     'expiration', '4102444800', 'source', 'ipfs://grant-1'));
SELECT t.log(21, 1, 1, 2001, 'sacd', 'PermissionsSet(address,uint256,uint256,address,uint256,string)',
  jsonb_build_object('asset', t.hex(2000), 'tokenId', '7', 'permissions', '12', 'grantee', t.hex(102),
                     'expiration', extract(epoch FROM t.time(30))::bigint::text, 'source', ''));
SELECT t.apply(20, 21);

SELECT t.eq(dimo_has_permission(137, t.addr(2000), 7, t.addr(101), 1, NULL, NULL), true, 'permission 1 granted');
SELECT t.eq(dimo_has_permission(137, t.addr(2000), 7, t.addr(101), 3, NULL, NULL), true, 'permission 3 granted');
SELECT t.eq(dimo_has_permission(137, t.addr(2000), 7, t.addr(101), 2, NULL, NULL), false, 'permission 2 not granted');
SELECT t.eq(dimo_has_permission(137, t.addr(2000), 7, t.addr(103), 1, NULL, NULL), false, 'another grantee has nothing');
SELECT t.eq((SELECT permission_ids FROM sacd_grants WHERE grantee = t.addr(101)), ARRAY[1, 3], 'decoded permission ids');
SELECT t.eq(dimo_has_permission(137, t.addr(2000), 7, t.addr(102), 1, NULL, t.time(29)), true,
  'a grant counts before its expiration');
SELECT t.eq(dimo_has_permission(137, t.addr(2000), 7, t.addr(102), 1, NULL, t.time(30)), false,
  'a grant ends at its expiration (strict: expiration > now)');

-- Block 22: owner 1 moves the vehicle to owner 2: every earlier record of
-- the token is void.
SELECT t.log(22, 0, 0, 2000, 'vehicle', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(1), 'to', t.hex(2), 'tokenId', '7'));
SELECT t.apply(22, 22);
SELECT t.eq(dimo_has_permission(137, t.addr(2000), 7, t.addr(101), 1, NULL, NULL), false, 'reset by the transfer');
SELECT t.eq(dimo_has_permission(137, t.addr(2000), 7, t.addr(101), 1, 21, NULL), true, 'still granted at block 21');

-- Block 23: the new owner grants permission 1 again.
SELECT t.log(23, 0, 0, 2001, 'sacd', 'PermissionsSet(address,uint256,uint256,address,uint256,string)',
  jsonb_build_object('asset', t.hex(2000), 'tokenId', '7', 'permissions', '12', 'grantee', t.hex(101),
                     'expiration', '4102444800', 'source', 'ipfs://grant-2'));
SELECT t.apply(23, 23);
SELECT t.eq(dimo_has_permission(137, t.addr(2000), 7, t.addr(101), 1, NULL, NULL), true, 'granted again after the transfer');
SELECT t.eq(dimo_has_permission(137, t.addr(2000), 7, t.addr(101), 3, NULL, NULL), false, 'the new grant has only permission 1');

-- Roll back the transfer and the new grant: the first grant counts again.
CREATE TEMP TABLE straight AS SELECT t.model_digest() AS d;
SELECT t.rollback(21);
SELECT t.eq(dimo_has_permission(137, t.addr(2000), 7, t.addr(101), 3, NULL, NULL), true, 'rollback restores the first grant');
SELECT t.eq((SELECT source FROM sacd_grants WHERE grantee = t.addr(101)), 'ipfs://grant-1', 'current record after rollback');
SELECT t.log(22, 0, 0, 2000, 'vehicle', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(1), 'to', t.hex(2), 'tokenId', '7'));
SELECT t.log(23, 0, 0, 2001, 'sacd', 'PermissionsSet(address,uint256,uint256,address,uint256,string)',
  jsonb_build_object('asset', t.hex(2000), 'tokenId', '7', 'permissions', '12', 'grantee', t.hex(101),
                     'expiration', '4102444800', 'source', 'ipfs://grant-2'));
SELECT t.apply(22, 23);
SELECT t.eq(t.model_digest(), (SELECT d FROM straight), 'rolled back and re-applied = straight apply');

-- Legacy privileges (the vehicle contract's PrivilegeSet): valid until a
-- transfer or a burn of the token (both bump its privilege version).
-- Block 24: vehicle 8 minted to owner 1, a privilege to user 9; block 25:
-- vehicle 8 burned.
SELECT t.log(24, 0, 0, 2000, 'vehicle', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(1), 'tokenId', '8'));
SELECT t.log(24, 1, 1, 2000, 'vehicle', 'PrivilegeSet(uint256,uint256,uint256,address,uint256)',
  jsonb_build_object('tokenId', '8', 'version', '0', 'privId', '1', 'user', t.hex(9), 'expires', '4102444800'));
SELECT t.apply(24, 24);
SELECT t.eq((SELECT valid_now FROM vehicle_privilege_status WHERE token_id = 8), true, 'privilege valid after its set');
SELECT t.log(25, 0, 0, 2000, 'vehicle', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(1), 'to', t.hex(0), 'tokenId', '8'));
SELECT t.apply(25, 25);
SELECT t.eq((SELECT valid_now FROM vehicle_privilege_status WHERE token_id = 8), false,
  'a burn resets the privilege (the version bumps, hasPrivilege reverts)');

-- SACD's token rules apply to any asset whose transfers are indexed, a
-- Connections contract too (sacd's hasPermissions asks ownerOf of any
-- asset): its owner has every permission, a never-minted or burned
-- connection none. Contract 2002 = Connections. Block 26: connection 77
-- minted to address 7; generation-2 grants (the rules on) to grantee 102
-- on connections 77 and 78 (78 never minted). Block 27: 77 burned.
SELECT dimo_internal.register_contract(137, t.addr(2002), 'connection', 'connection', 0);
SELECT t.log(26, 0, 0, 2002, 'connection', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(7), 'tokenId', '77'));
SELECT t.log(26, 1, 1, 2001, 'sacd', 'PermissionsSet(address,uint256,uint256,address,uint256,uint256,string)',
  jsonb_build_object('asset', t.hex(2002), 'tokenId', '77', 'permissions', '3', 'grantee', t.hex(102),
                     'expiration', '4102444800', 'templateId', '0', 'source', 'ipfs://connection-grant'));
SELECT t.log(26, 2, 2, 2001, 'sacd', 'PermissionsSet(address,uint256,uint256,address,uint256,uint256,string)',
  jsonb_build_object('asset', t.hex(2002), 'tokenId', '78', 'permissions', '3', 'grantee', t.hex(102),
                     'expiration', '4102444800', 'templateId', '0', 'source', 'ipfs://connection-grant'));
SELECT t.apply(26, 26);
SELECT t.eq(dimo_has_permission(137, t.addr(2002), 77, t.addr(7), 5, NULL, NULL), true,
  'a connection''s owner has every permission of it');
SELECT t.eq(dimo_has_permission(137, t.addr(2002), 77, t.addr(102), 0, NULL, NULL), true, 'the connection grant counts');
SELECT t.eq(dimo_has_permission(137, t.addr(2002), 78, t.addr(102), 0, NULL, NULL), false,
  'a grant on a never-minted connection does not count');
SELECT t.log(27, 0, 0, 2002, 'connection', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(7), 'to', t.hex(0), 'tokenId', '77'));
SELECT t.apply(27, 27);
SELECT t.eq(dimo_has_permission(137, t.addr(2002), 77, t.addr(102), 0, NULL, NULL), false,
  'a grant on a burned connection does not count');
SELECT t.eq(dimo_has_permission(137, t.addr(2002), 77, t.addr(102), 0, 26, NULL), true, 'as of block 26 it did');
