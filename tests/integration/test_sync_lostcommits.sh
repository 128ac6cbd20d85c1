#!/usr/bin/env bash
# Commits a server lost under a running writer (audit6 H4, H11). The
# batches and the model's derivation commit with synchronous_commit = off,
# so a server crash, or a failover to an asynchronously replicated standby,
# can lose the last ones while the writer remembers them. The state such a
# loss leaves is made by hand, the writer's sessions are cut (the server's
# restart as the writer sees it), and blocks are mined:
#   H4:  the derivation of the last blocks lost, their logs kept: the model
#        cursor behind the log cursor while the writer believes the model
#        current (its next batch derives its own model);
#   H11: a rollback and the new fork's batch lost: the stored tip is another
#        fork's block while the writer remembers the node's.
# Each time the database (logs, cursor, every derived row) must then equal
# a fresh index of the chain.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet

kill_backends() {
  it_psql "$DB" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND application_name LIKE 'dimo-indexer%'"
}

# The database equals a fresh index up to block $1 ($2 names the case).
same_as_fresh() {
  local to=$1 name=$2 fresh
  it_dump "$DB" "$WORK/$name.dump"
  node "$IT_ROOT/tests/integration/model_dump.js" --db "$DB" >"$WORK/$name.model"
  fresh=$(it_fresh_index "fresh_$name" "$to")
  it_dump "$fresh" "$WORK/fresh_$name.dump"
  node "$IT_ROOT/tests/integration/model_dump.js" --db "$fresh" >"$WORK/fresh_$name.model"
  diff "$WORK/$name.dump" "$WORK/fresh_$name.dump" >"$WORK/$name.diff" ||
    it_fail "$name: logs or cursor differ from a fresh index: $(head -10 "$WORK/$name.diff")"
  diff "$WORK/$name.model" "$WORK/fresh_$name.model" >"$WORK/$name.diff" ||
    it_fail "$name: derived rows differ from a fresh index: $(head -10 "$WORK/$name.diff")"
}

it_bg indexer "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 \
  --poll-interval 100 --http off
indexer=$BG_PID
head=$(it_head)
it_wait_cursor "$DB" "$head" 60

# H4. The model of the upper half of the logs' blocks lost (rollback_above
# undoes the model only, as a lost derivation leaves it).
keep=$(it_psql "$DB" "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY block_number) FROM logs")
node "$IT_ROOT/tests/integration/model_dump.js" --db "$DB" >"$WORK/before.model"
it_psql "$DB" "SELECT dimo_internal.rollback_above(137, $keep)" >/dev/null
node "$IT_ROOT/tests/integration/model_dump.js" --db "$DB" >"$WORK/behind.model"
cmp -s "$WORK/before.model" "$WORK/behind.model" && it_fail "H4: no derived row above block $keep"
[[ $(it_psql "$DB" "SELECT m.block_number || ' ' || c.last_block FROM model_cursor m, cursors c") == "$keep $head" ]] ||
  it_fail "H4: the simulated state is not model $keep, logs $head"
k=$(kill_backends)
((k >= 1)) || it_fail "H4: no indexer connection to cut"
it_rpc anvil_mine '["0x1"]' >/dev/null
head=$(it_head)
it_wait_cursor "$DB" "$head" 60
same_as_fresh "$head" h4
it_log "H4: model at $keep under logs at $((head - 1)), $k session(s) cut: equal to a fresh index at $head"

# H11. Blocks with logs on top, then the stored tip turned into another
# fork's block (its header, its logs and the cursor's hash, in one
# transaction), as a lost rollback and rewrite leave it.
node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 6 --seed 11 \
  >"$WORK/scenario2.log"
for ((i = 0; i < 5; i++)); do
  head=$(it_head)
  it_wait_cursor "$DB" "$head" 60
  n=$(it_psql "$DB" "SELECT count(*) FROM logs WHERE block_number = $head")
  ((n > 0)) && break
  node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops 1 --seed $((20 + i)) \
    >>"$WORK/scenario2.log"
done
((n > 0)) || it_fail "H11: no block with logs at the head"
other='\xee'$(printf 'ee%.0s' {1..31})
it_psql "$DB" "BEGIN;
  UPDATE cursors SET last_hash = '$other';
  UPDATE blocks SET hash = '$other' WHERE number = $head;
  UPDATE logs SET block_hash = '$other' WHERE block_number = $head;
  COMMIT" >/dev/null
k=$(kill_backends)
((k >= 1)) || it_fail "H11: no indexer connection to cut"
tip=$head
it_rpc anvil_mine '["0x2"]' >/dev/null
head=$(it_head)
it_settle "$DB" 60 "H11"
[[ $(it_psql "$DB" "SELECT count(*) FROM logs WHERE block_hash = '$other'") == 0 ]] ||
  it_fail "H11: the other fork's logs of block $tip stayed"
same_as_fresh "$head" h11
grep -q "reorg: rolled back" "$WORK/indexer.log" || it_fail "H11: no reorg was logged"
it_log "H11: block $tip ($n logs) on another fork, $k session(s) cut: rolled back, equal to a fresh index at $head"

kill -TERM "$indexer"
wait "$indexer" && code=0 || code=$?
[[ $code == 0 ]] || it_fail "run exited $code: $(tail -5 "$WORK/indexer.log")"
echo "lost commits: ok (a lost derivation and a lost rollback under a running writer)"
