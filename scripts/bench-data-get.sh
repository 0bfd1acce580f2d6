#!/usr/bin/env bash
# Whole-command latency of `nautilus --json data get SYMBOL` against a running
# nautilusd, as a user sees it: fork + exec + request + exit, timed in bash
# with $EPOCHREALTIME (no helper process inside the timed span).
#
#   scripts/bench-data-get.sh [RUNS] [BINARY...]
#
# RUNS defaults to 200; BINARY defaults to build/hub-rel/apps/nautilus-cli/nautilus.
# With several binaries the runs are interleaved (A B A B ...) so machine load
# hits all of them alike. Without NAUTILUS_URL / NAUTILUS_STATE_DIR set, the
# script starts its own daemon (build/hub-rel/apps/nautilusd/nautilusd, default
# config, loopback TCP on a free port) and stops it at the end.
# Prints p50/p90/p99/max in ms per binary, plus, for reference, `--version`
# of the first binary (its process start alone) and /bin/true (what this
# machine charges for any process).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
shift || true
bins=("$@")
[ ${#bins[@]} -eq 0 ] && bins=(build/hub-rel/apps/nautilus-cli/nautilus)
symbol=${SYMBOL:-AAPL}

daemon_pid=
cleanup() {
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  [ -n "${own_dir:-}" ] && rm -rf "$own_dir"
}
trap cleanup EXIT
if [ -z "${NAUTILUS_URL:-}" ] && [ -z "${NAUTILUS_STATE_DIR:-}" ]; then
  own_dir=$(mktemp -d)
  export NAUTILUS_STATE_DIR=$own_dir
  build/hub-rel/apps/nautilusd/nautilusd --listen 127.0.0.1:0 >"$own_dir/daemon.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 100); do [ -s "$own_dir/address" ] && break; sleep 0.05; done
  [ -s "$own_dir/address" ] || { echo "nautilusd did not start:" >&2; cat "$own_dir/daemon.log" >&2; exit 1; }
fi

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'; }
summary() {  # label, file of ms values
  sort -n "$2" | awk -v l="$1" '{ v[NR] = $1 } END {
    i50 = int(NR * 0.50 + 0.5); i90 = int(NR * 0.90 + 0.5); i99 = int(NR * 0.99 + 0.5)
    if (i99 < 1) i99 = 1
    printf "%-60s n=%d p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n", l, NR, v[i50], v[i90], v[i99], v[NR] }'
}

tmp=$(mktemp -d)
for b in "${bins[@]}"; do "$b" --json data get "$symbol" >/dev/null; done  # warm the page cache and the hub
for i in $(seq "$runs"); do
  for k in "${!bins[@]}"; do
    t0=$EPOCHREALTIME; "${bins[$k]}" --json data get "$symbol" >/dev/null; t1=$EPOCHREALTIME
    ms "$t0" "$t1" >>"$tmp/get.$k"
  done
  t0=$EPOCHREALTIME; "${bins[0]}" --version >/dev/null; t1=$EPOCHREALTIME
  ms "$t0" "$t1" >>"$tmp/version"
  t0=$EPOCHREALTIME; /bin/true; t1=$EPOCHREALTIME
  ms "$t0" "$t1" >>"$tmp/true"
done
echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for k in "${!bins[@]}"; do summary "${bins[$k]} --json data get $symbol" "$tmp/get.$k"; done
summary "${bins[0]} --version" "$tmp/version"
summary "/bin/true" "$tmp/true"
rm -rf "$tmp"
