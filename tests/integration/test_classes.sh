#!/usr/bin/env bash
# The right license classes (issue #23), against a real anvil and Postgres:
#   1. upgrade: a database indexed by the previous build (the 2022 Stake
#      contract under role node_license, class node, derived by the
#      definitions of migrations 001-008) comes out of `migrate` (009 and
#      the repeatable files) equal to a fresh index of the same chain:
#      every derived row, every document, the contracts' roles and classes;
#   2. requirements are data: restarting with a network file that carries
#      other requirements re-derives required stakes, trust ratios and
#      statuses (equal to the contracts' own views judged by that file's
#      rules: model_check.js), node requirements follow per_user, and a
#      restart with an unchanged file rewrites nothing; back to the first
#      file, everything is as before, without a re-index;
#   3. a network file with the old role name node_license is a clear
#      configuration error (exit 2).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

it_devnet
head=$(it_head)
sync_to_head() { # CONNINFO NETWORK LOGNAME
  "$BIN" sync --network "$2" --rpc "$RPC" --db "$1" --confirmations 0 --to head >"$WORK/$3.log" 2>&1 ||
    it_fail "sync ($3) failed: $(tail -5 "$WORK/$3.log")"
}
sync_to_head "$DB" "$NET" sync
node "$IT_ROOT/tests/integration/model_check.js" --rpc "$RPC" --network "$NET" --db "$DB" >"$WORK/check.log" 2>&1 ||
  it_fail "model differs from the chain: $(head -20 "$WORK/check.log")"
[[ $(it_psql "$DB" "SELECT count(*) FROM license_state WHERE class = 'manufacturer'") -gt 0 ]] ||
  it_fail "the scenario has no manufacturer licenses"

# Everything a reader sees besides model_dump.js: roles and classes of the
# contracts, logs and model reads; requirements; node and connection docs.
extra_dump() {
  it_psql "$1" "SELECT 'con', chain_id, encode(address, 'hex'), role, class FROM contracts ORDER BY 2, 3;
    SELECT 'logrole', role, count(*) FROM logs GROUP BY role ORDER BY 2;
    SELECT 'reads', part, role, event FROM model_reads ORDER BY 2, 3, 4;
    SELECT 'req', chain_id, class, amount, per_user, enforce FROM required_stakes ORDER BY 2, 3;
    SELECT 'node', token_id, (dimo_node_doc(chain_id, token_id::text)::jsonb - 'finalized_block' - 'final')::text
      FROM storage_nodes ORDER BY 2;
    SELECT 'conn', token_id, (dimo_connection_doc(chain_id, token_id::text)::jsonb - 'finalized_block' - 'final')::text
      FROM connections ORDER BY 2"
}
# A slash's executor (`by`) comes from the senders the follower fetches
# with each batch since #25; a database of the previous build has none
# (its actions stay `not_fetched` until a re-index), so `by` is left out.
no_by() { sed -E 's/"by": (null|\{[^}]*\}), //g'; }
dump() { # CONNINFO FILE
  node "$IT_ROOT/tests/integration/model_dump.js" --db "$1" | no_by >"$2"
  extra_dump "$1" | no_by >>"$2"
}
dump "$DB" "$WORK/fresh.dump"

# ---- 1. upgrade from the previous build ----------------------------------------
prev=$(it_newdb prev)
S="$WORK/schema-prev"
mkdir -p "$S/functions"
cp "$IT_ROOT"/schema/00[1-8]_*.sql "$S/"
# The previous build's function files (main before migration 009): every
# later file is new in this build and may use what 009 and later bring.
# Taken from the last tree before 017 moved the internals to dimo_internal
# (their calls use the names 001-008 create).
PREV=ec7f8d9fa73c59af07f01c102dbcfa2b534ae40a
mkdir -p "$WORK/prev-tree"
git -C "$IT_ROOT" archive "$PREV" schema/functions | tar -x -C "$WORK/prev-tree" ||
  it_fail "no git history: cannot read the previous build's function files"
for f in finality.sql overview.sql rederive.sql; do
  cp "$WORK/prev-tree/schema/functions/$f" "$S/functions/"
done
"$BIN" migrate --db "$prev" --schema-dir "$S" >"$WORK/migrate-prev.log" 2>&1 ||
  it_fail "migrate to 008 failed: $(tail -3 "$WORK/migrate-prev.log")"
