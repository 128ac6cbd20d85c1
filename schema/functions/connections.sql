-- connections.sql (a repeatable file: re-applied whenever it changes): the
-- connections part's (008_connections.sql) rollback through its
-- histories as 012_model_histories.sql declares them
-- (dimo_internal.histories_rollback, licenses.sql). 008 is checksummed and
-- never edited; the definition here replaces its version. (008's apply
-- keeps its own four-line call of dimo_internal.refresh_connections: replacing it
-- would copy its 60 lines of decoding here.) This file is applied before
-- licenses.sql, which defines the generic functions: hence PL/pgSQL
-- (bodies resolved when called).

CREATE OR REPLACE FUNCTION dimo_internal.connections_rollback(p_chain_id bigint, p_keep_block bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM dimo_internal.histories_rollback('connections', p_chain_id, p_keep_block);
END;
$$;
