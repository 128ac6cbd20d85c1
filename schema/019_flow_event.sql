-- 019_flow_event.sql: which stake event explains each DIMO transfer of a
-- license contract.
--
-- token_flows explains a transfer by the stake event that follows it in
-- its transaction (schema/functions/accountability.sql: same contract,
-- direction and amount, by position, as DIMO's functions log them). The
-- kind alone cannot tell two forfeits of one transaction apart (a Safe
-- batch slashing two licenses): forfeit_checks summed every forfeit flow
-- of the transaction, so each check showed the pair's total. The log index
-- of the explaining event lets each check count its own transfer. NULL for
-- a transfer no stake event explains (stray, admin_withdraw, other). The
-- function file re-derives the part when it changes, so rows derived
-- before take it.

ALTER TABLE token_flows ADD COLUMN explained_by int CHECK (explained_by >= 0);
