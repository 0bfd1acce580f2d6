#!/usr/bin/env bash
# The run command (README): installs what is missing, builds Release and shows
# the system working: the in-process bus benchmarks, then the daemon trading on
# paper on the synthetic feed (signals, fills, P&L, performance, margin,
# factors), an operator halt that
# stops the strategy, and a flash crash that VPIN detects and risk halts.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DNAUTILUS_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)"
bin=build/release/apps/nautilus-cli/nautilus
nautilus() { "$bin" "$@"; }
section() { printf '\n== %s\n' "$*"; }

section "bus: one publisher -> one subscriber, 100-byte messages"
nautilus bench throughput --count 2000000
section "bus: latency at 100,000 msgs/s"
nautilus bench latency --rate 100000 --duration 3

# The daemon with the built-in defaults (hub on the synthetic feed, features,
# ml, vpin, risk, portfolio and a momentum strategy on five symbols) on a
# throwaway state directory. SIGTERM drains and exits 0.
state=$(mktemp -d)
export NAUTILUS_STATE_DIR=$state
build/release/apps/nautilusd/nautilusd --listen 127.0.0.1:0 --log-format text 2>"$state/nautilusd.log" &
daemon=$!
stop_daemon() { kill -TERM "$daemon" 2>/dev/null && wait "$daemon"; }
trap 'stop_daemon; rm -rf "$state"' EXIT
for _ in $(seq 100); do [ -s "$state/address" ] && break; sleep 0.1; done
sleep 2  # the engines start in order after the listener is up
section "nautilusd: status"
nautilus status

section "live for 10 s"
if [ -t 1 ]; then
  timeout -s INT --foreground 10 "$bin" top || true
else
  # Off a terminal (cron, CI logs): three snapshots instead of the live table.
  for _ in 1 2 3; do sleep 2; nautilus top --once --interval 1; echo; done
fi

section "signals and fills as they happen"
nautilus bus subscribe engine 'strategy.signal.*' --count 3 --timeout 20 || true
nautilus bus subscribe engine 'portfolio.fill.*' --count 3 --timeout 20 || true

section "strategy, positions and P&L (paper)"
nautilus strategy list
echo
nautilus portfolio positions
echo
nautilus portfolio pnl

section "performance (analytics), margin (collateral) and the factor model"
nautilus analytics report | head -4
echo
nautilus collateral show
echo
nautilus bus subscribe engine 'factor.returns' --count 1 --timeout 30 || true

section "an operator halt stops the strategy"
nautilus risk halt --reason "run.sh demo"
sleep 1
nautilus strategy list
nautilus risk resume

stop_daemon
trap 'rm -rf "$state"' EXIT
echo "nautilusd stopped cleanly"

section "a flash crash: VPIN warns, risk halts, the strategies stop (in-process, 4 symbols)"
nautilus bench flash-crash --duration 5 --rate 20000 --symbols 4
