#!/usr/bin/env bash
# table_growth.sh: rows and bytes per indexed event of every table, from a
# devnet index, for README's growth estimate ("Topology and operations").
#
# A throwaway PostgreSQL cluster and anvil devnet, the contracts, OPS random
# operations of the DIP-5 scenario with opt-ins (tests/devnet/scenario.js
# --ops OPS --optins: licenses, stakes, signers, slashes, SACD grants,
# vehicle transfers), then BULK signer events (tests/devnet/bulk.js: the
# bulk of a large index, so that page overheads do not dominate), `dimo-indexer
# sync --to head`, VACUUM ANALYZE; then
# per table: rows, total bytes (heap, indexes, TOAST), bytes per row and
# rows per stored log. Not a test: it asserts nothing.
#
# Environment: OPS (default 400), SEED (default 1), BULK (default 100000;
# 0: none), BUILD_DIR (default build).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin=$root/${BUILD_DIR:-build}/indexer/dimo-indexer
work=$(mktemp -d /tmp/dimo-growth.XXXXXX)
chmod 755 "$work"
cleanup() {
  bash tests/devnet/anvil.sh stop "$work/chain" >/dev/null 2>&1 || true
  bash scripts/pg.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

db=$(bash scripts/pg.sh start "$work/pg")
rpc=$(bash tests/devnet/anvil.sh start "$work/chain" | tail -n 1)
node tests/devnet/deploy.js --rpc "$rpc" --out "$work/network.json" >"$work/deploy.log"
node tests/devnet/scenario.js --rpc "$rpc" --network "$work/network.json" --ops "${OPS:-400}" \
  --seed "${SEED:-1}" --optins >"$work/scenario.log"
if ((${BULK:-100000} > 0)); then
  node tests/devnet/bulk.js --rpc "$rpc" --network "$work/network.json" --events "${BULK:-100000}" \
    --blocks 1000 >"$work/bulk.log"
fi
"$bin" sync --network "$work/network.json" --rpc "$rpc" --db "$db" --confirmations 0 --to head \
  --log-level warn
psql "$db" -qAtX -c "VACUUM ANALYZE" >/dev/null
psql "$db" -X -q -v ON_ERROR_STOP=1 <<'SQL'
WITH t AS (
  SELECT relname,
         (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', relname),
                                              false, true, '')))[1]::text::bigint AS n_rows,
         pg_total_relation_size(relid) AS bytes
  FROM pg_stat_user_tables),
l AS (SELECT count(*)::numeric AS logs FROM logs)
SELECT relname AS "table", n_rows AS "rows", bytes,
       CASE WHEN n_rows > 0 THEN round(bytes::numeric / n_rows) END AS "bytes/row",
       round(n_rows / l.logs, 3) AS "rows/log",
       round(bytes / l.logs) AS "bytes/log"
FROM t, l ORDER BY bytes DESC;
SQL
