#!/usr/bin/env bash
# bench_upgraded.sh: what the two steps of a first start after an upgrade
# cost, each against a fresh index of the same chain measured in the same
# run (the machine is shared: only ratios mean much). Not a test: it
# measures, prints one table, and exits 0 unless something broke.
#
#   scripts/bench_upgraded.sh [--events N] [--runs R] [--quick]
#                             [--only coverage,redecode] [--json FILE] [--keep]
#
# One devnet (anvil, the fixed DIP-5 scenario, then tests/devnet/bulk.js: N
# SignerEnabled / SignerDisabled events of the first app license, 20 a
# block over N/20 blocks), one PostgreSQL cluster (scripts/pg.sh). The two
# upgraded databases below are indexed once (timed, for information); each
# run starts a copy of them (CREATE DATABASE ... TEMPLATE). Each run, every
# `sync --confirmations 0 --to HEAD` in its own database:
#   reference  this build, today's ABIs, a fresh database: wall time; twice a
#              run, first and last (the run's reference: their mean).
#   coverage   (indexer/coverage.c) the release before migration 013
#              (scripts/build_before.sh) indexes the chain with its own
#              ABIs and schema (asking every contract by its ABIs' topic0s);
#              this build migrates a copy (016 marks the coverage: timed apart)
#              and starts: the catch-up step (from its "asking the quiet
#              contracts' every log" line to its "coverage catch-up: blocks"
#              line; before it: the open, the checks and the model brought
#              up to date, from the start's first line), then the derivation
#              of the model again from the catch-up's lowest new block (to
#              the senders' catch-up's start, which waits for it: the
#              "-> admin-txs" debug line), and the whole start (wall). The app license is a quiet contract: the
#              catch-up asks it every log, so the N bulk events come back.
#   redecode   (indexer/redecode.c) this build indexes the chain with the
#              first app license's ABI lacking SignerEnabled and
#              SignerDisabled (a network file whose "abi" names that copy;
#              the other app licenses keep them, so the start-up check of
#              the model's reads passes): its N bulk events are stored raw in
#              unknown_logs. A copy started with today's ABIs: the redecode
#              step (its own "(N ms)" figure) and the whole start (wall);
#              then a start with nothing to do (wall).
# Each upgraded database must then equal the run's reference (an md5 of its
# logs, unknown logs and cursor), or the script fails. Printed: each step's
# seconds and its ratio to its run's reference, medians of the runs (a
# markdown table, then every run's numbers), the load average before
# and after, and the other processes on the machine (not this script's:
# indexers, anvils, PostgreSQL clusters, node, compilers), before and after.
#
# Options:
#   --events N   bulk events (default 20,000; at least 100)
#   --runs R     runs, each with its own databases (default 5)
#   --quick      smoke run, under a minute: 10,000 events, 1 run
#   --only LIST  coverage, redecode or both (default both)
#   --json FILE  also write every run's numbers and the medians as JSON
#   --keep       keep the work directory (logs, databases) under /tmp
#
# Run it niced on a shared machine (`nice -n 10 scripts/bench_upgraded.sh`):
# everything it starts (PostgreSQL, anvil, the indexers) inherits that.
# Environment: DIMO_INDEXER (binary, default build/indexer/dimo-indexer).
# Builds the release before 013 under build/ on its first use (about 15 s).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${DIMO_INDEXER:-$ROOT/build/indexer/dimo-indexer}
EVENTS=20000
RUNS=5
QUICK=0
ONLY=coverage,redecode
JSON_OUT=
KEEP=0

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}
events_set=0 runs_set=0
while (($#)); do
  case $1 in
  --events) EVENTS=${2:?}; events_set=1; shift ;;
  --runs) RUNS=${2:?}; runs_set=1; shift ;;
  --quick) QUICK=1 ;;
  --only) ONLY=${2:?}; shift ;;
  --json) JSON_OUT=${2:?}; shift ;;
  --keep) KEEP=1 ;;
  -h | --help) usage ;;
  *) echo "bench_upgraded: unknown option $1" >&2; usage ;;
  esac
  shift
