-- The opt-in part's views that changed after 005 (repeatable: applied on
-- every migrate whose checksum differs, after the migrations).

-- Every legacy privilege with its state now: valid while expires >= now
-- (the vehicle contract's hasPrivilege uses >=, SACD >), not reset by a
-- transfer of the token since it was set, and the token not burned. The
-- vehicle contract bumps the token's privilege version on a transfer and
-- on a burn alike (dimo-identity MultiPrivilegeTransferableBurnable:
-- `_transfer` and `_burn` both do tokenIdToVersion[tokenId]++), and
-- hasPrivilege of a burned token reverts (ownerOf): a privilege set before
-- the burn is never valid again (005 had only the transfer). The contract's
-- shortcut for the owner itself is not an opt-in and is left out.
CREATE OR REPLACE VIEW vehicle_privilege_status AS
SELECT p.chain_id, p.asset, p.token_id, p.priv_id, p.holder, p.version, p.expires, p.expires_at,
  p.block_number, p.log_index, p.block_time, p.tx_hash, rs.reset AS reset_by_transfer,
  NOT rs.reset AND NOT coalesce(v.burned, false) AND p.expires >= dimo_internal.unix_seconds(now()) AS valid_now
FROM vehicle_privileges p
LEFT JOIN vehicle_state v ON v.chain_id = p.chain_id AND v.asset = p.asset AND v.token_id = p.token_id
CROSS JOIN LATERAL (SELECT coalesce((v.reset_block, v.reset_log_index) > (p.block_number, p.log_index),
                                    false) AS reset) rs;