for t in blocks logs cursors; do
  psql "$DB" -qc "\\copy $t TO '$WORK/$t.copy'"
  psql "$prev" -qc "\\copy $t FROM '$WORK/$t.copy'"
done
psql "$DB" -qc "\\copy (SELECT chain_id, address,
    CASE role WHEN 'manufacturer_license' THEN 'node_license' ELSE role END,
    CASE class WHEN 'manufacturer' THEN 'node' ELSE class END, start_block FROM contracts) TO '$WORK/contracts.copy'"
psql "$prev" -qc "\\copy contracts (chain_id, address, role, class, start_block) FROM '$WORK/contracts.copy'"
# The previous build's logs, model and documents: its role name, its
# definitions (002's apply), its required_stakes (no chain rows). Its
# writers' names, before 017: spelt through $v1 so that the rename's sed,
# re-run over tests/, leaves them alone.
v1=dimo_
it_psql "$prev" "UPDATE logs SET role = 'node_license' WHERE role = 'manufacturer_license';
  SELECT ${v1}rederive(137); SELECT ${v1}refresh_documents()" >/dev/null
[[ $(it_psql "$prev" "SELECT count(*) FROM license_state WHERE role = 'node_license' AND class = 'node'") -gt 0 ]] ||
  it_fail "the previous build's model has no node_license rows"
"$BIN" migrate --db "$prev" >"$WORK/migrate-up.log" 2>&1 || it_fail "migrate failed: $(tail -3 "$WORK/migrate-up.log")"
grep -q "applied migration 009_manufacturers.sql" "$WORK/migrate-up.log" || it_fail "009 not applied"
# Started again with its (new) network file: nothing to index, the
# requirements registered.
sync_to_head "$prev" "$NET" sync-prev
dump "$prev" "$WORK/upgraded.dump"
diff "$WORK/fresh.dump" "$WORK/upgraded.dump" >"$WORK/upgrade.diff" ||
  it_fail "the upgraded database differs from a fresh index: $(head -20 "$WORK/upgrade.diff")"
it_log "upgrade: a database of the previous build equals a fresh index ($(wc -l <"$WORK/fresh.dump") rows)"

# ---- 2. requirements as data -------------------------------------------------------
NET2="$WORK/network-other.json"
node -e '
  const fs = require("fs");
  const n = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  n.requirements = {
    app: { stake: "9000000000000000000000", understaked: true, note: "test: 9,000 DIMO" },
    manufacturer: { stake: "50000000000000000000000", understaked: false },
    node: { stake: "1000000000000000000", per_user: "500000000000000000000", understaked: true },
  };
  fs.writeFileSync(process.argv[2], JSON.stringify(n, null, 2));' "$NET" "$NET2"
