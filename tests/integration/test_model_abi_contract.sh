#!/usr/bin/env bash
# The model's declared reads against the ABI files (indexer/modelcheck.c,
# table model_reads): an ABI whose argument was renamed makes `sync` refuse
# to start with exit 2 and one message naming the part, the event, the
# argument and the file, before anything is written; the unmodified ABIs
# index as usual.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet

# A copy of the network file beside edited copies of the ABI files: the
# network file's "abi" names resolve next to it first.
rename_arg() { # DIR FILE EVENT_SIGNATURE_PREFIX OLD NEW
  node -e '
    const fs = require("fs");
    const [dir, file, sig, from, to] = process.argv.slice(1);
    const p = `${dir}/${file}`;
    const abi = JSON.parse(fs.readFileSync(p, "utf8"));
    let n = 0;
    for (const e of abi) {
      if (e.type !== "event") continue;
      const s = `${e.name}(${e.inputs.map((i) => i.type).join(",")})`;
      if (s !== sig) continue;
      for (const i of e.inputs) if (i.name === from) { i.name = to; n++; }
    }
    if (n !== 1) { console.error(`renamed ${n} arguments`); process.exit(1); }
    fs.writeFileSync(p, JSON.stringify(abi, null, 2));
  ' "$@"
}

expect_refusal() { # DIR WHAT...: sync must exit 2 and print every WHAT
  local dir=$1 rc=0
  shift
  "$BIN" sync --network "$dir/network.json" --rpc "$RPC" --db "$DB" --to head \
    >"$dir/sync.log" 2>&1 || rc=$?
  ((rc == 2)) || { cat "$dir/sync.log" >&2; it_fail "sync exited $rc with a renamed ABI argument, expected 2"; }
  local w
  for w in "$@"; do
    grep -qF -- "$w" "$dir/sync.log" || { cat "$dir/sync.log" >&2; it_fail "the refusal does not name $w"; }
  done
  local logs
  logs=$(it_psql "$DB" "SELECT count(*) FROM logs")
  [[ $logs == 0 ]] || it_fail "$logs logs were written before the refusal"
  it_log "refused: $(grep -o 'model part.*' "$dir/sync.log" | head -n 1)"
}

for case in alias vehicle; do
  dir="$WORK/$case"
  mkdir -p "$dir"
  cp "$IT_ROOT"/abi/*.json "$dir/"
  cp "$NET" "$dir/network.json"
done
rename_arg "$WORK/alias" DevLicenseDimo.json 'LicenseAliasSet(uint256,string)' licenseAlias alias
expect_refusal "$WORK/alias" "model part 'licenses'" 'LicenseAliasSet(uint256,string)' "'alias'" \
  "'licenseAlias'" DevLicenseDimo.json
rename_arg "$WORK/vehicle" DimoVehicle.json 'Transfer(address,address,uint256)' tokenId id
expect_refusal "$WORK/vehicle" "model part 'optins'" 'Transfer(address,address,uint256)' "'id'" \
  DimoVehicle.json

# The ABIs as shipped: the same command indexes.
"$BIN" sync --network "$NET" --rpc "$RPC" --db "$DB" --to head >"$WORK/ok.log" 2>&1 ||
  { cat "$WORK/ok.log" >&2; it_fail "sync with the shipped ABIs failed"; }
logs=$(it_psql "$DB" "SELECT count(*) FROM logs")
((logs > 0)) || it_fail "no logs indexed with the shipped ABIs"
echo "model/ABI contract: ok (2 refusals, then $logs logs indexed)"
