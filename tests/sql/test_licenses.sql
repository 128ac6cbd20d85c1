-- The license part (schema/002, 003) from rows fed into `logs`: issue,
-- alias, signers, stake, freeze, both kinds of forfeit told apart by the
-- DIMO transfer in the same transaction, revoke, the 2022 Stake contract's
-- per-owner stake, and a rollback that must leave the model exactly as a
-- straight apply would. Contract addresses: 1000 = app license,
-- 1001 = DIMO token, 1002 = 2022 Stake (manufacturer_license); owners 1.., client
-- ids 101.., signers 201.., a reallocation target 9.
SELECT dimo_internal.register_contract(137, t.addr(1000), 'app_license', 'app', 0);
SELECT dimo_internal.register_contract(137, t.addr(1001), 'dimo_token', NULL, 0);
SELECT dimo_internal.register_contract(137, t.addr(1002), 'manufacturer_license', 'manufacturer', 0);

-- Block 10: license 1 issued to owner 1 with client id 101 and an alias,
-- license 2 to owner 2 (no alias), in the order the contract emits.
SELECT t.log(10, 0, 0, 1000, 'app_license', 'Issued(uint256,address,address)',
  jsonb_build_object('tokenId', '1', 'owner', t.hex(1), 'clientId', t.hex(101)));
SELECT t.log(10, 1, 0, 1000, 'app_license', 'LicenseAliasSet(uint256,string)',
  jsonb_build_object('tokenId', '1', 'licenseAlias', 'fleet-insights'));
SELECT t.log(10, 2, 0, 1000, 'app_license', 'Locked(uint256)', jsonb_build_object('tokenId', '1'));
SELECT t.log(10, 3, 0, 1000, 'app_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(1), 'tokenId', '1'));
SELECT t.log(10, 4, 1, 1000, 'app_license', 'Issued(uint256,address,address)',
  jsonb_build_object('tokenId', '2', 'owner', t.hex(2), 'clientId', t.hex(102)));
SELECT t.log(10, 5, 1, 1000, 'app_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(2), 'tokenId', '2'));
SELECT t.apply(10, 10);

SELECT t.eq((SELECT owner FROM license_state WHERE token_id = 1), t.addr(1), 'owner of license 1');
SELECT t.eq((SELECT client_id FROM license_state WHERE token_id = 1), t.addr(101), 'client id of license 1');
SELECT t.eq((SELECT alias FROM license_state WHERE token_id = 1), 'fleet-insights', 'alias of license 1');
SELECT t.eq((SELECT alias FROM license_state WHERE token_id = 2), NULL::text, 'license 2 has no alias');
SELECT t.eq((SELECT class FROM license_state WHERE token_id = 1), 'app', 'class');
SELECT t.eq((SELECT revoked FROM license_state WHERE token_id = 1), false, 'not revoked');

-- Block 11: a stake of 10,000 DIMO and a signer.
SELECT t.log(11, 0, 0, 1000, 'app_license', 'StakeDeposit(uint256,address,uint256)',
  jsonb_build_object('tokenId', '1', 'user', t.hex(1), 'amount', t.dimo(10000)));
SELECT t.log(11, 1, 1, 1000, 'app_license', 'SignerEnabled(uint256,address)',
  jsonb_build_object('tokenId', '1', 'signer', t.hex(201)));
SELECT t.apply(11, 11);
SELECT t.eq((SELECT staked FROM license_state WHERE token_id = 1), 10000e18::numeric, 'staked after deposit');
SELECT t.eq((SELECT enabled_at FROM license_signers WHERE token_id = 1 AND signer = t.addr(201)),
  t.time(11), 'signer enabled at its block time');
SELECT t.eq(dimo_is_signer(137, t.addr(1000), 1, t.addr(201), NULL, NULL), true, 'isSigner at the head');
SELECT t.eq(dimo_is_signer(137, t.addr(1000), 1, t.addr(201), NULL, t.time(11) + interval '366 days'),
  false, 'isSigner after periodValidity (365 days)');

-- Block 12: frozen (suspended).
SELECT t.log(12, 0, 0, 1000, 'app_license', 'AssetFreezeUpdate(uint256,uint256,bool)',
  jsonb_build_object('tokenId', '1', 'amount', t.dimo(10000), 'frozen', true));
SELECT t.apply(12, 12);
SELECT t.eq((SELECT frozen FROM license_state WHERE token_id = 1), true, 'frozen');
SELECT t.eq(dimo_license_doc(137, t.addr(1000), 1, NULL) ->> 'status', 'suspended', 'document status suspended');

-- Block 13: a forfeit burned (the DIMO Transfer to 0x0 just before it in
-- its transaction, as the contract logs them);
-- block 14: one reallocated to address 9.
SELECT t.log(13, 0, 0, 1001, 'dimo_token', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(1000), 'to', t.hex(0), 'value', t.dimo(4000)));
SELECT t.log(13, 1, 0, 1000, 'app_license', 'AssetForfeit(uint256,uint256)',
  jsonb_build_object('tokenId', '1', 'amount', t.dimo(4000)));
SELECT t.apply(13, 13);
SELECT t.log(14, 0, 0, 1001, 'dimo_token', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(1000), 'to', t.hex(9), 'value', t.dimo(1000)));
SELECT t.log(14, 1, 0, 1000, 'app_license', 'AssetForfeit(uint256,uint256)',
  jsonb_build_object('tokenId', '1', 'amount', t.dimo(1000)));
