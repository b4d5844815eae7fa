#!/usr/bin/env bash
# Network benchmark (tracker issue 12): starts a local Streamlet testnet of VALIDATORS
# nodes, runs `ledger-cli bench` against it at each RATE (transactions/s offered) for SECONDS,
# and prints one summary line per rate. The testnet is fresh for every rate.
#
#   scripts/network-bench.sh VALIDATORS SECONDS RATE [RATE ...]
#   e.g. scripts/network-bench.sh 4 60 3000 6000 max
#
# RATE `max` runs unpaced: as fast as the nodes take transactions, with at most 2,500
# submitted and not yet final (`ledger-cli bench --max-pending`; this window sets the
# latency of an unpaced run). Extra `ledger-cli bench` options go in $BENCH_ARGS, extra
# `ledger-node testnet` options in $TESTNET_ARGS (e.g. --no-validator-indexes).
#
# Build first: cargo build --release --workspace (binaries in $CARGO_TARGET_DIR/release,
# default $HOME/.cache/ledger-node/target as in .ci/run). Full reports (JSON, with
# per-stage times) are kept in $OUT (default /tmp/ledger-bench).
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n 2,12p "$0" >&2
    exit 2
fi
validators=$1
seconds=$2
shift 2
bin="${CARGO_TARGET_DIR:-$HOME/.cache/ledger-node/target}/release"
out="${OUT:-/tmp/ledger-bench}"
mkdir -p "$out"
for rate in "$@"; do
    dir=$(mktemp -d)
    # shellcheck disable=SC2086
    "$bin/ledger-node" testnet --dir "$dir" --validators "$validators" ${TESTNET_ARGS:-} \
        >"$dir/testnet.log" 2>&1 &
    testnet=$!
    trap 'kill $testnet 2>/dev/null; wait $testnet 2>/dev/null; rm -rf "$dir"' EXIT
    # Ready when every node answers `status` (the summary is printed then).
    for _ in $(seq 1 240); do
        grep -q "press Ctrl-C to stop" "$dir/testnet.log" 2>/dev/null && break
        sleep 0.5
    done
    sleep 2
    report="$out/bench-v${validators}-r${rate}.json"
    pace=(--rate "$rate")
    [ "$rate" = max ] && pace=()
    # shellcheck disable=SC2086
    "$bin/ledger-cli" --json bench --testnet "$dir/testnet.json" --duration "$seconds" \
        "${pace[@]}" ${BENCH_ARGS:-} >"$report" 2>"$out/bench-v${validators}-r${rate}.err"
    python3 - "$report" "$validators" "$rate" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(json.dumps({"validators": int(sys.argv[2]), "offered": sys.argv[3],
                  **{k: r.get(k) for k in ("final_orders_per_sec", "final_tx_per_sec",
                  "submitted", "finalized", "not_final", "rejected_at_submit",
                  "abandoned", "latency_ms", "signature_ceiling", "ceiling_fraction")}}))
PY
    kill $testnet 2>/dev/null || true
    wait $testnet 2>/dev/null || true
    rm -rf "$dir"
    trap - EXIT
done
