-- 018_deployment_attribution.sql: an admin action logged by the
-- transaction that created its contract is the deployer's.
--
-- A UUPS proxy logs Upgraded(first implementation) in its constructor,
-- before its initializer grants any role (DIMO's license proxies: the
-- ERC1967Proxy constructor; on Polygon `initialize` came in a later
-- transaction), and an initializer run from the constructor may log
-- settings no role gated yet. The role rule (the sender or the called
-- contract held the gating role just before the log) finds no holder for
-- these, and 'unattributed' would suggest a forwarding chain. They are
-- the deployer's: attribution 'deployment', executor the transaction's
-- sender (its `to` is null: a contract creation). The function file
-- re-derives the part when it changes, so rows derived before take it.

ALTER TABLE admin_actions DROP CONSTRAINT admin_actions_attribution_check;
ALTER TABLE admin_actions ADD CONSTRAINT admin_actions_attribution_check
  CHECK (attribution IN ('sender', 'called_contract', 'unattributed', 'not_fetched', 'sender_only',
                         'deployment'));
