#!/usr/bin/env bash
# `dimo-indexer abi topics` prints exactly the topic0 values listed in
# shared/dimo-contracts.md (copied into expected_topics.txt; Initialized(uint64),
# which the doc names without its hash, is keccak256 of that signature), in ABI file
# order; bad files give exit 2 and a message naming the file.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${DIMO_INDEXER:-$root/build/indexer/dimo-indexer}

got=$("$bin" abi topics "$root/abi/DevLicenseDimo.json" "$root/abi/ManufacturerLicenseStake.json" \
  "$root/abi/DimoToken.json" "$root/abi/Sacd.json" "$root/abi/DimoVehicle.json" \
  "$root/abi/SacdTemplate.json" "$root/abi/StorageNode.json" "$root/abi/NodeRegistry.json" \
  "$root/abi/Connections.json")
diff <(echo "$got") "$here/expected_topics.txt"

"$bin" --version | grep -Eq '^dimo-indexer [0-9]+\.[0-9]+\.[0-9]+$'
"$bin" --help | grep -q 'abi'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo '[{"type":"event","name":"X","inputs":[{"name":"a","type":"uint7"}]}]' >"$tmp/bad.json"
set +e
err=$("$bin" abi topics "$tmp/bad.json" 2>&1 >/dev/null)
code=$?
set -e
[[ $code -eq 2 ]] || { echo "expected exit 2, got $code"; exit 1; }
grep -q "bad.json" <<<"$err" && grep -q "uint7" <<<"$err" || { echo "unclear error: $err"; exit 1; }

set +e
"$bin" no-such-command >/dev/null 2>&1
code=$?
set -e
[[ $code -eq 2 ]] || { echo "unknown command: expected exit 2, got $code"; exit 1; }
# Help after the subcommand is help, not a file name.
for h in "abi --help" "abi topics --help" "abi topics -h"; do
  # shellcheck disable=SC2086
  out=$("$bin" $h) || { echo "$h: exit $?"; exit 1; }
  grep -q "usage: dimo-indexer abi topics" <<<"$out" || { echo "$h: no usage: $out"; exit 1; }
done
echo "abi topics: ok"
