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