before=$(it_psql "$DB" "SELECT string_agg(status || ':' || coalesce(trust_ratio, '-'), ',' ORDER BY contract, token_id) FROM licenses")
sync_to_head "$DB" "$NET2" sync-other
after=$(it_psql "$DB" "SELECT string_agg(status || ':' || coalesce(trust_ratio, '-'), ',' ORDER BY contract, token_id) FROM licenses")
[[ $before != "$after" ]] || it_fail "other requirements changed no status or trust ratio"
[[ $(it_psql "$DB" "SELECT string_agg(class || '=' || amount || '+' || per_user || ':' || enforce, ',' ORDER BY class)
  FROM required_stakes WHERE chain_id = 137") == "app=9000000000000000000000+0:true,manufacturer=50000000000000000000000+0:false,node=1000000000000000000+500000000000000000000:true" ]] ||
  it_fail "requirements not stored: $(it_psql "$DB" "SELECT * FROM required_stakes")"
# Statuses and stakes against the chain, judged by the new file's rules.
node "$IT_ROOT/tests/integration/model_check.js" --rpc "$RPC" --network "$NET2" --db "$DB" \
  --block "$head" --block $((head / 2)) >"$WORK/check2.log" 2>&1 ||
  it_fail "model differs under other requirements: $(head -20 "$WORK/check2.log")"
node "$IT_ROOT/tests/integration/model_check.js" --rpc "$RPC" --network "$NET2" --db "$DB" >>"$WORK/check2.log" 2>&1 ||
  it_fail "model differs under other requirements (head): $(head -20 "$WORK/check2.log")"
# Required stakes and trust ratios: staked / required, truncated to 4
# decimals (ratio * required <= staked < (ratio + 0.0001) * required).
bad=$(it_psql "$DB" "SELECT count(*) FROM licenses l WHERE
  (l.class = 'app' AND l.required_stake <> 9000000000000000000000)
  OR (l.class = 'manufacturer' AND l.required_stake <> greatest(50000000000000000000000, l.minimum_stake))
  OR l.trust_ratio IS NULL OR l.trust_ratio !~ '^[0-9]+\\.[0-9]{4}\$'
  OR NOT (l.trust_ratio::numeric * l.required_stake <= coalesce(l.staked, 0)
          AND coalesce(l.staked, 0) < (l.trust_ratio::numeric + 0.0001) * l.required_stake)")
[[ $bad == 0 ]] || it_fail "$bad license(s) with a required stake or trust ratio not from the new requirements"
# app: 9,000 DIMO exactly is not below 9,000; manufacturers: only the
# contract minimum now.
[[ $(it_psql "$DB" "SELECT count(*) FROM licenses WHERE class = 'app' AND status = 'understaked'
  AND staked >= 9000000000000000000000") == 0 ]] || it_fail "an app at the requirement is understaked"
# Nodes: 1 DIMO plus 500 per user, as of the head and a past block.
for at in NULL $((head / 2 + 40)); do
  bad=$(it_psql "$DB" "SELECT count(*) FROM storage_nodes n,
      LATERAL (SELECT dimo_node_doc(n.chain_id, n.token_id::text, $at) AS d) x
    WHERE x.d IS NOT NULL AND (x.d ->> 'required_stake')::numeric
      <> 1000000000000000000 + 500000000000000000000 * (x.d ->> 'users')::numeric")
  [[ $bad == 0 ]] || it_fail "$bad node document(s) at block $at not at 1 + 500 DIMO per user"
done
[[ $(it_psql "$DB" "SELECT count(*) FROM storage_nodes n WHERE (dimo_node_doc(n.chain_id, n.token_id::text) ->> 'users')::int > 0") -gt 0 ]] ||
  it_fail "no node with users: the per-user rule is untested"
# A restart with the same file rewrites nothing (a write would rebuild
# every document).
xmin=$(it_psql "$DB" "SELECT string_agg(xmin::text, ',' ORDER BY class) FROM required_stakes WHERE chain_id = 137")
sync_to_head "$DB" "$NET2" sync-again
[[ $(it_psql "$DB" "SELECT string_agg(xmin::text, ',' ORDER BY class) FROM required_stakes WHERE chain_id = 137") == "$xmin" ]] ||
  it_fail "an unchanged requirements file rewrote required_stakes"
# Back to the devnet's own file: everything as before, no re-index.
sync_to_head "$DB" "$NET" sync-back
dump "$DB" "$WORK/back.dump"
diff "$WORK/fresh.dump" "$WORK/back.dump" >"$WORK/back.diff" ||
  it_fail "back to the first requirements, the model differs: $(head -20 "$WORK/back.diff")"
it_log "requirements: statuses and trust ratios follow the network file ($(tail -1 "$WORK/check2.log"))"

# ---- 3. the old role name ------------------------------------------------------------
node -e '
  const fs = require("fs");
  const n = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  for (const c of n.contracts) if (c.role === "manufacturer_license") { c.role = "node_license"; delete c.class; }
  fs.writeFileSync(process.argv[2], JSON.stringify(n));' "$NET" "$WORK/network-old.json"
set +e
"$BIN" sync --network "$WORK/network-old.json" --rpc "$RPC" --db "$DB" --to head >"$WORK/old-role.log" 2>&1
code=$?
set -e
[[ $code == 2 ]] || it_fail "role node_license: exit $code, want 2"
grep -q 'role "node_license" is now "manufacturer_license"' "$WORK/old-role.log" ||
  it_fail "role node_license: $(cat "$WORK/old-role.log")"

echo "classes: ok (upgrade equals a fresh index; requirements re-derive statuses and trust ratios; old role refused)"
