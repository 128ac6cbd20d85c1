#!/usr/bin/env bash
# Documents in a stable, readable order (issue #18 item 4), against a
# real anvil, Postgres and the API: doc_order.js compares, per class (app,
# manufacturer, node, connection), the API's and the CLI's document
# byte for byte and checks their key order against the example of
# license-json.md (docs/license-json.md, the project's copy of ../shared's).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# docs/license-json.md is the project's copy of the fixed interface (a
# clean clone has no ../shared); where ../shared is present the copy must
# still equal it, so the test never checks against a stale spec.
MD=${LICENSE_JSON_MD:-$IT_ROOT/docs/license-json.md}
[[ -f $MD ]] || it_fail "$MD not found"
for f in "$IT_ROOT/../shared/license-json.md" "$IT_ROOT/../../shared/license-json.md"; do
  if [[ -f $f ]]; then
    cmp -s "$f" "$IT_ROOT/docs/license-json.md" || it_fail "docs/license-json.md differs from $f: copy it again"
    break
  fi
done

it_devnet
api_run
node "$IT_ROOT/tests/integration/doc_order.js" --md "$MD" --base "$BASE" --bin "$BIN" --db "$DB" \
  --network "$NET" >"$WORK/order.log" 2>&1 || it_fail "key order: $(head -30 "$WORK/order.log")"
cat "$WORK/order.log" >&2
tail -1 "$WORK/order.log"
