-- license_2024.sql (repeatable): the model part `licenses_2024` (011): the
-- rules for the events of the 2024 license contract whose name or meaning
-- differs from today's DevLicenseDimo (see 011_license_2024.sql).
--
-- It runs right after the licenses part (ord 10) in the same batch
-- transaction and writes into the licenses part's history tables:
--   1. Deposit / Withdraw -> stake_movements (deposit / withdraw, per
--      token, like StakeDeposit / StakeWithdraw); UpdateMinimumStake ->
--      parameter_events (minimum_stake of that contract);
--   2. the running balance (balance_after) of every token it moved is
--      recomputed over the batch's rows of that token, the licenses
--      part's forfeits included (they were summed without the deposits);
--   3. the owner at each of its movements, the current rows
--      (dimo_internal.refresh_licenses) and the cached documents of those tokens,
--      with the licenses part's own functions.
-- Rollback needs nothing of its own: the licenses part's rollback cuts
-- every history row above the kept block, these included, and refreshes
-- every token they touched.

CREATE OR REPLACE FUNCTION dimo_internal.license_2024_apply(p_chain_id bigint, p_from_block bigint,
                                                    p_to_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_keys dimo_license_key[];
  v_time timestamptz;
BEGIN
  WITH b AS MATERIALIZED (
    SELECT l.block_number, l.log_index, l.tx_hash, l.block_time, l.address AS contract,
      coalesce(l.role, c.role) AS role, l.event, l.args
    FROM logs l
    LEFT JOIN contracts c ON c.chain_id = l.chain_id AND c.address = l.address
    WHERE l.chain_id = p_chain_id AND l.block_number BETWEEN p_from_block AND p_to_block
      AND l.event IN ('Deposit(uint256,address,uint256)', 'Withdraw(uint256,address,uint256)',
                      'UpdateMinimumStake(uint256)')
      AND coalesce(l.role, c.role) = 'app_license'
  ),
  par AS (
    INSERT INTO parameter_events (chain_id, block_number, log_index, tx_hash, block_time, contract,
      parameter, value)
    SELECT p_chain_id, b.block_number, b.log_index, b.tx_hash, b.block_time, b.contract,
      'minimum_stake', dimo_internal.uint(b.args ->> 'amount')
    FROM b
    WHERE b.event = 'UpdateMinimumStake(uint256)' AND dimo_internal.uint(b.args ->> 'amount') IS NOT NULL
  ),
  ins AS (
    -- balance_after is set in step 2, with the batch's other movements.
    INSERT INTO stake_movements (chain_id, block_number, log_index, tx_hash, block_time, contract,
      role, token_id, holder, kind, amount, delta, balance_after, from_address, to_address)
    SELECT p_chain_id, x.block_number, x.log_index, x.tx_hash, x.block_time, x.contract, x.role,
      x.token_id, NULL, x.kind, x.amount, x.sign * x.amount, 0,
      CASE WHEN x.kind = 'deposit' THEN x.user_address END,
      CASE WHEN x.kind = 'withdraw' THEN x.user_address END
    FROM (
      SELECT b.*, dimo_internal.uint(b.args ->> 'tokenId') AS token_id,
        dimo_internal.uint(b.args ->> 'amount') AS amount, dimo_internal.addr(b.args ->> 'user') AS user_address,
        CASE WHEN b.event = 'Deposit(uint256,address,uint256)' THEN 'deposit' ELSE 'withdraw' END AS kind,
        CASE WHEN b.event = 'Deposit(uint256,address,uint256)' THEN 1 ELSE -1 END AS sign
      FROM b WHERE b.event IN ('Deposit(uint256,address,uint256)', 'Withdraw(uint256,address,uint256)')
    ) x
    WHERE x.token_id IS NOT NULL AND x.amount IS NOT NULL
    RETURNING contract, token_id
  )
  SELECT coalesce(array_agg(DISTINCT ROW(ins.contract, ins.token_id)::dimo_license_key), '{}')
    INTO v_keys FROM ins;

  IF cardinality(v_keys) = 0 THEN
    RETURN;
  END IF;

  -- 2. Running balances of the tokens moved: the balance before the batch
  --    plus the sum of the batch's deltas so far, in log order.
  UPDATE stake_movements m SET balance_after = r.balance
  FROM (
    SELECT s.block_number, s.log_index,
      coalesce((SELECT p.balance_after FROM stake_movements p
                WHERE p.chain_id = p_chain_id AND p.contract = s.contract AND p.token_id = s.token_id
                  AND p.block_number < p_from_block
                ORDER BY p.block_number DESC, p.log_index DESC LIMIT 1), 0)
        + sum(s.delta) OVER (PARTITION BY s.contract, s.token_id
                             ORDER BY s.block_number, s.log_index) AS balance
    FROM stake_movements s
    JOIN unnest(v_keys) k ON k.contract = s.contract AND k.token_id = s.token_id
    WHERE s.chain_id = p_chain_id AND s.block_number BETWEEN p_from_block AND p_to_block
  ) r
  WHERE m.chain_id = p_chain_id AND m.block_number = r.block_number AND m.log_index = r.log_index
    AND m.balance_after IS DISTINCT FROM r.balance;

  -- 3. The owner at each new movement (as the licenses part does for its
  --    own), then the current rows and documents of these tokens.
  UPDATE stake_movements m SET owner = (
    SELECT o.owner FROM ownership_events o
    WHERE o.chain_id = m.chain_id AND o.contract = m.contract AND o.token_id = m.token_id
      AND (o.block_number, o.log_index) < (m.block_number, m.log_index)
    ORDER BY o.block_number DESC, o.log_index DESC LIMIT 1)
  FROM unnest(v_keys) k
  WHERE m.chain_id = p_chain_id AND m.block_number BETWEEN p_from_block AND p_to_block
    AND m.contract = k.contract AND m.token_id = k.token_id AND m.owner IS NULL;

  PERFORM dimo_internal.refresh_licenses(p_chain_id, v_keys);
  SELECT m.block_time INTO v_time FROM model_cursor m WHERE m.chain_id = p_chain_id;
  PERFORM dimo_internal.docs_changed(p_chain_id, v_keys, p_to_block, v_time);
END;
$$;

-- Nothing of its own to undo (see the head of this file).
CREATE OR REPLACE FUNCTION dimo_internal.license_2024_rollback(p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  RETURN;
END;
$$;
