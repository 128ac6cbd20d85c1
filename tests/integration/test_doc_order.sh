#!/usr/bin/env bash
# Documents in a stable, readable order (issue #18 item 4), against a
# real anvil, Postgres and the API: doc_order.js compares, per class (app,
# manufacturer, node, connection), the API's and the CLI's document
# byte for byte and checks their key order against the example of
# shared/license-json.md (the project's `../shared`, where README points).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MD=${LICENSE_JSON_MD:-}
for f in "$IT_ROOT/../shared/license-json.md" "$IT_ROOT/../../shared/license-json.md"; do
  [[ -z $MD && -f $f ]] && MD=$f
done
[[ -n $MD ]] || it_fail "shared/license-json.md not found (set LICENSE_JSON_MD)"

it_devnet
api_run
node "$IT_ROOT/tests/integration/doc_order.js" --md "$MD" --base "$BASE" --bin "$BIN" --db "$DB" \
  --network "$NET" >"$WORK/order.log" 2>&1 || it_fail "key order: $(head -30 "$WORK/order.log")"
cat "$WORK/order.log" >&2
tail -1 "$WORK/order.log"
