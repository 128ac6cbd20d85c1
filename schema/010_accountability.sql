-- 010_accountability.sql: accountability for auditors (issue #25): who held
-- which role of a license contract when, who executed each admin action
-- under which role, and the contracts' DIMO books.
--
-- Tables only, and the model part's registration. The functions (apply,
-- rollback, questions, views) live in schema/functions/accountability.sql,
-- re-applied when they change; the two hooks are created here as
-- placeholders so that model_parts can name them (regprocedure needs the
-- function to exist), and the repeatable file replaces them right after the
-- migrations. A database indexed before this migration gets its history
-- from `dimo-indexer rederive` (role events and token flows come from the
-- stored logs); its admin actions from before show attribution
-- 'not_fetched' (their transactions were never asked for).

-- The sender and called contract of each transaction carrying an admin
-- action: raw chain data, like `logs`, written by the store in the batch's
-- own transaction (indexer/txfetch.c asks eth_getTransactionByHash for
-- these transactions only). The row references the transaction's first log
-- in the batch, so the rollback's DELETE of that log removes it (ON DELETE
-- CASCADE): a row can never outlive the chain it came from, and `rederive`
-- (which undoes only the model) keeps it.
CREATE TABLE tx_senders (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL CHECK (block_number >= 0),
  tx_hash bytea NOT NULL CHECK (octet_length(tx_hash) = 32),
  log_index int NOT NULL CHECK (log_index >= 0),
  from_address bytea NOT NULL CHECK (octet_length(from_address) = 20),
  -- NULL for a contract creation.
  to_address bytea CHECK (octet_length(to_address) = 20),
  PRIMARY KEY (chain_id, block_number, tx_hash),
  CONSTRAINT tx_senders_log UNIQUE (chain_id, block_number, log_index),
  CONSTRAINT tx_senders_log_fk FOREIGN KEY (chain_id, block_number, log_index)
    REFERENCES logs (chain_id, block_number, log_index) ON DELETE CASCADE
);

-- The names the license contracts give their roles (developer-license
-- src/): shown by name; any other hash is shown as hex.
CREATE TABLE role_names (
  role bytea PRIMARY KEY CHECK (octet_length(role) = 32),
  name text NOT NULL UNIQUE
);
INSERT INTO role_names (role, name) VALUES
  ('\x0000000000000000000000000000000000000000000000000000000000000000', 'DEFAULT_ADMIN_ROLE'),
  ('\xb0595b952dcdb59629a8074074bf7d12f6430e60e719a988d9135461944d0a4e', 'LICENSE_ADMIN_ROLE'),
  ('\xce3f34913921da558f105cefb578d87278debbbd073a8d552b5de0d168deee30', 'REVOKER_ROLE'),
  ('\x189ab7a9244df0848122154315af71fe140f3db0fe014031783b0946b8c9d2e3', 'UPGRADER_ROLE');