done
if ((QUICK)); then
  ((events_set)) || EVENTS=10000
  ((runs_set)) || RUNS=1
fi
[[ $EVENTS =~ ^[0-9]+$ && $EVENTS -ge 100 ]] || { echo "bench_upgraded: --events must be an integer >= 100" >&2; exit 2; }
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 ]] || { echo "bench_upgraded: --runs must be an integer >= 1" >&2; exit 2; }
[[ ,coverage,redecode, == *",${ONLY%%,*},"* && ,coverage,redecode, == *",${ONLY##*,},"* ]] ||
  { echo "bench_upgraded: --only takes coverage, redecode or both" >&2; exit 2; }
[[ -n $JSON_OUT && $JSON_OUT != /* ]] && JSON_OUT="$PWD/$JSON_OUT"
has() { [[ ",$ONLY," == *",$1,"* ]]; }
[[ -x $BIN ]] || { echo "bench_upgraded: no binary at $BIN (run scripts/setup.sh)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/dimo-bench-upgraded.XXXXXX)
chmod 755 "$WORK"
R="$WORK/runs.jsonl"
PG_DIR=
CHAIN_DIR=
cleanup() {
  trap - EXIT INT TERM
  [[ -n $CHAIN_DIR ]] && bash "$ROOT/tests/devnet/anvil.sh" stop "$CHAIN_DIR" >/dev/null 2>&1 || true
  [[ -n $PG_DIR ]] && bash "$ROOT/scripts/pg.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  if ((KEEP)); then echo "bench_upgraded: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}
psqlq() { psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }
newdb() { bash "$ROOT/scripts/pg.sh" createdb "$PG_DIR" "$1"; }
# clone TEMPLATE NAME: a copy of a database (CREATE DATABASE ... TEMPLATE, a
# file copy); prints its conninfo.
clone() {
  psqlq "$(cat "$PG_DIR/conninfo")" "CREATE DATABASE $2 TEMPLATE $1" >/dev/null
  newdb "$2"
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# The other processes on the machine (other engineers' work: the machine
# is shared), by kind: every process of these kinds that is neither this
# script's descendant nor its PostgreSQL cluster's nor its anvil.
others() {
  local roots="$$"
  [[ -n $PG_DIR && -f $PG_DIR/data/postmaster.pid ]] && roots+=" $(head -n 1 "$PG_DIR/data/postmaster.pid")"
  [[ -n $CHAIN_DIR && -f $CHAIN_DIR/anvil.pid ]] && roots+=" $(cat "$CHAIN_DIR/anvil.pid")"
  ps -eo pid=,ppid=,stat=,comm= | awk -v roots="$roots" '
    { pid[NR] = $1; ppid[$1] = $2; st[$1] = $3; comm[$1] = $4 }
    END {
      n = split(roots, r, " "); for (i = 1; i <= n; i++) ours[r[i]] = 1
      do { more = 0
        for (k in ppid) if (!(k in ours) && (ppid[k] in ours)) { ours[k] = 1; more = 1 } } while (more)
      for (k in comm) {
        c = comm[k]
        if (k in ours) continue
        if (c == "postgres") { if (comm[ppid[k]] == "postgres") continue; c = "postgres-cluster" }
        else if (c ~ /^(cc1|cc|gcc|clang.*|ninja|meson|ld)$/) c = "compiler"
        else if (c ~ /^(memcheck|valgrind)/) c = "valgrind"
        else if (c !~ /^(dimo-indexer|anvil|node|psql|chromium|pg_prove)$/) continue
        count[c]++; total++
        if (st[k] ~ /^R/) running++
      }
      out = ""
      for (c in count) out = out (out == "" ? "" : ", ") count[c] " " c
      printf "%d (%s); %d running at that moment\n", total, (out == "" ? "none" : out), running
    }'
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- the chain ---------------------------------------------------------------

OLD_DIR=
if has coverage; then
  log "the release before 013 (scripts/build_before.sh)"
  OLD_DIR=$(bash "$ROOT/scripts/build_before.sh" schema/013_unknown_events.sql) || die "cannot build the release before 013"
  OLD="$OLD_DIR/build/indexer/dimo-indexer"
fi

load_before=$(loadavg)
others_before=$(others)
log "load $load_before; other processes: $others_before"

PG_DIR="$WORK/pg"
CHAIN_DIR="$WORK/chain"
mkdir -p "$PG_DIR" "$CHAIN_DIR"
bash "$ROOT/scripts/pg.sh" start "$PG_DIR" >/dev/null
# Cancun, as scripts/bench.sh: Prague's block-hash history contract makes
# every block dearer to mine as the chain grows.
RPC=$(bash "$ROOT/tests/devnet/anvil.sh" start "$CHAIN_DIR" --hardfork cancun | tail -n 1)
[[ $RPC == http://* ]] || die "anvil did not start"
NET="$WORK/network.json"
node "$ROOT/tests/devnet/deploy.js" --rpc "$RPC" --out "$NET" >"$WORK/deploy.log" || die "deploy failed"
node "$ROOT/tests/devnet/scenario.js" --rpc "$RPC" --network "$NET" >"$WORK/scenario.log" || die "scenario failed"
BLOCKS=$((EVENTS / 20))
log "devnet at $RPC: the fixed scenario, then $EVENTS bulk events over $BLOCKS blocks"
node "$ROOT/tests/devnet/bulk.js" --rpc "$RPC" --network "$NET" --events "$EVENTS" --blocks "$BLOCKS" \
  >"$WORK/bulk.log" || die "bulk.js failed: $(tail -3 "$WORK/bulk.log")"
HEAD=$(curl -sf -H 'content-type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$RPC" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(parseInt(JSON.parse(s).result,16)))')

# The redecode's old network file: the first app license (bulk.js's) with a
# copy of its ABI lacking SignerEnabled / SignerDisabled, beside the file.
if has redecode; then
  mkdir -p "$WORK/old"
  node -e '
    const fs = require("fs"), path = require("path");
    const [net, abiDir, out] = process.argv.slice(1);
    const n = JSON.parse(fs.readFileSync(net));
    const app = n.contracts.find((c) => c.role === "app_license" && c["x-scenario"] !== false);
    const j = JSON.parse(fs.readFileSync(path.join(abiDir, app.abi)));
    const a = (Array.isArray(j) ? j : j.abi).filter((e) => !(e.type === "event" && /^Signer(Enabled|Disabled)$/.test(e.name)));
    fs.writeFileSync(path.join(out, "AppLicenseNoSigner.json"), JSON.stringify(a));
    app.abi = "AppLicenseNoSigner.json";
    fs.writeFileSync(path.join(out, "network.json"), JSON.stringify(n, null, 2));
  ' "$NET" "$ROOT/abi" "$WORK/old" || die "cannot write the redecode's old network file"
fi

# ---- one run -----------------------------------------------------------------

# sync NAME DB NETWORK [ARGS...]: `sync` to HEAD (log $WORK/NAME.log); sets T.
sync_to() {
  local name=$1 db=$2 net=$3 t0
  shift 3
  t0=$(now)
  "$BIN" sync --network "$net" --rpc "$RPC" --db "$db" --confirmations 0 --to "$HEAD" "$@" \
    >"$WORK/$name.log" 2>&1 || die "$name: sync failed: $(tail -3 "$WORK/$name.log")"
  T=$(secs "$t0" "$(now)")
}
# Seconds between the first log lines matching two patterns (ERE) of a log.
between() {
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
    const at = (re, from) => { for (let i = from; i < lines.length; i++) if (new RegExp(re).test(lines[i])) return i; return -1; };
    const a = at(process.argv[2], 0), b = a < 0 ? -1 : at(process.argv[3], a);
    if (a < 0 || b < 0) { console.log(""); process.exit(0); }
    const t = (l) => Date.parse(l.split(" ")[0]);
    console.log(((t(lines[b]) - t(lines[a])) / 1000).toFixed(3));
  ' "$@"
}
# An md5 of everything indexed: logs, unknown logs, the cursor.
digest() {
  psqlq "$1" "SELECT md5(coalesce((SELECT string_agg(x::text, ';' ORDER BY block_number, log_index) FROM (
      SELECT block_number, log_index, block_hash, tx_hash, tx_index, address, topic0, topic1, topic2,
        topic3, data, event, event_name, role, args, block_time FROM logs) x), '')
    || coalesce((SELECT string_agg(u::text, ';' ORDER BY block_number, log_index) FROM (
      SELECT block_number, log_index, block_hash, tx_hash, tx_index, address, role, topic0, topic1,
        topic2, topic3, data, block_time FROM unknown_logs) u), '')
    || (SELECT string_agg(chain_id || ',' || last_block || ',' || encode(last_hash, 'hex'), ';' ORDER BY chain_id)
        FROM cursors))"
}

one_run() {
  local n=$1 fresh ref_a ref_b ref ref_digest json
  fresh=$(newdb "fresh_$n")
  sync_to "fresh_$n" "$fresh" "$NET"
  ref_a=$T
  ref_digest=$(digest "$fresh")
  json="{\"run\":$n,\"logs\":$(psqlq "$fresh" "SELECT count(*) FROM logs"),\"unknown_logs\":$(psqlq "$fresh" "SELECT count(*) FROM unknown_logs")"

  if has coverage; then
    local db t0 mig_s up_s before catchup derive line
    db=$(clone cov_tpl "cov_$n")
    t0=$(now)
    "$BIN" migrate --db "$db" >"$WORK/cov_migrate_$n.log" 2>&1 ||
      die "migrate failed: $(tail -3 "$WORK/cov_migrate_$n.log")"
    mig_s=$(secs "$t0" "$(now)")
    [[ -n $(psqlq "$db" "SELECT complete_from FROM unfiltered_coverage") ]] || die "016 marked no coverage to catch up"
    sync_to "cov_$n" "$db" "$NET" --log-level debug
    up_s=$T
    line=$(grep -m1 "coverage catch-up: blocks [0-9]*\.\.[0-9]* asked in" "$WORK/cov_$n.log") ||
      die "no catch-up line in the upgraded start: $(grep -i coverage "$WORK/cov_$n.log" | tail -3)"
    before=$(between "$WORK/cov_$n.log" "main: sync: network" "coverage catch-up: asking the quiet contracts")
    catchup=$(between "$WORK/cov_$n.log" "coverage catch-up: asking the quiet contracts" "coverage catch-up: blocks [0-9]+\.\.[0-9]+ asked in")
    derive=$(between "$WORK/cov_$n.log" "coverage catch-up: blocks [0-9]+\.\.[0-9]+ asked in" " -> admin-txs")
    [[ $(digest "$db") == "$ref_digest" ]] || die "run $n: the caught-up database differs from the fresh index"
    json+=",\"coverage\":{\"migrate_s\":$mig_s,\"start_s\":$up_s,\"before_s\":${before:-null},\"catchup_s\":${catchup:-null},\"derive_s\":${derive:-null},"
    json+="\"rounds\":$(sed -n 's/.* asked in \([0-9]*\) round.*/\1/p' <<<"$line"),"
    json+="\"logs_added\":$(sed -n 's/.* round(s), \([0-9]*\) log(s).*/\1/p' <<<"$line"),"
    json+="\"unknown_added\":$(sed -n 's/.* and \([0-9]*\) unknown log(s).*/\1/p' <<<"$line"),"
    json+="\"derived_from\":$(sed -n 's/.*derived again from block \([0-9]*\).*/\1/p' <<<"$line" | grep . || echo null)}"
    log "run $n: coverage: catch-up ${catchup}s, derivation ${derive}s, start ${up_s}s"
  fi

  if has redecode; then
    local db red_s step line idle_s
    db=$(clone red_tpl "red_$n")
    sync_to "red_$n" "$db" "$NET"
    red_s=$T
    line=$(grep -m1 "unknown logs now known: [0-9]* decoded" "$WORK/red_$n.log") ||
      die "no redecode line: $(grep -i redecode "$WORK/red_$n.log" | tail -3)"
    step=$(sed -n 's/.*(\([0-9]*\) ms)$/\1/p' <<<"$line")
    sync_to "red_idle_$n" "$db" "$NET"
    idle_s=$T
    ! grep -q "unknown logs now known" "$WORK/red_idle_$n.log" || die "the start with nothing to do decoded again"
    [[ $(digest "$db") == "$ref_digest" ]] || die "run $n: the redecoded database differs from the fresh index"
    json+=",\"redecode\":{"
    json+="\"decoded\":$(sed -n 's/.*known: \([0-9]*\) decoded.*/\1/p' <<<"$line"),"
    json+="\"rounds\":$(sed -n 's/.* in \([0-9]*\) round(s).*/\1/p' <<<"$line"),"
    json+="\"parts\":\"$(sed -n 's/.*re-derived: \(.*\) ([0-9]* ms)$/\1/p' <<<"$line")\","
    json+="\"step_s\":$(awk -v m="$step" 'BEGIN { printf "%.3f", m / 1000 }'),\"start_s\":$red_s,\"idle_start_s\":$idle_s}"
    log "run $n: redecode: step $((step))ms, start ${red_s}s, nothing to do ${idle_s}s"
  fi
  # The reference again, after the upgraded starts: the run's reference is
  # the mean of the two (the load changes during a run).
  fresh=$(newdb "fresh_after_$n")
  sync_to "fresh_after_$n" "$fresh" "$NET"
  ref_b=$T
  [[ $(digest "$fresh") == "$ref_digest" ]] || die "run $n: two fresh indexes of the chain differ"
  ref=$(awk -v a="$ref_a" -v b="$ref_b" 'BEGIN { printf "%.3f", (a + b) / 2 }')
  log "run $n: reference ${ref_a}s before, ${ref_b}s after"
  echo "$json,\"fresh_before_s\":$ref_a,\"fresh_after_s\":$ref_b,\"reference_s\":$ref}" >>"$R"
}

# The upgraded databases, indexed once (each run starts a copy of them).
COV_OLD_S=null RED_OLD_S=null RAW=null
if has coverage; then
  db=$(newdb cov_tpl)
  t0=$(now)
  "$OLD" sync --network "$NET" --rpc "$RPC" --db "$db" --confirmations 0 --to "$HEAD" \
    --abi-dir "$OLD_DIR/src/abi" --schema-dir "$OLD_DIR/src/schema" >"$WORK/cov_tpl.log" 2>&1 ||
    die "the release before 013 failed: $(tail -3 "$WORK/cov_tpl.log")"
  COV_OLD_S=$(secs "$t0" "$(now)")
  log "the release before 013 indexed the chain in ${COV_OLD_S}s"
fi
if has redecode; then
  db=$(newdb red_tpl)
  sync_to red_tpl "$db" "$WORK/old/network.json"
  RED_OLD_S=$T
  RAW=$(psqlq "$db" "SELECT count(*) FROM unknown_logs")
  ((RAW >= EVENTS)) || die "the old ABI left $RAW raw logs, fewer than the $EVENTS bulk events"
  log "this build indexed the chain with the old ABI in ${RED_OLD_S}s ($RAW raw logs)"
fi

log "head block $HEAD; $RUNS run(s)"
for ((n = 1; n <= RUNS; n++)); do
  one_run "$n"
done
load_after=$(loadavg)
others_after=$(others)

# ---- report ------------------------------------------------------------------

node -e '
const fs = require("fs");
const [file, events, blocks, head, runsN, loadB, loadA, othB, othA, jsonOut, commit, covOld, redOld, raw] = process.argv.slice(1);
const once = { old_release_index_s: JSON.parse(covOld), old_abi_index_s: JSON.parse(redOld), raw_logs: JSON.parse(raw) };
const runs = fs.readFileSync(file, "utf8").trim().split("\n").map(JSON.parse);
const median = (v) => { v = v.filter((x) => typeof x === "number" && isFinite(x)).sort((a, b) => a - b);
  return v.length ? v[(v.length - 1) >> 1] : null; };
const fmt = (x) => (x == null ? "-" : x.toFixed(2));
// Each run its own ratio (its reference: the mean of its two fresh
// indexes, one before and one after its upgraded starts), then the median.
const secs = (part, key) => median(runs.map((r) => (part ? r[part] && r[part][key] : r[key])));
const ratio = (part, key) => median(runs.map((r) => r[part] && r[part][key] != null ? r[part][key] / r.reference_s : null));
const rows = [];
const add = (label, part, key, detail) => {
  const row = { label, seconds: secs(part, key), ratio: part ? ratio(part, key) : 1, detail };
  rows.push(row);
  return row;
};
const r0 = runs[0];
add("reference: fresh index, today\u0027s ABIs", null, "reference_s",
  r0.logs + " logs, " + r0.unknown_logs + " unknown; the two of a run differ by " +
  fmt(median(runs.map((r) => Math.abs(r.fresh_before_s - r.fresh_after_s) / r.reference_s * 100))) + "% (median)");
if (r0.coverage) {
  const c = r0.coverage;
  add("coverage: the start before the catch-up", "coverage", "before_s", "open, checks, the model brought up to date first");
  add("coverage: catch-up step", "coverage", "catchup_s", c.rounds + " rounds, " + c.logs_added + " logs + " + c.unknown_added + " unknown stored");
  add("coverage: model derived again after it", "coverage", "derive_s", "from block " + c.derived_from);
  add("coverage: the whole first start", "coverage", "start_s", "before it: migrate " + fmt(secs("coverage", "migrate_s")) +
    " s (the release before 013 indexed the chain in " + fmt(once.old_release_index_s) + " s, once)");
}
if (r0.redecode) {
  const d = r0.redecode;
  add("redecode: step", "redecode", "step_s", d.decoded + " raw logs decoded in " + d.rounds + " round(s); re-derived: " + d.parts);
  add("redecode: the whole first start", "redecode", "start_s", "(this build indexed the chain with the old ABI in " + fmt(once.old_abi_index_s) + " s, once: " + once.raw_logs + " raw logs)");
  add("redecode: a start with nothing to do", "redecode", "idle_start_s", "");
}
console.log("\nupgraded databases: " + events + " bulk events over " + blocks + " blocks (head " + head + "), median of " + runsN + " run(s)\n");
console.log("| what | s | / reference | detail |");
console.log("| --- | --- | --- | --- |");
for (const r of rows) console.log("| " + r.label + " | " + fmt(r.seconds) + " | " + fmt(r.ratio) + " | " + r.detail + " |");
console.log("\nload average (1, 5, 15 min) before " + loadB + ", after " + loadA + " (" + require("os").cpus().length + " cores)");
console.log("other processes before: " + othB);
console.log("other processes after:  " + othA);
console.log("every run:\n  " + runs.map((r) => JSON.stringify(r)).join("\n  "));
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ events: +events, blocks: +blocks, head: +head, commit,
  load_before: loadB, load_after: loadA, others_before: othB, others_after: othA, once, medians: rows, runs }, null, 2) + "\n");
' "$R" "$EVENTS" "$BLOCKS" "$HEAD" "$RUNS" "$load_before" "$load_after" "$others_before" "$others_after" "$JSON_OUT" \
  "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$COV_OLD_S" "$RED_OLD_S" "$RAW"
