#!/usr/bin/env bash
# The license model against the contracts' views after randomized DIP-5
# scenarios: three seeds on one chain (1,000 operations, then 300 and 300
# more), each indexed incrementally with `sync`, compared at the head and,
# for the point-in-time functions, at past blocks within anvil's 500-block
# state window. The second seed is indexed with every batch deferring its
# license documents (dimo.docs_inline_max=0, as backfill batches do), which
# `sync` builds before it ends; after its checks every cached document is
# dropped and the checks run again on documents built by the readers.
# Finally a fresh index of the whole chain must hold the very same derived
# rows as the incremental one.
#
# Environment: MODEL_SEEDS (default "20240517 7 1234"), MODEL_OPS (default
# "1000 300 300").
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
read -r -a seeds <<<"${MODEL_SEEDS:-20240517 7 1234}"
read -r -a ops <<<"${MODEL_OPS:-1000 300 300}"

it_pg
it_chain
it_deploy

check() {
  node "$IT_ROOT/tests/integration/model_check.js" --rpc "$RPC" --network "$NET" --db "$DB" "$@" \
    >"$WORK/check.log" 2>&1 || it_fail "state differs (seed $seed): $(head -30 "$WORK/check.log")"
  it_log "  $(cat "$WORK/check.log")"
}

for i in "${!seeds[@]}"; do
  seed=${seeds[i]}
  n=${ops[i]:-300}
  before=$(it_head)
  node "$IT_ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" --ops "$n" --seed "$seed" \
    >"$WORK/scenario-$seed.log" || it_fail "scenario seed $seed failed"
  head=$(it_head)
  it_log "seed $seed: $n operations, blocks $((before + 1))..$head"
  db=$DB
  ((i == 1)) && db="$DB options='-c dimo.docs_inline_max=0'"
  "$BIN" sync --network "$NET" --rpc "$RPC" --db "$db" --confirmations 0 --to head \
    >"$WORK/sync-$seed.log" 2>&1 || it_fail "sync failed: $(tail -5 "$WORK/sync-$seed.log")"
  if ((i == 1)); then
    grep -q "license document(s) deferred by backfill batches" "$WORK/sync-$seed.log" ||
      it_fail "sync built no deferred documents: $(tail -5 "$WORK/sync-$seed.log")"
    [[ $(it_psql "$DB" "SELECT count(*) FROM license_state WHERE doc IS NULL") == 0 ]] ||
      it_fail "stale documents left after sync"
  fi
  [[ $(it_cursor "$DB") == "$head" ]] || it_fail "cursor $(it_cursor "$DB") != head $head"
  # The head through the API defaults, and four past blocks of this run
  # that anvil still holds state for.
  lo=$((head - 450 > before + 1 ? head - 450 : before + 1))
  past=()
  for f in 0 1 2 3; do
    past+=(--block $((lo + (head - 1 - lo) * f / 3)))
  done
  check
  check "${past[@]}"
  if ((i == 1)); then
    it_psql "$DB" "UPDATE license_state SET doc = NULL, doc_block = NULL, doc_time = NULL, doc_expires = NULL" >/dev/null
    check
  fi
done

# The same chain indexed in one go: identical derived rows.
fresh=$(it_fresh_index fresh "$(it_head)")
node "$IT_ROOT/tests/integration/model_dump.js" --db "$DB" >"$WORK/incremental.dump"
node "$IT_ROOT/tests/integration/model_dump.js" --db "$fresh" >"$WORK/fresh.dump"
diff "$WORK/incremental.dump" "$WORK/fresh.dump" >"$WORK/diff.txt" ||
  it_fail "incremental and fresh index differ: $(head -20 "$WORK/diff.txt")"
echo "model random: ok (seeds ${seeds[*]}, $(wc -l <"$WORK/fresh.dump") derived rows)"