-- Every RoleGranted / RoleRevoked / RoleAdminChanged of a license
-- contract, keyed like its log.
CREATE TABLE role_events (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  kind text NOT NULL CHECK (kind IN ('granted', 'revoked', 'admin_changed')),
  role bytea NOT NULL CHECK (octet_length(role) = 32),
  -- granted/revoked: the account and the caller (`sender`).
  account bytea,
  sender bytea,
  -- admin_changed: the role's admin role before and after.
  previous_admin_role bytea,
  new_admin_role bytea,
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX role_events_holder ON role_events (chain_id, contract, role, account, block_number, log_index);

-- DIMO token transfers into or out of a license contract: the contract's
-- books. One row per (transfer, license contract) (a transfer between two
-- license contracts is an outflow of one and an inflow of the other).
-- kind: in: 'deposit' (a stake event of the contract in the transaction),
-- 'stray' (no stake event: tokens sent by mistake); out: 'withdraw',
-- 'forfeit', 'unstake', 'emergency_withdrawal' (its event is in the
-- transaction), 'admin_withdraw' (an app license's outflow with neither
-- StakeWithdraw nor AssetForfeit), 'other' (a node license's unexplained
-- outflow).
CREATE TABLE token_flows (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  contract bytea NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  direction text NOT NULL CHECK (direction IN ('in', 'out')),
  counterparty bytea NOT NULL,
  amount numeric(78, 0) NOT NULL,
  kind text NOT NULL,
  PRIMARY KEY (chain_id, block_number, log_index, contract, direction)
);
CREATE INDEX token_flows_contract ON token_flows (chain_id, contract, block_number);

-- Every admin action, its executor and the role it went through.
-- attribution: 'sender' (the transaction's sender held the gating role at
-- the action's position in the chain), 'called_contract' (the contract the
-- transaction called held it: a multisig such as DIMO's Safe; `via` is the
-- sender), 'unattributed' (neither: a deeper forwarding chain; counted,
-- never guessed), 'not_fetched' (indexed before 010: no sender known).
CREATE TABLE admin_actions (
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash bytea NOT NULL,
  block_time timestamptz NOT NULL,
  contract bytea NOT NULL,
  action text NOT NULL,
  token_id numeric(78, 0),
  amount numeric(78, 0),
  detail jsonb NOT NULL DEFAULT '{}',
  gating_role bytea NOT NULL,
  tx_from bytea,
  tx_to bytea,
  by_address bytea,
  via bytea,
  attribution text NOT NULL
    CHECK (attribution IN ('sender', 'called_contract', 'unattributed', 'not_fetched')),
  PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX admin_actions_contract ON admin_actions (chain_id, contract, block_number, log_index);
CREATE INDEX admin_actions_by ON admin_actions (chain_id, by_address, block_number);
CREATE INDEX admin_actions_token ON admin_actions (chain_id, contract, token_id) WHERE token_id IS NOT NULL;

-- Placeholders (see the top), unless the repeatable file already defined
-- them (a schema whose function files are newer than its migrations).
DO $do$
BEGIN
  IF to_regprocedure('dimo__acct_apply(bigint,bigint,bigint)') IS NULL THEN
    CREATE FUNCTION dimo__acct_apply(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
    RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'accountability.sql not applied'; END; $$;
  END IF;
  IF to_regprocedure('dimo__acct_rollback(bigint,bigint)') IS NULL THEN
    CREATE FUNCTION dimo__acct_rollback(p_chain_id bigint, p_keep_block bigint)
    RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'accountability.sql not applied'; END; $$;
  END IF;
END;
$do$;

-- After the licenses part (10): forfeits read its stake_movements.
INSERT INTO model_parts (ord, name, apply_fn, rollback_fn)
VALUES (110, 'accountability', 'dimo__acct_apply(bigint,bigint,bigint)',
        'dimo__acct_rollback(bigint,bigint)');

INSERT INTO model_reads (part, role, event, args) VALUES
  ('accountability', 'app_license', 'RoleGranted(bytes32,address,address)', '{role,account,sender}'),
  ('accountability', 'app_license', 'RoleRevoked(bytes32,address,address)', '{role,account,sender}'),
  ('accountability', 'app_license', 'RoleAdminChanged(bytes32,bytes32,bytes32)',
   '{role,previousAdminRole,newAdminRole}'),
  ('accountability', 'app_license', 'AssetFreezeUpdate(uint256,uint256,bool)', '{tokenId,amount,frozen}'),
  ('accountability', 'app_license', 'AssetForfeit(uint256,uint256)', '{tokenId,amount}'),
  ('accountability', 'app_license', 'StakeWithdraw(uint256,address,uint256)', '{tokenId,user,amount}'),
  ('accountability', 'app_license', 'StakeDeposit(uint256,address,uint256)', '{tokenId,user,amount}'),
  ('accountability', 'app_license', 'UpdatePeriodValidity(uint256)', '{periodValidity}'),
  ('accountability', 'app_license', 'UpdateLicenseCost(uint256)', '{licenseCost}'),
  ('accountability', 'app_license', 'Transfer(address,address,uint256)', '{from,to,tokenId}'),
  ('accountability', 'dimo_token', 'Transfer(address,address,uint256)', '{from,to,value}');
