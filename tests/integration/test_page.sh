#!/usr/bin/env bash
# The audit page (indexer/web/, served at / by `run`) in a real headless
# Chromium against the indexed fixed DIP-5 scenario, with one license whose
# alias and redirect URIs are markup and a javascript: URI (set with cast
# by the license's owner): page_check.js compares what the page shows with
# SQL and the license documents, follows a new slash live, and checks that
# nothing runs, nothing leaves 127.0.0.1 and axe-core finds no serious
# violation. Then: the headers, --explorer-url links, --http-ui off.
# PAGE_SHOTS=DIR keeps screenshots (docs/page-*.png come from here).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -x /usr/bin/chromium ]] || it_fail "no /usr/bin/chromium (scripts/setup.sh installs Debian's chromium)"
CAST="$IT_ROOT/node_modules/.bin/cast"

it_devnet
# Account 2 owns app license #2 of the first app contract (scenario.js).
APP=$(node -e 'const n=require(process.argv[1]);console.log(n.contracts.find(c=>c.role==="app_license").address)' "$NET")
OWNER2_KEY=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
XSS='<img src=x onerror=alert(1)>'
"$CAST" send -q --rpc-url "$RPC" --private-key "$OWNER2_KEY" "$APP" 'setLicenseAlias(uint256,string)' 2 "$XSS"
"$CAST" send -q --rpc-url "$RPC" --private-key "$OWNER2_KEY" "$APP" 'setRedirectUri(uint256,bool,string)' 2 true "$XSS"
"$CAST" send -q --rpc-url "$RPC" --private-key "$OWNER2_KEY" "$APP" \
  'setRedirectUri(uint256,bool,string)' 2 true 'javascript:alert(document.domain)'
api_run --explorer-url https://polygonscan.com
it_log "API and page on $BASE, index at $(it_cursor "$DB")"
XSS_KEY=$(it_psql "$DB" "SELECT dimo_hex(client_id) FROM license_state WHERE contract = decode('${APP:2}', 'hex') AND token_id = 2")
[[ $(it_psql "$DB" "SELECT alias FROM license_state WHERE client_id = decode('${XSS_KEY:2}', 'hex')") == "$XSS" ]] ||
  it_fail "the hostile alias was not indexed"

# The page's answers without a browser: types, headers, unknown paths.
hdr=$(curl -sfI "$BASE/")
grep -qi '^content-type: text/html; charset=utf-8' <<<"$hdr" || it_fail "/ content type: $hdr"
grep -qi "^content-security-policy: default-src 'self';.*frame-ancestors 'none'" <<<"$hdr" || it_fail "/ CSP: $hdr"
curl -sfI "$BASE/app.js" | grep -qi '^content-type: text/javascript' || it_fail "app.js content type"
curl -sfI "$BASE/app.css" | grep -qi '^content-type: text/css' || it_fail "app.css content type"
[[ $(curl -s "$BASE/ui-config.json") == '{"explorer_url":"https://polygonscan.com"}' ]] || it_fail "ui-config.json"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/nope.js") == 404 ]] || it_fail "unknown file not 404"
[[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/") == 405 ]] || it_fail "POST / not 405"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/overview?at_block=x") == 400 ]] || it_fail "bad at_block not 400"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/overview?license=no-such") == 404 ]] || it_fail "unknown license not 404"
# The same binary installed elsewhere serves the same page: nothing is read from indexer/web/.
cmp -s <(curl -s "$BASE/app.js") "$IT_ROOT/indexer/web/app.js" || it_fail "served app.js differs from indexer/web/app.js"

node "$IT_ROOT/tests/integration/page_check.js" --base "$BASE" --db "$DB" --rpc "$RPC" --network "$NET" \
  --xss-key "$XSS_KEY" ${PAGE_SHOTS:+--shots "$PAGE_SHOTS"} ||
  it_fail "page checks failed (run log: $(tail -3 "$WORK/run.log"))"
kill "$RUN_PID"

# --http-ui off: the API answers, the page does not; bad values are exit 2.
it_bg run2 "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" --confirmations 0 --http 127.0.0.1:0 --http-ui off
for ((i = 0; i < 100; i++)); do
  port=$(sed -n 's/.*HTTP API listening on .* (port \([0-9]*\)).*/\1/p' "$WORK/run2.log" | head -n 1)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || it_fail "run --http-ui off did not start"
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/") == 404 ]] || it_fail "--http-ui off still serves /"
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ui-config.json") == 404 ]] || it_fail "--http-ui off serves settings"
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz") == 200 ]] || it_fail "--http-ui off: no API"
kill "$BG_PID"
for bad in "--http-ui maybe" "--explorer-url javascript:alert(1)" "--explorer-url https://x.example/\"><script>"; do
  set +e
  # shellcheck disable=SC2086
  "$BIN" run --network "$NET" --rpc "$RPC" --db "$DB" ${bad%% *} "${bad#* }" >"$WORK/bad.log" 2>&1
  code=$?
  set -e
  [[ $code == 2 ]] || it_fail "$bad: exit $code"
done
echo "page: ok"
