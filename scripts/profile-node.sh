#!/usr/bin/env bash
# Where a validator's CPU goes at load (tracker issue 12; docs/performance.md, "Sixth
# sitting"). Runs `scripts/network-bench.sh VALIDATORS SECONDS RATE` and, once the
# measured window is running, records:
#   - the CPU seconds each process (every node, the load generator) used over PERF_SECONDS;
#   - `perf record --call-graph dwarf` of one node for PERF_SECONDS, summed by what the
#     stack was doing (signature checks, the executor's RocksDB write, libp2p, JSON-RPC...).
#
#   scripts/profile-node.sh [VALIDATORS [SECONDS [RATE]]]     (default: 4 40 max)
#
# Needs `perf` (Debian: apt-get install linux-perf) and the release binaries (as for
# network-bench.sh). PERF_SECONDS (default 5) and PERF_HZ (default 199) size the
# recording; the data is kept in $OUT/perf.data (default OUT=/tmp/ledger-profile).
set -euo pipefail
validators=${1:-4}
seconds=${2:-40}
rate=${3:-max}
perf_seconds=${PERF_SECONDS:-5}
out="${OUT:-/tmp/ledger-profile}"
mkdir -p "$out"
command -v perf >/dev/null || { echo "perf not found: apt-get install linux-perf" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
OUT="$out" "$here/network-bench.sh" "$validators" "$seconds" "$rate" >"$out/bench.txt" 2>&1 &
bench=$!
trap 'kill $bench 2>/dev/null; wait $bench 2>/dev/null' EXIT
# The window opens once the testnet is up and the orders are signed: wait for the load
# generator to start, then PERF_WAIT seconds (default 20).
for _ in $(seq 1 240); do
    pgrep -f 'ledger-cli.* bench' >/dev/null && break
    sleep 0.5
done
sleep "${PERF_WAIT:-20}"
cpu() { for p in $(pgrep -f 'ledger-node run|ledger-cli.* bench'); do
    echo "$p $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0) $(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-60)"
done; }
cpu >"$out/cpu-before.txt"
started=$(date +%s.%N)
node=$(pgrep -f 'ledger-node run' | head -1 || true)
if [ -z "$node" ]; then
    echo "no ledger-node process to profile (see $out/bench.txt)" >&2
    exit 1
fi
perf record -q -g --call-graph dwarf,16384 -F "${PERF_HZ:-199}" -p "$node" \
    -o "$out/perf.data" -- sleep "$perf_seconds" >/dev/null 2>&1
cpu >"$out/cpu-after.txt"
elapsed=$(python3 -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$(date +%s.%N)" "$started")
wait $bench || true
trap - EXIT
tail -1 "$out/bench.txt"
perf script -i "$out/perf.data" 2>/dev/null >"$out/perf.txt"
python3 - "$out" "$elapsed" <<'PY'
import collections, re, sys
out, secs = sys.argv[1], float(sys.argv[2])
hz = 100  # /proc/<pid>/stat clock ticks
def load(name):
    rows = {}
    for line in open(f"{out}/{name}"):
        pid, ticks, *cmd = line.split()
        rows[pid] = (int(ticks), " ".join(cmd))
    return rows
before, after = load("cpu-before.txt"), load("cpu-after.txt")
print(f"CPU seconds per process over {secs:.1f} s of wall time (the cores: at most that times their number):")
used = sorted(((t - before[pid][0]) / hz, cmd) for pid, (t, cmd) in after.items() if pid in before)
for cpu_secs, cmd in reversed(used):
    print(f"  {cpu_secs:6.2f}  {cmd}")
# Categories, first match wins: (name, stack must match, and also match).
SIG = r"curve25519|ed25519|sha512|merlin|keccak"
CATS = [
    ("executor: RocksDB memtable insert", r"Executor<S>::execute", r"MemTable::Add"),
    ("executor: RocksDB write-ahead log", r"Executor<S>::execute", r"WriteToWAL"),
    ("executor: RocksDB, other", r"Executor<S>::execute", r"rocksdb::"),
    ("executor: matching engine", r"Executor<S>::execute", r"ledger_engine"),
    ("executor: index records", r"Executor<S>::execute", r"IndexWriter"),
    ("executor: other (mempool cleanup, events)", r"runtime::execute", None),
    ("gossip admission: signatures", r"admit_batch", SIG),
    ("gossip admission: other", r"admit_batch", None),
    ("RPC admission: signatures", r"sig_batcher", SIG),
    ("RPC admission: other", r"sig_batcher", None),
    ("JSON-RPC server", r"jsonrpsee|rpc_server|hyper", None),
    ("consensus driver: block signatures", r"ledger_driver::driver|ledger_consensus", SIG),
    ("consensus driver: other", r"ledger_driver::driver|ledger_consensus", None),
    ("libp2p (gossipsub, noise, yamux)", r"libp2p|yamux|snow|noise", None),
    ("RocksDB background (flush, compaction)", r"rocksdb::(FlushJob|CompactionJob|DBImpl::Background)", None),
]
count, total = collections.Counter(), 0
for sample in open(f"{out}/perf.txt").read().split("\n\n"):
    lines = [l for l in sample.strip().split("\n") if l.strip()]
    if len(lines) < 2:
        continue
    total += 1
    stack = "\n".join(lines[1:])
    name = "other"
    for cat, a, b in CATS:
        if re.search(a, stack) and (b is None or re.search(b, stack)):
            name = cat
            break
    count[name] += 1
print(f"one node, {total} samples, share of its CPU:")
for name, n in count.most_common():
    print(f"  {100 * n / max(total, 1):5.1f}%  {name}")
PY
