#!/usr/bin/env bash
# The integration path under valgrind: `sync` of the fixed scenario (RPC,
# decoding, COPY, the model's hooks) and `license --json`, with no memory
# error and no leak (definite or indirect).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v valgrind >/dev/null || it_fail "valgrind is not installed (scripts/setup.sh installs it)"
it_devnet
vg=(valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect
  --show-leak-kinds=definite,indirect)
"${vg[@]}" "$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --to head \
  --initial-range 16 >"$WORK/sync.vg" 2>&1 || it_fail "sync under valgrind: $(grep -E 'ERROR SUMMARY|lost' "$WORK/sync.vg")"
"${vg[@]}" "$BIN" license 1 --class app --json --network "$NET" --db "$DB" >"$WORK/license.json" \
  2>"$WORK/license.vg" || it_fail "license under valgrind: $(grep -E 'ERROR SUMMARY|lost' "$WORK/license.vg")"
grep -q '"token_id"' "$WORK/license.json" || it_fail "license printed no document"
for f in sync license; do
  grep -q "ERROR SUMMARY: 0 errors" "$WORK/$f.vg" || it_fail "$f: $(grep 'ERROR SUMMARY' "$WORK/$f.vg")"
done
echo "valgrind: ok (sync and license: 0 errors, no leaks)"
