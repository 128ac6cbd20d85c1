#!/usr/bin/env bash
# The command table (cli.c): every command listed by --help answers its own
# --help with its synopsis and exit 0; the argument counts and the needs
# (network file, --db, --rpc) are checked the same way for every command,
# with exit 2 and a message naming the command. No database or chain is
# involved: every failure here happens before a command runs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${DIMO_INDEXER:-$root/build/indexer/dimo-indexer}
fail() {
  echo "commands: $*" >&2
  exit 1
}
# expect CODE PATTERN CMD...: runs CMD (no DATABASE_URL/DIMO_RPC from the
# caller's environment), checks its exit status and that stdout+stderr
# match PATTERN.
expect() {
  local want=$1 pattern=$2
  shift 2
  local out code=0
  out=$(env -u DATABASE_URL -u DIMO_RPC -u DIMO_NETWORK "$bin" "$@" 2>&1) || code=$?
  [[ $code == "$want" ]] || fail "'$*' exited $code, expected $want: $out"
  grep -Eq -- "$pattern" <<<"$out" || fail "'$*' said \"$out\", expected /$pattern/"
}

mapfile -t commands < <("$bin" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}')
((${#commands[@]} >= 10)) || fail "--help lists ${#commands[@]} commands"
checked=0
for c in "${commands[@]}"; do
  expect 0 "^usage: dimo-indexer $c" "$c" --help
  checked=$((checked + 1))
done

# Argument counts, from the table.
for c in run sync serve status migrate rederive verify access; do
  expect 2 "^dimo-indexer $c: unexpected argument \"stray\"" "$c" stray
done
expect 2 '^dimo-indexer license: no KEY' license
expect 2 '^dimo-indexer license: unexpected argument "b"' license a b
expect 2 '^dimo-indexer run: unknown option' run --no-such-option

# Needs, in the order a user fixes them: the network, the endpoints, the database.
expect 2 "^dimo-indexer status: .*no-such-network" status --network no-such-network --db x
expect 2 '^dimo-indexer run: no JSON-RPC endpoint' run --network polygon --db x
expect 2 '^dimo-indexer sync: no database' sync --network polygon --rpc http://127.0.0.1:9
for c in status rederive license verify access serve; do
  args=()
  [[ $c == license ]] && args=(12)
  expect 2 "^dimo-indexer $c: no database" "$c" --network polygon "${args[@]}"
done
expect 2 '^dimo-indexer migrate: no database' migrate
echo "commands: ok (${checked} commands' --help; argument counts and needs of every command)"
