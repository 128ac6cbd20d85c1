#!/usr/bin/env bash
# DIP-5 monthly metrics: three calendar months of devnet time
# (model_months.js moves the chain's clock), indexed with `sync`; the
# monthly_license_metrics, monthly_slash_metrics and monthly_stake_metrics
# views must give, per month and class, what the contracts' views at the
# last block of each month imply. Then the same after a rollback of the
# last month and its re-indexing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_pg
it_chain
it_deploy
node "$IT_ROOT/tests/integration/model_months.js" run --rpc "$RPC" --network "$NET" \
  --out "$WORK/months.json" >"$WORK/months.log" 2>&1 || it_fail "months scenario: $(tail -5 "$WORK/months.log")"
head=$(it_head)
it_log "$(cat "$WORK/months.log"); head $head"

"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to head \
  >"$WORK/sync.log" 2>&1 || it_fail "sync failed: $(tail -5 "$WORK/sync.log")"
node "$IT_ROOT/tests/integration/model_months.js" compare --db "$DB" --expected "$WORK/months.json" \
  >"$WORK/compare.log" 2>&1 || it_fail "monthly views differ: $(head -20 "$WORK/compare.log")"
it_log "$(cat "$WORK/compare.log")"

# Roll the last month back through the hooks (as a reorg would), check that
# it is gone from the views, and index it again.
third=$(node -e 'const m=require(process.argv[1]).months; console.log(m[2].first_block)' "$WORK/months.json")
keep=$((third - 1))
keep_hash=$(it_block_hash "$keep")
it_psql "$DB" "BEGIN; SELECT dimo_internal.rollback_above(137, $keep); DELETE FROM logs WHERE block_number > $keep;
  DELETE FROM blocks WHERE number > $keep;
  UPDATE cursors SET last_block = $keep, last_hash = '\\x${keep_hash#0x}'; COMMIT;" >/dev/null
months=$(it_psql "$DB" "SELECT count(DISTINCT month) FROM monthly_license_metrics")
[[ $months == 2 ]] || it_fail "after rolling back the third month: $months months"
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to head \
  >"$WORK/sync2.log" 2>&1 || it_fail "sync after rollback failed: $(tail -5 "$WORK/sync2.log")"
node "$IT_ROOT/tests/integration/model_months.js" compare --db "$DB" --expected "$WORK/months.json" \
  >"$WORK/compare2.log" 2>&1 || it_fail "monthly views differ after re-indexing: $(head -20 "$WORK/compare2.log")"
echo "model months: ok ($(cat "$WORK/compare.log"))"
