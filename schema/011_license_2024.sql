-- 011_license_2024.sql: the 2024 license contract as a second event
-- generation of the `app_license` role (shared/dimo-contracts.md, end of
-- section 1: the non-upgradeable 0xc194631194671a44a9eF1c59DF290ef0F3E76EA1,
-- April to July 2024, abi/DevLicenseDimo2024.json).
--
-- Most of its events are today's (Issued, Transfer, Locked, the bytes32
-- LicenseAliasSet, signers, redirect URIs, freezes, forfeits) and the
-- licenses part (002) reads them as they are. Its indexed
-- UpdateLicenseCost/UpdatePeriodValidity have today's signatures and
-- argument names, with the value in topics[1] instead of data: the decoder
-- tells the two layouts apart by topic count and hands the model the same
-- args, so 002's rules apply unchanged. What differs in name or meaning is
-- one rule each, in the model part `licenses_2024` (ord 12, right after
-- `licenses`; its functions are in schema/functions/license_2024.sql):
--   Deposit(tokenId, user, amount)   -> stake_movements kind 'deposit'
--   Withdraw(tokenId, user, amount)  -> stake_movements kind 'withdraw'
--   UpdateMinimumStake(amount)       -> parameter_events 'minimum_stake'
--                                      of the app-license contract (the
--                                      smallest amount one lock() accepts;
--                                      not a license requirement, so it
--                                      changes no status)
-- Its rows go to 002's history tables, so 002's rollback (which cuts every
-- history row above the kept block and refreshes what they touched) undoes
-- them too.

-- A read of one event generation that only some contracts of a role emit
-- (the 2024 contract's Deposit, which the proxy never had): the start-up
-- check (indexer/modelcheck.c) still compares its argument names wherever
-- an ABI of the role has the event, but does not refuse a network none of
-- whose ABIs has it.
ALTER TABLE model_reads ADD COLUMN optional boolean NOT NULL DEFAULT false;

-- The part's hooks are defined in the repeatable file; model_parts needs
-- them to exist when it is registered, and the repeatable files run after
-- the migrations. So this creates empty ones, which the repeatable file
-- replaces, unless they exist already (a database whose repeatable files
-- were applied before this migration: their real bodies are kept).
DO $$
BEGIN
  IF to_regprocedure('dimo__license_2024_apply(bigint,bigint,bigint)') IS NULL THEN
    CREATE FUNCTION dimo__license_2024_apply(p_chain_id bigint, p_from_block bigint, p_to_block bigint)
    RETURNS void LANGUAGE plpgsql AS $f$ BEGIN END; $f$;
  END IF;
  IF to_regprocedure('dimo__license_2024_rollback(bigint,bigint)') IS NULL THEN
    CREATE FUNCTION dimo__license_2024_rollback(p_chain_id bigint, p_keep_block bigint)
    RETURNS void LANGUAGE plpgsql AS $f$ BEGIN END; $f$;
  END IF;
END;
$$;

INSERT INTO model_parts (ord, name, apply_fn, rollback_fn)
VALUES (12, 'licenses_2024', 'dimo__license_2024_apply(bigint,bigint,bigint)',
        'dimo__license_2024_rollback(bigint,bigint)');

INSERT INTO model_reads (part, role, event, args, optional) VALUES
  ('licenses_2024', 'app_license', 'Deposit(uint256,address,uint256)', '{tokenId,user,amount}', true),
  ('licenses_2024', 'app_license', 'Withdraw(uint256,address,uint256)', '{tokenId,user,amount}', true),
  ('licenses_2024', 'app_license', 'UpdateMinimumStake(uint256)', '{amount}', true);