SELECT t.apply(14, 14);
SELECT t.eq((SELECT staked FROM license_state WHERE token_id = 1), 5000e18::numeric, 'staked after two forfeits');
SELECT t.eq((SELECT string_agg(kind || ':' || coalesce(dimo_hex(to_address), '-'), ',' ORDER BY block_number)
             FROM stake_movements WHERE token_id = 1 AND kind LIKE 'forfeit%'),
  'forfeit_burn:-,forfeit_reallocate:' || t.hex(9), 'forfeit kinds and destinations');
SELECT t.eq((SELECT string_agg(s ->> 'destination', ',')
             FROM jsonb_array_elements(dimo_license_doc(137, t.addr(1000), 1, NULL) -> 'slashes') s),
  'burn,' || t.hex(9), 'document slashes');
SELECT t.eq(dimo_license_doc(137, t.addr(1000), 1, 12) ->> 'staked', t.dimo(10000), 'document at block 12');

-- Block 15: license 2 revoked (the burn Transfer).
SELECT t.log(15, 0, 0, 1000, 'app_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(2), 'to', t.hex(0), 'tokenId', '2'));
SELECT t.apply(15, 15);
SELECT t.eq((SELECT revoked FROM license_state WHERE token_id = 2), true, 'license 2 revoked');
SELECT t.eq((SELECT owner FROM license_state WHERE token_id = 2), t.addr(2), 'a revoked license keeps its last owner');
SELECT t.eq(dimo_license_doc(137, t.addr(1000), 2, NULL) ->> 'status', 'revoked', 'document status revoked');

-- The 2022 Stake contract: stake per owner address, license minted to it.
SELECT t.log(16, 0, 0, 1002, 'manufacturer_license', 'StakeTokens(address,uint256)',
  jsonb_build_object('user', t.hex(3), 'amountOfTokens', t.dimo(100000)));
SELECT t.log(16, 1, 1, 1002, 'manufacturer_license', 'LicenseMinted(address,uint256)',
  jsonb_build_object('user', t.hex(3), 'tokenId', '1'));
SELECT t.log(16, 2, 1, 1002, 'manufacturer_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(3), 'tokenId', '1'));
SELECT t.apply(16, 16);
SELECT t.eq((SELECT owner FROM license_state WHERE contract = t.addr(1002) AND token_id = 1), t.addr(3),
  'Stake license owner');
SELECT t.eq(dimo_license_doc(137, t.addr(1002), 1, NULL) ->> 'staked', t.dimo(100000), 'Stake: owner''s stake');

-- Finality: a document says whether its block is final (at or below the
-- finalized block the follower stored), null while no node named one.
SELECT t.eq(dimo_license_doc(137, t.addr(1000), 1, NULL) -> 'final', 'null'::jsonb, 'final unknown');
INSERT INTO finality (chain_id, finalized_block) VALUES (137, 14);
SELECT t.eq(dimo_license_doc(137, t.addr(1000), 1, NULL) ->> 'final', 'false', 'block 16 not final at 14');
SELECT t.eq(dimo_license_doc(137, t.addr(1000), 1, 14) ->> 'final', 'true', 'block 14 final');
SELECT t.eq(dimo_license_doc(137, t.addr(1000), 1, NULL) ->> 'finalized_block', '14', 'finalized_block');
DELETE FROM finality;

-- Rollback to 13, then the same blocks again: the model must equal the
-- straight apply, row for row.
CREATE TEMP TABLE straight AS
  SELECT t.model_digest() AS d,
    (SELECT jsonb_agg(dimo_license_doc(137, contract, token_id, NULL) ORDER BY contract, token_id)
     FROM license_state) AS docs;
SELECT t.rollback(13);
SELECT t.eq((SELECT staked FROM license_state WHERE token_id = 1), 6000e18::numeric, 'staked after rollback to 13');
SELECT t.eq((SELECT revoked FROM license_state WHERE token_id = 2), false, 'revoke undone by the rollback');
SELECT t.eq((SELECT count(*) FROM license_state WHERE contract = t.addr(1002)), 0::bigint,
  'Stake license undone by the rollback');
SELECT t.log(14, 0, 0, 1001, 'dimo_token', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(1000), 'to', t.hex(9), 'value', t.dimo(1000)));
SELECT t.log(14, 1, 0, 1000, 'app_license', 'AssetForfeit(uint256,uint256)',
  jsonb_build_object('tokenId', '1', 'amount', t.dimo(1000)));
SELECT t.log(15, 0, 0, 1000, 'app_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(2), 'to', t.hex(0), 'tokenId', '2'));
SELECT t.log(16, 0, 0, 1002, 'manufacturer_license', 'StakeTokens(address,uint256)',
  jsonb_build_object('user', t.hex(3), 'amountOfTokens', t.dimo(100000)));
SELECT t.log(16, 1, 1, 1002, 'manufacturer_license', 'LicenseMinted(address,uint256)',
  jsonb_build_object('user', t.hex(3), 'tokenId', '1'));
SELECT t.log(16, 2, 1, 1002, 'manufacturer_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(3), 'tokenId', '1'));
SELECT t.apply(14, 16);
SELECT t.eq(t.model_digest(), (SELECT d FROM straight), 'rolled back and re-applied = straight apply');
SELECT t.eq((SELECT jsonb_agg(dimo_license_doc(137, contract, token_id, NULL) ORDER BY contract, token_id)
             FROM license_state), (SELECT docs FROM straight), 'documents equal the straight apply''s');

-- Look-up precedence (an audit's finding): an alias may be any string,
-- "3" included, and an address may be one license's client id and
-- another's owner. Block 17: license 3 issued to owner 5 with client id =
-- license 1's owner, and license 1's alias changed to "3". Asking for "3"
-- means token 3; asking for an address means the license whose client id
-- it is before one it owns.
SELECT t.log(17, 0, 0, 1000, 'app_license', 'Issued(uint256,address,address)',
  jsonb_build_object('tokenId', '3', 'owner', t.hex(5), 'clientId', t.hex(1)));
SELECT t.log(17, 1, 0, 1000, 'app_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(5), 'tokenId', '3'));
SELECT t.log(17, 2, 1, 1000, 'app_license', 'LicenseAliasSet(uint256,string)',
  jsonb_build_object('tokenId', '1', 'licenseAlias', '3'));
SELECT t.apply(17, 17);
SELECT t.eq((SELECT alias FROM license_state WHERE token_id = 1 AND contract = t.addr(1000)), '3', 'alias of license 1 is "3"');
SELECT t.eq((SELECT string_agg(f.t::text, ',' ORDER BY f.o)
             FROM dimo_find_licenses(137, 'app', '3') WITH ORDINALITY f(c, t, o)), '3,1',
  'find "3": the token id first, then the alias holder');
SELECT t.eq(dimo_license_lookup(137, 'app', '3') ->> 'token_id', '3', 'look-up "3" answers token 3, not alias "3"');
SELECT t.eq(dimo_license_lookup(137, 'app', '3', 16)::jsonb, NULL::jsonb, 'at block 16 nothing was named "3"');
SELECT t.eq(dimo_license_lookup(137, 'app', t.hex(1)) ->> 'token_id', '3',
  'an address: the license whose client id it is before the one it owns');
SELECT t.eq(dimo_license_lookup(137, 'app', t.hex(5)) ->> 'token_id', '3', 'an owner alone still finds its license');
SELECT t.eq(dimo_signer_status(137, 'app', '3', t.addr(201)) #>> '{license,token_id}', '3',
  'signer status of "3" is asked of token 3');
SELECT t.eq((dimo_license_docs(137, 'app', '3')::jsonb -> 0) ->> 'token_id', '3',
  'the license command lists token 3 first, then the alias holder');
SELECT t.eq(jsonb_array_length(dimo_slashes_page(137, '3', NULL, 100) -> 'slashes'), 0,
  'slashes of "3": token 3''s (none), not the alias holder''s');
SELECT t.eq(jsonb_array_length(dimo_slashes_page(137, '1', NULL, 100) -> 'slashes'), 2, 'slashes of "1": token 1''s');

-- A forfeit's destination is the DIMO transfer just before it, not an
-- earlier one of the same amount in the same transaction: block 18, one
-- batched transaction: adminWithdraw of 500 DIMO to address 8 (a transfer
-- with no forfeit), then a reallocation of 500 DIMO of license 1 to
-- address 9 (its transfer, then AssetForfeit).
SELECT t.log(18, 0, 0, 1001, 'dimo_token', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(1000), 'to', t.hex(8), 'value', t.dimo(500)));
SELECT t.log(18, 1, 0, 1001, 'dimo_token', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(1000), 'to', t.hex(9), 'value', t.dimo(500)));
SELECT t.log(18, 2, 0, 1000, 'app_license', 'AssetForfeit(uint256,uint256)',
  jsonb_build_object('tokenId', '1', 'amount', t.dimo(500)));
SELECT t.apply(18, 18);
SELECT t.eq((SELECT kind || ':' || coalesce(dimo_hex(to_address), '-') FROM stake_movements
             WHERE token_id = 1 AND block_number = 18), 'forfeit_reallocate:' || t.hex(9),
  'the forfeit pairs with the transfer just before it');

-- A manufacturer license needs the contract minimum in force (the
-- contract's checkUserIsWhitelisted), not the built-in 100,000 DIMO: the
-- minimum lowered to 50,000, owner 6 stakes 60,000 and is minted license
-- 2. Then a stricter policy from the chain's network file (100,000,
-- understaked below) makes the same license understaked.
SELECT t.log(19, 0, 0, 1002, 'manufacturer_license', 'StakeAmountAdjusted(uint256)',
  jsonb_build_object('amount', t.dimo(50000)));
SELECT t.log(19, 1, 1, 1002, 'manufacturer_license', 'StakeTokens(address,uint256)',
  jsonb_build_object('user', t.hex(6), 'amountOfTokens', t.dimo(60000)));
SELECT t.log(19, 2, 2, 1002, 'manufacturer_license', 'Transfer(address,address,uint256)',
  jsonb_build_object('from', t.hex(0), 'to', t.hex(6), 'tokenId', '2'));
SELECT t.log(19, 3, 2, 1002, 'manufacturer_license', 'LicenseMinted(address,uint256)',
  jsonb_build_object('user', t.hex(6), 'tokenId', '2'));
SELECT t.apply(19, 19);
SELECT t.eq(dimo_license_doc(137, t.addr(1002), 2, NULL) ->> 'status', 'active',
  'whitelisted at the lowered minimum: active');
SELECT t.eq(dimo_license_doc(137, t.addr(1002), 2, NULL) ->> 'required_stake', t.dimo(50000),
  'required: the minimum in force');
SELECT t.eq(dimo_internal.set_requirements(137, '{"manufacturer": {"stake": "100000000000000000000000", "understaked": true}}'),
  true, 'a stricter manufacturer policy for chain 137');
SELECT t.eq(dimo_license_doc(137, t.addr(1002), 2, NULL) ->> 'status', 'understaked', 'below the policy: understaked');
SELECT t.eq(dimo_license_doc(137, t.addr(1002), 2, NULL) ->> 'required_stake', t.dimo(100000),
  'required: the policy, above the minimum');
