-- accountability.sql (a repeatable file: re-applied whenever it changes).
--
-- Issue #25, accountability for auditors. The model part `accountability`
-- (tables in 010_accountability.sql) derives from the stored logs, and from
-- tx_senders (the senders of admin transactions, written with their batch):
--   role_events    every RoleGranted / RoleRevoked / RoleAdminChanged;
--   token_flows    DIMO into and out of each license contract, explained;
--   admin_actions  every admin action with its executor and gating role.
-- Then the questions: role holders and their history, the admin-actions
-- ledger (API, CLI, CSV), the books of a license contract, and views for
-- dashboards.
--
-- Functions are PL/pgSQL and the views are created only once 010's tables
-- exist, so that this file also applies to a schema whose migrations are
-- older than its function files (test_migrations.sh does that).
--
-- Who may do what (developer-license src/, ../shared/dimo-contracts.md):
-- adminFreeze, adminBurnLockedFunds, adminReallocate, adminWithdraw and
-- every Update* need LICENSE_ADMIN_ROLE; revoke needs REVOKER_ROLE;
-- upgrades UPGRADER_ROLE. The chain refuses any other caller, so an
-- action's executor is the transaction's sender if it held the role at the
-- action, else the contract the transaction called if that held it (a
-- multisig such as DIMO's Safe, the sender beside it as `via`); neither is
-- a forwarding chain the indexer does not follow: `unattributed`.
--
-- The manufacturer license (the 2022 Stake, DIMO-Network/dimo-staking-
-- contract-license-nft contracts/Stake.sol) is AccessControl too: every
-- admin function (setNewMinStakeAmount, unstake, emergencyWithdraw,
-- revoke, mint, and the UUPS upgrade) is onlyRole(DEFAULT_ADMIN_ROLE),
-- granted at initialize to the deployer, then to DIMO's Safe. Its role
-- events are role history like the app license's, and its actions are
-- attributed by the same rules; `mint` (the mint Transfer 0x0 -> owner)
-- and `upgrade` (Upgraded) are actions of it. This supersedes the header
-- of 015_manufacturer_admin.sql (a migration, checksummed, so not
-- edited), which took the contract for role-less ('sender_only', no
-- gating role, mint open to the staker): the end of this file declares
-- the role events the part now reads and re-derives the part, so a
-- database derived under 015's belief is replaced.

-- ---- helpers -------------------------------------------------------------------

-- A role by name when the contracts define it, else its hash in hex.
CREATE OR REPLACE FUNCTION dimo_role_name(p_role bytea) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
  RETURN coalesce((SELECT n.name FROM role_names n WHERE n.role = p_role), dimo_hex(p_role));
END;
$$;

-- Whether p_account held p_role of p_contract just before the log at
-- (p_block, p_log_index): its last role event before that position is a
-- grant. (Position, not block: a grant or revoke earlier in the same block,
-- or the same transaction, counts.)
CREATE OR REPLACE FUNCTION dimo_internal.held_role(p_chain_id bigint, p_contract bytea, p_role bytea,
                                           p_account bytea, p_block bigint, p_log_index int)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  IF p_account IS NULL THEN
    RETURN false;
  END IF;
  RETURN coalesce((
    SELECT e.kind = 'granted' FROM role_events e
    WHERE e.chain_id = p_chain_id AND e.contract = p_contract AND e.role = p_role
      AND e.account = p_account AND e.kind IN ('granted', 'revoked')
      AND (e.block_number, e.log_index) < (p_block, p_log_index)
    ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1), false);
END;
$$;

-- How an action is attributed (see the top): 'not_fetched' without its
-- transaction's sender; 'sender_only' for an action without a gating role
-- (an initializer's `initialize` action; the manufacturer license's
-- actions were, before it was known to have roles); else 'sender' or
-- 'called_contract' when that address held the gating role just before
-- the action, 'deployment' when neither did in the transaction that
-- created the contract (018: the deployer) or in the body of the
-- contract's initializer (below), 'unattributed' otherwise.
-- Did the transaction of the log at (p_block, p_log_index) create
-- p_contract? (It is a contract creation: the caller checks `to` is null.)
-- Only if the contract shows no sign of life in an earlier transaction: no
-- proxy upgrade and no role event before it. A creation transaction whose
-- new contract acts on an existing license contract (a helper granted a
-- role beforehand) is therefore not its deployment (the review's finding).
CREATE OR REPLACE FUNCTION dimo_internal.acct_created_here(p_chain_id bigint, p_contract bytea, p_block bigint,
                                                    p_log_index int)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
  WITH me AS (SELECT l.tx_hash FROM logs l
              WHERE l.chain_id = p_chain_id AND l.block_number = p_block AND l.log_index = p_log_index)
  SELECT NOT EXISTS (SELECT 1 FROM logs u
                     WHERE u.chain_id = p_chain_id AND u.address = p_contract
                       AND u.event IN ('Upgraded(address)', 'BeaconUpgraded(address)')
                       AND (u.block_number, u.log_index) < (p_block, p_log_index)
                       AND u.tx_hash IS DISTINCT FROM (SELECT me.tx_hash FROM me))
     AND NOT EXISTS (SELECT 1 FROM role_events r
                     WHERE r.chain_id = p_chain_id AND r.contract = p_contract
                       AND (r.block_number, r.log_index) < (p_block, p_log_index)
                       AND r.tx_hash IS DISTINCT FROM (SELECT me.tx_hash FROM me))
$$;

-- Was the log at (p_block, p_log_index) logged by an initializer of
-- p_contract: does that contract log `Initialized` at or after it in the
-- same transaction? OpenZeppelin's `initializer` (and `reinitializer`)
-- logs Initialized(version) after the initializer's body, and DIMO's
-- DevLicenseDimo.initialize (developer-license src/DevLicenseDimo.sol,
-- DevLicenseCore.sol __DevLicenseCore_init) logs UpdatePeriodValidity and
-- UpdateLicenseCost in its body, gated by no role (it grants only
-- DEFAULT_ADMIN_ROLE; the setters need LICENSE_ADMIN_ROLE). DIMO's deploy
-- script sends `initialize` in a transaction after the proxy's creation,
-- so 018's creation rule does not see it. The log itself counts (the
-- `initialize` action is its Initialized, which acct_attribution
-- answers 'sender_only' before asking: no role gates it).
CREATE OR REPLACE FUNCTION dimo_internal.acct_initializing(p_chain_id bigint, p_contract bytea, p_block bigint,
                                                    p_log_index int)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
  SELECT EXISTS (
    SELECT 1 FROM logs me
    JOIN logs i ON i.chain_id = me.chain_id AND i.block_number = me.block_number
      AND i.tx_hash = me.tx_hash
    WHERE me.chain_id = p_chain_id AND me.block_number = p_block AND me.log_index = p_log_index
      AND i.address = p_contract AND i.event = 'Initialized(uint64)' AND i.log_index >= p_log_index)
$$;

CREATE OR REPLACE FUNCTION dimo_internal.acct_attribution(p_chain_id bigint, p_contract bytea, p_role bytea,
  p_fetched boolean, p_from bytea, p_to bytea, p_block bigint, p_log_index int)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  IF NOT p_fetched THEN
    RETURN 'not_fetched';
  ELSIF p_role IS NULL THEN
    -- No role gates the action (an initializer's Initialized: whoever
    -- calls it first): its sender did it (015's CHECK ties a NULL gating
    -- role to this attribution).
    RETURN 'sender_only';
  ELSIF dimo_internal.held_role(p_chain_id, p_contract, p_role, p_from, p_block, p_log_index) THEN
    RETURN 'sender';
  ELSIF dimo_internal.held_role(p_chain_id, p_contract, p_role, p_to, p_block, p_log_index) THEN
    RETURN 'called_contract';
  ELSIF p_to IS NULL AND dimo_internal.acct_created_here(p_chain_id, p_contract, p_block, p_log_index) THEN
    -- A contract creation (018) that created this contract: the proxy's
    -- constructor logged it before any role existed; the deployer did it.
    RETURN 'deployment';
  ELSIF dimo_internal.acct_initializing(p_chain_id, p_contract, p_block, p_log_index) THEN
    -- The initializer's body: no role gates what it logs; its caller
    -- (the deployer, in a later transaction on Polygon) did it.
    RETURN 'deployment';
  END IF;
  RETURN 'unattributed';
END;
$$;

-- The executor an attribution names, and the sender it came `via`.
CREATE OR REPLACE FUNCTION dimo_internal.acct_by(p_attribution text, p_from bytea, p_to bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE p_attribution WHEN 'sender' THEN p_from WHEN 'sender_only' THEN p_from
    WHEN 'deployment' THEN p_from WHEN 'called_contract' THEN p_to END
$$;
CREATE OR REPLACE FUNCTION dimo_internal.acct_via(p_attribution text, p_from bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN p_attribution = 'called_contract' THEN p_from END
$$;

-- ---- the model part ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION dimo_internal.acct_apply(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  zero CONSTANT text := '0x0000000000000000000000000000000000000000';
  license_admin CONSTANT bytea := '\xb0595b952dcdb59629a8074074bf7d12f6430e60e719a988d9135461944d0a4e';
  revoker CONSTANT bytea := '\xce3f34913921da558f105cefb578d87278debbbd073a8d552b5de0d168deee30';
  upgrader CONSTANT bytea := '\x189ab7a9244df0848122154315af71fe140f3db0fe014031783b0946b8c9d2e3';
  default_admin CONSTANT bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
  v_keys dimo_license_key[];
  v_block bigint;
  v_time timestamptz;
  v_logs logs[];
BEGIN
  -- One scan of the batch's logs: the few this part reads (admin events of
  -- license contracts, their role events, mints and burns, upgrades, DIMO
  -- transfers, and the stake events that explain those transfers).
  v_logs := ARRAY(
    SELECT l FROM logs l
    WHERE l.chain_id = p_chain_id AND l.block_number BETWEEN p_from_block AND p_to_block
      AND ((l.role = 'app_license'
            AND (l.event_name IN ('RoleGranted', 'RoleRevoked', 'RoleAdminChanged', 'AssetFreezeUpdate',
                                  'AssetForfeit', 'Upgraded', 'Transfer', 'Initialized', 'StakeDeposit',
                                  'StakeWithdraw', 'Deposit', 'Withdraw')
                 OR l.event_name LIKE 'Update%'))
           OR (l.role = 'manufacturer_license'
               AND l.event_name IN ('UnstakeTokens', 'EmergencyWithdrawal', 'StakeAmountAdjusted',
                                    'Transfer', 'RoleGranted', 'RoleRevoked', 'RoleAdminChanged',
                                    'Upgraded', 'StakeTokens'))
           OR l.role = 'dimo_token'));
  IF cardinality(v_logs) = 0 THEN
    RETURN;
  END IF;

  -- Role events first: the attribution below reads them (a grant earlier
  -- in the same batch counts).
  INSERT INTO role_events (chain_id, block_number, log_index, tx_hash, block_time, contract, kind,
    role, account, sender, previous_admin_role, new_admin_role)
  SELECT l.chain_id, l.block_number, l.log_index, l.tx_hash, l.block_time, l.address,
    CASE l.event_name WHEN 'RoleGranted' THEN 'granted' WHEN 'RoleRevoked' THEN 'revoked'
      ELSE 'admin_changed' END,
    dimo_internal.hexbytes(l.args ->> 'role'),
    dimo_internal.addr(l.args ->> 'account'), dimo_internal.addr(l.args ->> 'sender'),
    dimo_internal.hexbytes(l.args ->> 'previousAdminRole'), dimo_internal.hexbytes(l.args ->> 'newAdminRole')
  FROM unnest(v_logs) l
  WHERE l.role IN ('app_license', 'manufacturer_license')
    AND l.event IN ('RoleGranted(bytes32,address,address)', 'RoleRevoked(bytes32,address,address)',
                    'RoleAdminChanged(bytes32,bytes32,bytes32)')
    AND octet_length(dimo_internal.hexbytes(l.args ->> 'role')) = 32;

  -- DIMO in and out of license contracts, each transfer explained by the
  -- stake event it belongs to, by position in its transaction: not by the
  -- set of the contract's event names in the whole transaction, which
  -- gave every transfer of a batched transaction (a Safe's multiSend of an
  -- adminWithdraw and a forfeit, two licenses' moves) the kind of the
  -- first name found (an audit's finding; the forfeit's own pairing, in
  -- licenses.sql's forfeit_transfer, was the first fix).
  --
  -- The order in which DIMO's functions log, read in their source:
  -- DevLicenseDimo (DIMO-Network/developer-license src/DevLicenseStake.sol
  -- at fc1dcdd4ec492a9142ad37f9728b1d66befa300a; the 2024 contract's names
  -- in src/DevLicenseLock.sol at e476f5afaeb00398cbf1991a01b42d7c4f321656,
  -- the last source that has them, same bodies):
  --   lock(tokenId, amount): token transferFrom(owner -> license, amount),
  --     then StakeDeposit(tokenId, owner, amount) (2024: Deposit);
  --   withdraw(tokenId, amount): token transferFrom(license -> owner,
  --     amount), then StakeWithdraw (2024: Withdraw);
  --   adminBurnLockedFunds(tokenId, amount): token burn(license, amount),
  --     the Transfer(license -> 0x0), then AssetForfeit(tokenId, amount);
  --   adminReallocate(tokenId, amount, to): token transfer(to, amount),
  --     then AssetForfeit(tokenId, amount);
  --   adminWithdraw(to): token transfer(to, balance - stakeTotal), and no
  --     event of its own;
  --   adminFreeze: AssetFreezeUpdate only, no DIMO moves; issueInDimo pays
  --     its fee to the receiver, not to the license contract.
  -- The 2022 Stake (DIMO-Network/dimo-staking-contract-license-nft
  -- contracts/Stake.sol at a09902bfbd99e143a144f3ad453a3267709931da):
  --   stake(amount): transferFrom(user -> stake, amount), then
  --     StakeTokens(user, amount);
  --   unstake(user, amount): transfer(user, amount), then UnstakeTokens;
  --   emergencyWithdraw(user, amount): transfer(user, amount), then
  --     EmergencyWithdrawal; mint, revoke, setNewMinStakeAmount move none.
  -- So every stake event comes right after its own transfer (the token
  -- has no hooks: nothing logs between them), of its contract, in its
  -- direction, of exactly its amount. In each group of one transaction,
  -- contract, direction and amount, ordered by position, a transfer is
  -- explained by the row right after it when that row is a stake event;
  -- a transfer followed by another transfer, or by nothing, has no event
  -- of its own: 'stray' in, 'admin_withdraw' out of an app license,
  -- 'other' out of a manufacturer license. (An event can explain only the
  -- transfer right before it, so no transfer is explained twice, and an
  -- event whose transfer is missing takes none.) One pass over the
  -- part's scan of the batch (v_logs) and one window: no look-up per
  -- transfer, nothing that grows with the other logs of a block.
  --
  -- Each log's addresses and amount are parsed once, in `t`: written
  -- inline, they were parsed again for every contract the plan tried
  -- against them (19% of this statement's time, pg_stat_statements A/B,
  -- 2026-12-07). The license contracts are two arrays computed once
  -- (`x`), not a join: with the batch's size unknown to the planner, a
  -- join to `contracts` ran the scan of `t` once per license contract.
  INSERT INTO token_flows (chain_id, block_number, log_index, contract, tx_hash, block_time,
    direction, counterparty, amount, kind, explained_by)
  SELECT p_chain_id, y.block_number, y.log_index, y.contract, y.tx_hash, y.block_time, y.direction,
    y.counterparty, y.amount,
    CASE
      WHEN y.direction = 'in' THEN CASE WHEN y.explained_by IS NOT NULL THEN 'deposit' ELSE 'stray' END
      WHEN y.explained_by IS NOT NULL THEN y.explained_by
      WHEN y.role = 'app_license' THEN 'admin_withdraw'
      ELSE 'other'
    END,
    -- (019: the explaining event's position, for per-event checks.)
    CASE WHEN y.explained_by IS NOT NULL THEN y.explaining_log END
  FROM (
    SELECT t.block_number, t.log_index, t.tx_hash, t.block_time, d.address AS contract,
      CASE WHEN d.address = ANY (x.app) THEN 'app_license' ELSE 'manufacturer_license' END AS role, d.direction,
      d.counterparty, t.amount, t.event_kind,
      lead(t.event_kind) OVER w AS explained_by, lead(t.log_index) OVER w AS explaining_log
    FROM (SELECT u.block_number, u.log_index, u.tx_hash, u.block_time, u.address,
            dimo_internal.addr(u.args ->> 'from') AS from_address,
            dimo_internal.addr(u.args ->> 'to') AS to_address,
            dimo_internal.uint(coalesce(u.args ->> 'value', u.args ->> 'amount', u.args ->> 'amountOfTokens')) AS amount,
            CASE u.event_name WHEN 'Transfer' THEN NULL
              WHEN 'StakeDeposit' THEN 'deposit' WHEN 'Deposit' THEN 'deposit' WHEN 'StakeTokens' THEN 'deposit'
              WHEN 'StakeWithdraw' THEN 'withdraw' WHEN 'Withdraw' THEN 'withdraw'
              WHEN 'AssetForfeit' THEN 'forfeit' WHEN 'UnstakeTokens' THEN 'unstake'
              ELSE 'emergency_withdrawal' END AS event_kind,
            u.event_name IN ('StakeDeposit', 'Deposit', 'StakeTokens') AS event_in
          FROM unnest(v_logs) u
          WHERE (u.role = 'dimo_token' AND u.event = 'Transfer(address,address,uint256)')
             OR (u.role = 'app_license'
                 AND u.event_name IN ('StakeDeposit', 'Deposit', 'StakeWithdraw', 'Withdraw', 'AssetForfeit'))
             OR (u.role = 'manufacturer_license'
                 AND u.event_name IN ('StakeTokens', 'UnstakeTokens', 'EmergencyWithdrawal'))
          OFFSET 0) t
    CROSS JOIN LATERAL (VALUES
      ('in', CASE WHEN t.event_kind IS NULL THEN t.to_address WHEN t.event_in THEN t.address END, t.from_address),
      ('out', CASE WHEN t.event_kind IS NULL THEN t.from_address WHEN NOT t.event_in THEN t.address END,
       t.to_address)) d(direction, address, counterparty)
    CROSS JOIN (SELECT ARRAY(SELECT c.address FROM contracts c
                             WHERE c.chain_id = p_chain_id AND c.role = 'app_license') AS app,
                       ARRAY(SELECT c.address FROM contracts c
                             WHERE c.chain_id = p_chain_id AND c.role IN ('app_license', 'manufacturer_license'))
                         AS license) x
    WHERE t.amount IS NOT NULL AND d.address = ANY (x.license)
    WINDOW w AS (PARTITION BY t.tx_hash, d.address, d.direction, t.amount ORDER BY t.log_index)
  ) y
  WHERE y.event_kind IS NULL;

  -- Admin actions of the range, attributed.
  INSERT INTO admin_actions (chain_id, block_number, log_index, tx_hash, block_time, contract,
    action, token_id, amount, detail, gating_role, tx_from, tx_to, by_address, via, attribution)
  SELECT a.chain_id, a.block_number, a.log_index, a.tx_hash, a.block_time, a.contract, a.action,
    a.token_id, a.amount, a.detail, a.gating_role, s.from_address, s.to_address,
    dimo_internal.acct_by(x.attribution, s.from_address, s.to_address),
    dimo_internal.acct_via(x.attribution, s.from_address), x.attribution
  FROM (
    SELECT l.chain_id, l.block_number, l.log_index, l.tx_hash, l.block_time, l.address AS contract,
      CASE
        WHEN l.event_name = 'AssetFreezeUpdate' THEN
          CASE WHEN l.args ->> 'frozen' = 'true' THEN 'freeze' ELSE 'unfreeze' END
        WHEN l.event_name = 'AssetForfeit' THEN coalesce(m.kind, 'forfeit')
        WHEN l.event_name = 'Transfer' THEN 'revoke'
        WHEN l.event_name = 'Upgraded' THEN 'upgrade'
        WHEN l.event_name = 'Initialized' THEN 'initialize'
        ELSE 'setting'
      END AS action,
      dimo_internal.uint(l.args ->> 'tokenId') AS token_id,
      dimo_internal.uint(coalesce(l.args ->> 'amount', l.args ->> 'periodValidity',
                          l.args ->> 'licenseCost')) AS amount,
      CASE
        WHEN l.event_name = 'AssetForfeit' THEN
          jsonb_build_object('destination', CASE WHEN m.kind = 'forfeit_burn' THEN 'burn'
                                                 ELSE dimo_hex(m.to_address) END)
        WHEN l.event_name = 'Transfer' THEN jsonb_build_object('owner', l.args ->> 'from')
        WHEN l.event_name = 'AssetFreezeUpdate' THEN '{}'::jsonb
        ELSE jsonb_build_object('event', l.event, 'args', l.args)
      END AS detail,
      -- (initialize: no role gates an initializer; whoever calls it first.)
      CASE WHEN l.event_name = 'Transfer' THEN revoker
           WHEN l.event_name = 'Upgraded' THEN upgrader
           WHEN l.event_name = 'Initialized' THEN NULL ELSE license_admin END AS gating_role
    FROM unnest(v_logs) l
    LEFT JOIN stake_movements m ON l.event_name = 'AssetForfeit' AND m.chain_id = l.chain_id
      AND m.block_number = l.block_number AND m.log_index = l.log_index
    WHERE l.role = 'app_license'
      AND (l.event_name IN ('AssetFreezeUpdate', 'AssetForfeit', 'Upgraded')
           OR l.event = 'Initialized(uint64)'
           OR l.event_name LIKE 'Update%'
           OR (l.event = 'Transfer(address,address,uint256)' AND l.args ->> 'to' = zero))
    UNION ALL
    SELECT f.chain_id, f.block_number, f.log_index, f.tx_hash, f.block_time, f.contract,
      'admin_withdraw', NULL, f.amount, jsonb_build_object('to', dimo_hex(f.counterparty)),
      license_admin
    FROM token_flows f
    WHERE f.chain_id = p_chain_id AND f.block_number BETWEEN p_from_block AND p_to_block
      AND f.kind = 'admin_withdraw'
    UNION ALL
    -- The manufacturer license (2022 Stake): every admin function is
    -- onlyRole(DEFAULT_ADMIN_ROLE) (see the top). A mint is its Transfer
    -- from 0x0 (LicenseMinted follows it in the transaction), a revoke
    -- its burn Transfer (LicenseRevoked carries a wrong id: the deployed
    -- bug), an upgrade its proxy's Upgraded.
    SELECT l.chain_id, l.block_number, l.log_index, l.tx_hash, l.block_time, l.address,
      CASE l.event_name WHEN 'UnstakeTokens' THEN 'unstake'
        WHEN 'EmergencyWithdrawal' THEN 'emergency_withdrawal'
        WHEN 'StakeAmountAdjusted' THEN 'setting' WHEN 'Upgraded' THEN 'upgrade'
        WHEN 'Transfer' THEN CASE WHEN l.args ->> 'from' = zero THEN 'mint' ELSE 'revoke' END END,
      dimo_internal.uint(l.args ->> 'tokenId'),
      dimo_internal.uint(coalesce(l.args ->> 'amountOfTokens', l.args ->> 'amount')),
      CASE l.event_name
        WHEN 'UnstakeTokens' THEN jsonb_build_object('user', l.args ->> 'user')
        WHEN 'EmergencyWithdrawal' THEN jsonb_build_object('to', l.args ->> 'user')
        WHEN 'Transfer' THEN
          CASE WHEN l.args ->> 'from' = zero THEN jsonb_build_object('owner', l.args ->> 'to')
               ELSE jsonb_build_object('owner', l.args ->> 'from') END
        ELSE jsonb_build_object('event', l.event, 'args', l.args) END,
      default_admin
    FROM unnest(v_logs) l
    WHERE l.role = 'manufacturer_license'
      AND (l.event IN ('UnstakeTokens(address,uint256)', 'EmergencyWithdrawal(address,uint256)',
                       'StakeAmountAdjusted(uint256)', 'Upgraded(address)')
           OR (l.event = 'Transfer(address,address,uint256)'
               AND (l.args ->> 'from' = zero OR l.args ->> 'to' = zero)))
  ) a
  LEFT JOIN tx_senders s ON s.chain_id = a.chain_id AND s.block_number = a.block_number
    AND s.tx_hash = a.tx_hash
  CROSS JOIN LATERAL (SELECT dimo_internal.acct_attribution(a.chain_id, a.contract, a.gating_role,
    s.tx_hash IS NOT NULL, s.from_address, s.to_address, a.block_number, a.log_index) AS attribution) x;

  -- The licenses part (ord 10) built the documents of this batch's
  -- licenses before these rows existed: the documents of slashed licenses
  -- are rebuilt (or marked stale) so that their slashes carry `by`. (A key
  -- that is no license changes nothing there: both statements of
  -- dimo_internal.docs_changed join license_state. Filtering them out here, with
  -- an EXISTS on license_state, cost 130 ms a derivation on average and
  -- up to 540 in a 300,000-log backfill: pg_stat_statements, 2026-12-07.)
  v_keys := ARRAY(SELECT DISTINCT ROW(a.contract, a.token_id)::dimo_license_key FROM admin_actions a
    WHERE a.chain_id = p_chain_id AND a.block_number BETWEEN p_from_block AND p_to_block
      AND a.action IN ('forfeit', 'forfeit_burn', 'forfeit_reallocate') AND a.token_id IS NOT NULL);
  IF cardinality(v_keys) > 0 THEN
    SELECT m.block_number, m.block_time INTO v_block, v_time FROM model_cursor m
    WHERE m.chain_id = p_chain_id;
    PERFORM dimo_internal.docs_changed(p_chain_id, v_keys, v_block, v_time);
  END IF;
END;
$$;

CREATE OR REPLACE FUNCTION dimo_internal.acct_rollback(p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM admin_actions WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM token_flows WHERE chain_id = p_chain_id AND block_number > p_keep_block;
  DELETE FROM role_events WHERE chain_id = p_chain_id AND block_number > p_keep_block;
END;
$$;

-- A fresh index anchors a transaction's sender row at the transaction's
-- first log in `logs` (txfetch.c). When logs are stored below history
-- already modelled (the redecode step, the coverage catch-up), an earlier
-- log of an admin transaction moves its anchor there. p_blocks/p_txs: the
-- transactions that gained logs.
CREATE OR REPLACE FUNCTION dimo_internal.senders_reanchor(p_chain_id bigint, p_blocks bigint[], p_txs bytea[])
RETURNS void
LANGUAGE sql
AS $$
  UPDATE tx_senders s SET log_index = f.first_log
  FROM (SELECT l.block_number, l.tx_hash, min(l.log_index) AS first_log FROM logs l
        WHERE l.chain_id = p_chain_id
          AND (l.block_number, l.tx_hash) IN (SELECT DISTINCT x.b, x.t FROM unnest(p_blocks, p_txs) x(b, t))
        GROUP BY 1, 2) f
  WHERE s.chain_id = p_chain_id AND s.block_number = f.block_number AND s.tx_hash = f.tx_hash
    AND s.log_index <> f.first_log
$$;

-- ---- the senders' catch-up (a database indexed before 010 or 015) -------------

-- Admin transactions whose actions are still 'not_fetched' and whose
-- sender is not stored, oldest first, at most p_limit: each with its first
-- stored log (the anchor a batch gives its tx_senders row) and its block's
-- hash (the answer must be from that block). `run` and `sync` ask these
-- when they start (indexer/sync_admin.c).
CREATE OR REPLACE FUNCTION dimo_internal.acct_unfetched(p_chain_id bigint, p_limit int)
RETURNS TABLE (block_number bigint, tx_hash bytea, log_index bigint, block_hash bytea)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN QUERY
  SELECT a.block_number, a.tx_hash,
    (SELECT min(l.log_index)::bigint FROM logs l WHERE l.chain_id = a.chain_id
       AND l.block_number = a.block_number AND l.tx_hash = a.tx_hash),
    (SELECT l.block_hash FROM logs l WHERE l.chain_id = a.chain_id
       AND l.block_number = a.block_number AND l.tx_hash = a.tx_hash LIMIT 1)
  FROM (SELECT DISTINCT x.chain_id, x.block_number, x.tx_hash FROM admin_actions x
        WHERE x.chain_id = p_chain_id AND x.attribution = 'not_fetched') a
  WHERE NOT EXISTS (SELECT 1 FROM tx_senders s WHERE s.chain_id = a.chain_id
                      AND s.block_number = a.block_number AND s.tx_hash = a.tx_hash)
  ORDER BY a.block_number, a.tx_hash
  LIMIT p_limit;
END;
$$;

-- Attributes the 'not_fetched' actions whose senders are now stored, as
-- dimo_internal.acct_apply would have (the same functions), and marks the
-- documents of the licenses they slashed for rebuilding (their slashes
-- carry `by`). Idempotent; returns how many actions it attributed.
CREATE OR REPLACE FUNCTION dimo_internal.acct_catch_up(p_chain_id bigint)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  v_n bigint;
  v_keys dimo_license_key[];
  v_block bigint;
  v_time timestamptz;
BEGIN
  WITH x AS (
    SELECT a.block_number, a.log_index, s.from_address, s.to_address,
      dimo_internal.acct_attribution(a.chain_id, a.contract, a.gating_role, true, s.from_address,
                             s.to_address, a.block_number, a.log_index) AS att
    FROM admin_actions a
    JOIN tx_senders s ON s.chain_id = a.chain_id AND s.block_number = a.block_number
      AND s.tx_hash = a.tx_hash
    WHERE a.chain_id = p_chain_id AND a.attribution = 'not_fetched'),
  u AS (
    UPDATE admin_actions a SET tx_from = x.from_address, tx_to = x.to_address,
      by_address = dimo_internal.acct_by(x.att, x.from_address, x.to_address),
      via = dimo_internal.acct_via(x.att, x.from_address), attribution = x.att
    FROM x
    WHERE a.chain_id = p_chain_id AND a.block_number = x.block_number AND a.log_index = x.log_index
    RETURNING a.contract, a.token_id, a.action)
  SELECT count(*), ARRAY(SELECT DISTINCT ROW(u2.contract, u2.token_id)::dimo_license_key FROM u u2
      WHERE u2.action IN ('forfeit', 'forfeit_burn', 'forfeit_reallocate') AND u2.token_id IS NOT NULL)
  INTO v_n, v_keys FROM u;
  v_keys := ARRAY(SELECT k FROM unnest(v_keys) k WHERE EXISTS (SELECT 1 FROM license_state ls
    WHERE ls.chain_id = p_chain_id AND ls.contract = (k).contract AND ls.token_id = (k).token_id));
  IF cardinality(v_keys) > 0 THEN
    SELECT m.block_number, m.block_time INTO v_block, v_time FROM model_cursor m
    WHERE m.chain_id = p_chain_id;
    PERFORM dimo_internal.docs_changed(p_chain_id, v_keys, v_block, v_time);
  END IF;
  RETURN v_n;
END;
$$;

-- ---- questions ---------------------------------------------------------------------

-- The block answers describe by default: the model cursor.
CREATE OR REPLACE FUNCTION dimo_internal.acct_block(p_chain_id bigint, p_at_block bigint) RETURNS bigint
LANGUAGE sql STABLE
AS $$
  SELECT CASE WHEN p_at_block IS NULL THEN
    (SELECT m.block_number FROM model_cursor m WHERE m.chain_id = p_chain_id)
  ELSE least(p_at_block, (SELECT m.block_number FROM model_cursor m WHERE m.chain_id = p_chain_id)) END
$$;

-- The role history of a contract as of a block (default: the model's):
-- holdings begun at or before it, a revoke after it not yet known.
CREATE OR REPLACE FUNCTION dimo_role_holders(p_chain_id bigint, p_contract bytea,
                                             p_at_block bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_block bigint := dimo_internal.acct_block(p_chain_id, p_at_block);
BEGIN
  RETURN jsonb_build_object(
    'contract', dimo_hex(p_contract),
    'as_of_block', v_block,
    'roles', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
        'role', h.role_name, 'role_hash', dimo_hex(h.role), 'account', dimo_hex(h.account),
        'from_block', h.from_block, 'granted_by', dimo_hex(h.granted_by),
        'to_block', CASE WHEN h.to_block <= v_block THEN h.to_block END,
        'revoked_by', CASE WHEN h.to_block <= v_block THEN dimo_hex(h.revoked_by) END,
        'held', h.to_block IS NULL OR h.to_block > v_block)
        ORDER BY h.from_block, h.from_log_index)
      FROM role_history h
      WHERE h.chain_id = p_chain_id AND h.contract = p_contract AND h.from_block <= v_block), '[]'));
END;
$$;

-- One action as the API shows it, with `by`: {address, role, via,
-- attribution} (address and role NULL when unattributed or not fetched).
CREATE OR REPLACE FUNCTION dimo_internal.admin_action_json(p_chain_id bigint, p_block bigint, p_log_index int)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN (SELECT jsonb_build_object('contract', dimo_hex(a.contract), 'action', a.action,
    'token_id', a.token_id::text, 'amount', a.amount::text, 'detail', a.detail,
    'block_number', a.block_number, 'log_index', a.log_index, 'time', dimo_iso(a.block_time),
    'tx_hash', dimo_hex(a.tx_hash), 'tx_from', dimo_hex(a.tx_from), 'tx_to', dimo_hex(a.tx_to),
    'gating_role', dimo_role_name(a.gating_role),
    'by', jsonb_build_object('address', dimo_hex(a.by_address),
      'role', CASE WHEN a.by_address IS NOT NULL AND a.attribution <> 'deployment'
        THEN dimo_role_name(a.gating_role) END,
      'via', dimo_hex(a.via), 'attribution', a.attribution))
    FROM admin_actions a
    WHERE a.chain_id = p_chain_id AND a.block_number = p_block AND a.log_index = p_log_index);
END;
$$;

-- The admin-actions ledger, newest first, paged by (block, log index):
-- p_after is the previous page's `next` ("a1.BLOCK.LOG_INDEX").
-- Filters (NULL: any): license contract, action, executor (the address the
-- action is attributed to, or its sender, or `via`), block range. A bad
-- argument raises SQLSTATE 22023.
CREATE OR REPLACE FUNCTION dimo_admin_actions_page(p_chain_id bigint, p_contract text,
  p_action text, p_executor text, p_from_block bigint, p_to_block bigint, p_limit int,
  p_after text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_contract bytea;
  v_exec bytea;
  v_ab bigint;
  v_al int;
  v_rows jsonb;
  v_block bigint := dimo_internal.acct_block(p_chain_id, NULL);
BEGIN
  IF p_contract IS NOT NULL THEN
    v_contract := dimo_internal.addr(lower(p_contract));
    IF v_contract IS NULL THEN
      RAISE EXCEPTION 'license must be a contract address (0x + 40 hex digits)' USING ERRCODE = '22023';
    END IF;
  END IF;
  IF p_executor IS NOT NULL THEN
    v_exec := dimo_internal.addr(lower(p_executor));
    IF v_exec IS NULL THEN
      RAISE EXCEPTION 'executor must be an address (0x + 40 hex digits)' USING ERRCODE = '22023';
    END IF;
  END IF;
  IF p_action IS NOT NULL AND p_action NOT IN ('freeze', 'unfreeze', 'forfeit', 'forfeit_burn',
      'forfeit_reallocate', 'revoke', 'setting', 'upgrade', 'admin_withdraw', 'unstake',
      'emergency_withdrawal', 'mint', 'initialize') THEN
    RAISE EXCEPTION 'unknown action %', p_action USING ERRCODE = '22023';
  END IF;
  IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
    RAISE EXCEPTION 'limit must be 1..1000' USING ERRCODE = '22023';
  END IF;
  IF p_after IS NOT NULL THEN
    IF p_after !~ '^a1\.[0-9]{1,18}\.[0-9]{1,9}$' THEN
      RAISE EXCEPTION 'malformed page cursor' USING ERRCODE = '22023';
    END IF;
    v_ab := split_part(p_after, '.', 2)::bigint;
    v_al := split_part(p_after, '.', 3)::int;
  END IF;
  SELECT coalesce(jsonb_agg(dimo_internal.admin_action_json(p_chain_id, x.block_number, x.log_index)
                            ORDER BY x.block_number DESC, x.log_index DESC), '[]')
  INTO v_rows
  FROM (
    SELECT a.* FROM admin_actions a
    WHERE a.chain_id = p_chain_id AND a.block_number <= v_block
      AND (v_contract IS NULL OR a.contract = v_contract)
      AND (p_action IS NULL OR a.action = p_action)
      AND (v_exec IS NULL OR a.by_address = v_exec OR a.tx_from = v_exec OR a.via = v_exec)
      AND (p_from_block IS NULL OR a.block_number >= p_from_block)
      AND (p_to_block IS NULL OR a.block_number <= p_to_block)
      AND (v_ab IS NULL OR (a.block_number, a.log_index) < (v_ab, v_al))
    ORDER BY a.block_number DESC, a.log_index DESC
    LIMIT p_limit) x;
  RETURN jsonb_build_object('as_of_block', v_block, 'actions', v_rows,
    'next', CASE WHEN jsonb_array_length(v_rows) = p_limit THEN
      'a1.' || (v_rows -> (p_limit - 1) ->> 'block_number') || '.'
      || (v_rows -> (p_limit - 1) ->> 'log_index') END);
END;
$$;

-- A CSV field: quoted when it holds a comma, quote or line break.
CREATE OR REPLACE FUNCTION dimo_internal.csv(p text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN p IS NULL THEN ''
    WHEN p ~ '[",\r\n]' THEN '"' || replace(p, '"', '""') || '"' ELSE p END
$$;

-- The same page as CSV (RFC 4180, CRLF line ends, a header line): one row
-- per action; the next page starts after the last row's block and log
-- index (after=a1.BLOCK.LOG_INDEX).
CREATE OR REPLACE FUNCTION dimo_admin_actions_csv(p_chain_id bigint, p_contract text,
  p_action text, p_executor text, p_from_block bigint, p_to_block bigint, p_limit int,
  p_after text)
RETURNS text
LANGUAGE sql STABLE
AS $$
  SELECT 'block_number,log_index,time,tx_hash,contract,action,token_id,amount,gating_role,'
    || 'by_address,by_role,via,attribution,tx_from,tx_to,detail' || E'\r\n'
    || coalesce(string_agg(concat_ws(',', r ->> 'block_number', r ->> 'log_index', r ->> 'time',
         r ->> 'tx_hash', r ->> 'contract', r ->> 'action', dimo_internal.csv(r ->> 'token_id'),
         dimo_internal.csv(r ->> 'amount'), r ->> 'gating_role', dimo_internal.csv(r -> 'by' ->> 'address'),
         dimo_internal.csv(r -> 'by' ->> 'role'), dimo_internal.csv(r -> 'by' ->> 'via'),
         r -> 'by' ->> 'attribution', dimo_internal.csv(r ->> 'tx_from'), dimo_internal.csv(r ->> 'tx_to'),
         dimo_internal.csv((r -> 'detail')::text)) || E'\r\n', '' ORDER BY o), '')
  FROM jsonb_array_elements(dimo_admin_actions_page(p_chain_id, p_contract, p_action, p_executor,
    p_from_block, p_to_block, p_limit, p_after) -> 'actions') WITH ORDINALITY AS a(r, o)
$$;

-- The DIMO books of a license contract as of a block (default: the
-- model's): held (tokens in minus tokens out, from the token's own
-- transfers), staked (the sum of its stake movements), stray = held -
-- staked, what left by each path, every adminWithdraw, and each forfeit's
-- check against its token transfer. Amounts in wei, decimal strings.
CREATE OR REPLACE FUNCTION dimo_license_books(p_chain_id bigint, p_contract bytea,
                                              p_at_block bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_block bigint := dimo_internal.acct_block(p_chain_id, p_at_block);
  v_in numeric;
  v_out numeric;
  v_staked numeric;
  v_kinds jsonb;
BEGIN
  SELECT coalesce(sum(f.amount) FILTER (WHERE f.direction = 'in'), 0),
         coalesce(sum(f.amount) FILTER (WHERE f.direction = 'out'), 0)
  INTO v_in, v_out
  FROM token_flows f
  WHERE f.chain_id = p_chain_id AND f.contract = p_contract AND f.block_number <= v_block;
  SELECT coalesce(sum(m.delta), 0) INTO v_staked FROM stake_movements m
  WHERE m.chain_id = p_chain_id AND m.contract = p_contract AND m.block_number <= v_block;
  SELECT coalesce(jsonb_object_agg(k.direction || '_' || k.kind, k.total::text), '{}') INTO v_kinds
  FROM (SELECT f.direction, f.kind, sum(f.amount) AS total FROM token_flows f
        WHERE f.chain_id = p_chain_id AND f.contract = p_contract AND f.block_number <= v_block
        GROUP BY 1, 2) k;
  RETURN jsonb_build_object(
    'contract', dimo_hex(p_contract),
    'role', (SELECT c.role FROM contracts c WHERE c.chain_id = p_chain_id AND c.address = p_contract),
    'as_of_block', v_block,
    'held', (v_in - v_out)::text,
    'staked', v_staked::text,
    'stray', (v_in - v_out - v_staked)::text,
    'received', v_in::text,
    'sent', v_out::text,
    'by_kind', v_kinds,
    'admin_withdrawals', coalesce((
      SELECT jsonb_agg(dimo_internal.admin_action_json(p_chain_id, a.block_number, a.log_index)
                       ORDER BY a.block_number, a.log_index)
      FROM admin_actions a
      WHERE a.chain_id = p_chain_id AND a.contract = p_contract AND a.action = 'admin_withdraw'
        AND a.block_number <= v_block), '[]'),
    'forfeit_checks', coalesce((
      SELECT jsonb_agg(jsonb_build_object('block_number', c.block_number, 'log_index', c.log_index,
        'tx_hash', dimo_hex(c.tx_hash), 'token_id', c.token_id::text, 'amount', c.amount::text,
        'transferred', c.transferred::text, 'matches', c.matches)
        ORDER BY c.block_number, c.log_index)
      FROM forfeit_checks c
      WHERE c.chain_id = p_chain_id AND c.contract = p_contract AND c.block_number <= v_block), '[]'),
    'forfeit_mismatches', (SELECT count(*) FROM forfeit_checks c
      WHERE c.chain_id = p_chain_id AND c.contract = p_contract AND c.block_number <= v_block
        AND NOT c.matches));
END;
$$;

-- The books where auditors read them (GET /v1/books, /v1/books/{contract},
-- `audit books`): p_contract NULL: every license contract's books (app and
-- manufacturer), in address order, under one as_of_block; else that
-- contract's books, NULL when it is no license contract. NULL as well when
-- nothing is indexed yet. A malformed address raises SQLSTATE 22023.
CREATE OR REPLACE FUNCTION dimo_books(p_chain_id bigint, p_contract text, p_at_block bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_contract bytea;
  v_block bigint := dimo_internal.acct_block(p_chain_id, p_at_block);
BEGIN
  IF p_contract IS NOT NULL THEN
    v_contract := dimo_internal.addr(lower(p_contract));
    IF v_contract IS NULL THEN
      RAISE EXCEPTION 'a license contract is a 0x address (40 hex digits)' USING ERRCODE = '22023';
    END IF;
  END IF;
  IF v_block IS NULL THEN
    RETURN NULL;
  END IF;
  IF v_contract IS NOT NULL THEN
    IF NOT EXISTS (SELECT 1 FROM contracts c WHERE c.chain_id = p_chain_id AND c.address = v_contract
                     AND c.role IN ('app_license', 'manufacturer_license')) THEN
      RETURN NULL;
    END IF;
    RETURN dimo_license_books(p_chain_id, v_contract, v_block);
  END IF;
  RETURN jsonb_build_object('as_of_block', v_block, 'contracts', coalesce((
    SELECT jsonb_agg(dimo_license_books(p_chain_id, c.address, v_block) ORDER BY c.address)
    FROM contracts c
    WHERE c.chain_id = p_chain_id AND c.role IN ('app_license', 'manufacturer_license')), '[]'));
END;
$$;

-- ---- `by` in the slash ledger and the license documents -----------------------

-- The executor of the admin action logged at (block, log index): {address,
-- role, via, attribution}, or NULL when no action is recorded there.
CREATE OR REPLACE FUNCTION dimo_internal.action_by(p_chain_id bigint, p_block bigint, p_log_index int)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  IF to_regclass('admin_actions') IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN (SELECT jsonb_build_object('address', dimo_hex(a.by_address),
      'role', CASE WHEN a.by_address IS NOT NULL AND a.attribution <> 'deployment'
        THEN dimo_role_name(a.gating_role) END,
      'via', dimo_hex(a.via), 'attribution', a.attribution)
    FROM admin_actions a
    WHERE a.chain_id = p_chain_id AND a.block_number = p_block AND a.log_index = p_log_index);
END;
$$;

-- ---- views for dashboards ---------------------------------------------------------

DO $guard$
BEGIN
  IF to_regclass('admin_actions') IS NULL THEN
    RETURN;
  END IF;
  EXECUTE $views$
-- Who held which role of a contract from which block to which, granted
-- (and revoked) by whom: one row per holding. to_block is the block of
-- the revoke (NULL: still held).
CREATE OR REPLACE VIEW role_history AS
SELECT g.chain_id, g.contract, g.role, dimo_role_name(g.role) AS role_name, g.account,
  g.block_number AS from_block, g.log_index AS from_log_index, g.sender AS granted_by,
  g.tx_hash AS granted_tx, r.block_number AS to_block, r.log_index AS to_log_index,
  r.sender AS revoked_by, r.tx_hash AS revoked_tx
FROM role_events g
LEFT JOIN LATERAL (
  SELECT e.* FROM role_events e
  WHERE e.chain_id = g.chain_id AND e.contract = g.contract AND e.role = g.role
    AND e.account = g.account AND e.kind = 'revoked'
    AND (e.block_number, e.log_index) > (g.block_number, g.log_index)
  ORDER BY e.block_number, e.log_index LIMIT 1) r ON true
WHERE g.kind = 'granted';

-- Each forfeit against the DIMO that left the contract for it in its
-- transaction: `matches` when the licenses part paired it with a transfer
-- of exactly its amount (burn or reallocation), else flagged.
CREATE OR REPLACE VIEW forfeit_checks AS
SELECT a.chain_id, a.contract, a.block_number, a.log_index, a.tx_hash, a.token_id, a.amount,
  -- The transfer this forfeit's own event explains (019), not every
  -- forfeit transfer of its transaction.
  (SELECT sum(f.amount) FROM token_flows f WHERE f.chain_id = a.chain_id
     AND f.block_number = a.block_number AND f.tx_hash = a.tx_hash AND f.contract = a.contract
     AND f.kind = 'forfeit' AND f.explained_by = a.log_index) AS transferred,
  a.action IN ('forfeit_burn', 'forfeit_reallocate') AS matches
FROM admin_actions a
WHERE a.action IN ('forfeit', 'forfeit_burn', 'forfeit_reallocate');

-- The ledger for people: hex, role names, one row per action.
CREATE OR REPLACE VIEW admin_action_log AS
SELECT a.chain_id, a.block_number, a.log_index, a.block_time, dimo_hex(a.tx_hash) AS tx_hash,
  dimo_hex(a.contract) AS contract, a.action, a.token_id, a.amount, a.detail,
  dimo_role_name(a.gating_role) AS gating_role, dimo_hex(a.tx_from) AS tx_from,
  dimo_hex(a.tx_to) AS tx_to, dimo_hex(a.by_address) AS by_address, dimo_hex(a.via) AS via,
  a.attribution
FROM admin_actions a;

-- Per executor and action: how many, and how many could not be attributed.
CREATE OR REPLACE VIEW admin_action_counts AS
SELECT a.chain_id, dimo_hex(a.contract) AS contract, a.action, a.attribution,
  dimo_hex(a.by_address) AS by_address, count(*) AS actions, min(a.block_time) AS first_time,
  max(a.block_time) AS last_time
FROM admin_actions a
GROUP BY a.chain_id, a.contract, a.action, a.attribution, a.by_address;

-- Current role holders of every license contract.
CREATE OR REPLACE VIEW role_holders AS
SELECT h.chain_id, dimo_hex(h.contract) AS contract, h.role_name, dimo_hex(h.account) AS account,
  h.from_block, dimo_hex(h.granted_by) AS granted_by
FROM role_history h
WHERE h.to_block IS NULL;
$views$;
END;
$guard$;

-- The books of every license contract now (wei and DIMO).
CREATE OR REPLACE VIEW license_books AS
SELECT c.chain_id, dimo_hex(c.address) AS contract, c.role,
  (b ->> 'held')::numeric AS held, (b ->> 'staked')::numeric AS staked,
  (b ->> 'stray')::numeric AS stray, dimo_wei_to_dimo((b ->> 'stray')::numeric) AS stray_dimo,
  jsonb_array_length(b -> 'admin_withdrawals') AS admin_withdrawals,
  (b ->> 'forfeit_mismatches')::bigint AS forfeit_mismatches, (b ->> 'as_of_block')::bigint AS as_of_block
FROM contracts c
CROSS JOIN LATERAL dimo_license_books(c.chain_id, c.address) b
WHERE c.role IN ('app_license', 'manufacturer_license');

-- The manufacturer license's AccessControl events, read by the part (role
-- history, for the attribution of its actions): declared here rather than
-- in a numbered migration (the declaration is data about these
-- definitions, and goes with them; idempotent). Optional (011's flag): a
-- network whose manufacturer ABI lacks them (an ABI file from before this
-- change) still starts; its role logs are then kept raw in unknown_logs,
-- and the first start with an ABI that has them decodes them into `logs`
-- and re-derives the parts declared to read them (indexer/redecode.c).
DO $$
BEGIN
  IF to_regclass('model_reads') IS NULL
     OR NOT EXISTS (SELECT 1 FROM model_parts p WHERE p.name = 'accountability')
     OR NOT EXISTS (SELECT 1 FROM information_schema.columns c
                    WHERE c.table_name = 'model_reads' AND c.column_name = 'optional') THEN
    RETURN;
  END IF;
  INSERT INTO model_reads (part, role, event, args, optional) VALUES
    ('accountability', 'manufacturer_license', 'RoleGranted(bytes32,address,address)',
     '{role,account,sender}', true),
    ('accountability', 'manufacturer_license', 'RoleRevoked(bytes32,address,address)',
     '{role,account,sender}', true),
    ('accountability', 'manufacturer_license', 'RoleAdminChanged(bytes32,bytes32,bytes32)',
     '{role,previousAdminRole,newAdminRole}', true),
    -- The app license's Initialized (OpenZeppelin 5, uint64): the
    -- `initialize` action, and what its initializer logged is the
    -- deployer's (dimo_internal.acct_initializing).
    ('accountability', 'app_license', 'Initialized(uint64)', '{version}', true),
    -- The stake events that explain each DIMO transfer (the flows
    -- statement above) beyond those 010 declared: the 2024 license
    -- contract's Deposit / Withdraw (optional: only that contract's ABI has
    -- them) and the manufacturer license's StakeTokens.
    ('accountability', 'app_license', 'Deposit(uint256,address,uint256)', '{tokenId,user,amount}', true),
    ('accountability', 'app_license', 'Withdraw(uint256,address,uint256)', '{tokenId,user,amount}', true),
    ('accountability', 'manufacturer_license', 'StakeTokens(address,uint256)', '{user,amountOfTokens}', false)
  ON CONFLICT (part, role, event) DO NOTHING;
END;
$$;

-- Re-derive the accountability part from the stored logs with the
-- definitions above (as licenses.sql does for its part): whatever an older
-- definition derived (the manufacturer's actions as 'sender_only', without
-- its mints, upgrades and role history) is replaced by what a fresh index
-- derives. Up to the model's block (a backfill may have stored logs the
-- model has not reached: their derivation comes with the rest of the
-- parts). An action whose sender was never fetched (a mint, before)
-- comes out 'not_fetched', and the next `run` or `sync` fetches it (the
-- senders' catch-up). Nothing to do on an empty database; a one-off cost
-- when this file changes.
DO $$
DECLARE
  c record;
BEGIN
  IF to_regclass('admin_actions') IS NULL THEN
    RETURN;
  END IF;
  FOR c IN SELECT m.chain_id, m.block_number FROM model_cursor m ORDER BY m.chain_id LOOP
    PERFORM dimo_internal.acct_rollback(c.chain_id, -1);
    PERFORM dimo_internal.acct_apply(c.chain_id,
      least(coalesce((SELECT min(l.block_number) FROM logs l WHERE l.chain_id = c.chain_id), c.block_number),
            c.block_number),
      c.block_number);
  END LOOP;
END;
$$;
