#!/usr/bin/env bash
# The JSON-RPC flags' bad values (audit6 H6): each is refused before any
# command runs, exit 2, with a message naming the flag and the reason (the
# client's own check could only say "invalid argument"); a URL's userinfo,
# path and query never appear in a message (they can hold API keys). No
# database or chain is involved.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${DIMO_INDEXER:-$root/build/indexer/dimo-indexer}
fail() {
  echo "flag errors: $*" >&2
  exit 1
}
checked=0
# expect CODE PATTERN CMD...: runs CMD with a clean environment (plus what
# the caller put before it with env), checks its exit status, that
# stdout+stderr match PATTERN and hold no secret.
expect() {
  local want=$1 pattern=$2
  shift 2
  local out code=0
  out=$(env -u DATABASE_URL -u DIMO_RPC -u DIMO_NETWORK -u DIMO_RPC_TIMEOUT_MS \
    -u DIMO_RPC_MAX_RESPONSE "$@" 2>&1) || code=$?
  [[ $code == "$want" ]] || fail "'$*' exited $code, expected $want: $out"
  grep -Eq -- "$pattern" <<<"$out" || fail "'$*' said \"$out\", expected /$pattern/"
  ! grep -Eq 'secret|KEY123|invalid argument' <<<"$out" || fail "'$*' said \"$out\""
  checked=$((checked + 1))
}
net=(--network polygon --db x)
ok_rpc=(--rpc http://127.0.0.1:9)

for c in run sync status; do
  expect 2 "^dimo-indexer $c: --rpc-timeout must be 1\.\.3600000 ms \(got 0\)" "$bin" "$c" "${net[@]}" "${ok_rpc[@]}" --rpc-timeout 0
  expect 2 "^dimo-indexer $c: --rpc-max-response must be 1\.\.1073741824 bytes \(got 0\)" \
    "$bin" "$c" "${net[@]}" "${ok_rpc[@]}" --rpc-max-response 0
done
expect 2 '^dimo-indexer sync: --rpc-timeout must be 1\.\.3600000 ms \(got 3600001\)' \
  "$bin" sync "${net[@]}" "${ok_rpc[@]}" --rpc-timeout 3600001
expect 2 '^dimo-indexer sync: --rpc-max-response must be 1\.\.1073741824 bytes' \
  "$bin" sync "${net[@]}" "${ok_rpc[@]}" --rpc-max-response 1073741825
expect 2 '^dimo-indexer run: --rpc-timeout must be' env DIMO_RPC_TIMEOUT_MS=0 "$bin" run "${net[@]}" "${ok_rpc[@]}"

# URLs: the reason, and the URL as far as it can be shown.
expect 2 '^dimo-indexer sync: --rpc: "not a url" is not a URL \(.*\); an http:// or https:// URL is expected' \
  "$bin" sync "${net[@]}" --rpc "not a url"
expect 2 '^dimo-indexer status: --rpc: "not a url" is not a URL' "$bin" status "${net[@]}" --rpc "not a url"
expect 2 '^dimo-indexer sync: --rpc: "ftp://127\.0\.0\.1:1": scheme "ftp"; an http:// or https:// URL is expected' \
  "$bin" sync "${net[@]}" --rpc ftp://127.0.0.1:1
expect 2 '^dimo-indexer sync: --rpc: "ftp://127\.0\.0\.1:1": scheme "ftp"' \
  "$bin" sync "${net[@]}" --rpc ftp://user:secret@127.0.0.1:1/v3/KEY123?key=KEY123
expect 2 '^dimo-indexer sync: --rpc: "https://\.\.\.@\.\.\." is not a URL \(.*\)' \
  "$bin" sync "${net[@]}" --rpc https://user:secret@/v3/KEY123
expect 2 '^dimo-indexer sync: --rpc: "htps\.\.\." is not a URL' "$bin" sync "${net[@]}" --rpc htps//user:secret@x/KEY123
expect 2 '^dimo-indexer run: --rpc: "127\.0\.0\.1:8545" is not a URL' "$bin" run "${net[@]}" --rpc 127.0.0.1:8545
expect 2 '^dimo-indexer run: --rpc: "http://" is not a URL' env DIMO_RPC=http://127.0.0.1:9,http:// "$bin" run "${net[@]}"
# A good URL with credentials passes the check and is never echoed.
expect 2 '^dimo-indexer sync: no database' "$bin" sync --network polygon --rpc http://user:secret@127.0.0.1:9/KEY123
echo "flag errors: ok ($checked checks)"
