#!/usr/bin/env bash
# The run command (README): installs what is missing, builds Release and shows
# the system working: the in-process bus benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DNAUTILUS_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)"
bin=build/release/apps/nautilus-cli/nautilus
"$bin" bench throughput --count 2000000
echo
"$bin" bench latency --rate 100000 --duration 3

# The daemon with the default config on a throwaway state directory, seen
# through the CLI, then stopped cleanly (SIGTERM drains and exits 0).
echo
state=$(mktemp -d)
export NAUTILUS_STATE_DIR=$state
build/release/apps/nautilusd/nautilusd --listen 127.0.0.1:0 --log-format text 2>"$state/nautilusd.log" &
daemon=$!
for _ in $(seq 100); do [ -s "$state/address" ] && break; sleep 0.1; done
"$bin" status
echo
"$bin" engine list
kill -TERM "$daemon"
wait "$daemon"
echo "nautilusd stopped cleanly (exit $?)"
rm -rf "$state"
