#!/usr/bin/env bash
# The recorded in-process benchmark run: nautilus and its peer (moodycamel's
# BlockingConcurrentQueue moving the same pooled message pointers) measured in
# one run on this machine, printed as the Markdown that docs/benchmarks.md keeps.
#   scripts/bench.sh [SECONDS]   (default 5 s per latency run)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DNAUTILUS_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" --target nautilus_cli peer_concurrentqueue sched_gap >/dev/null
cli=build/release/apps/nautilus-cli/nautilus
peer=build/release/bench/peers/peer_concurrentqueue
out=build/bench
mkdir -p "$out"

count=5000000
"$cli" --json bench throughput --count $count > "$out/tp.json"
"$peer" throughput $count > "$out/peer_tp.json"
"$cli" --json bench throughput --count $count --publishers 2 --subscribers 2 > "$out/tp22.json"
"$cli" --json bench latency --rate 100000 --duration "$secs" > "$out/lat100k.json"
"$peer" latency 100000 "$secs" > "$out/peer_lat100k.json"
"$cli" --json bench latency --rate 50000 --duration "$secs" > "$out/lat50k.json"
"$peer" latency 50000 "$secs" > "$out/peer_lat50k.json"
"$cli" --json bench latency --rate 100000 --duration "$secs" --priority normal=99,urgent=1 > "$out/lat_mix.json"

build/release/bench/peers/sched_gap 1 3 > "$out/gap1.json"
build/release/bench/peers/sched_gap 2 3 > "$out/gap2.json"

row() {  # name file
  jq -r --arg n "$1" 'def r: (.*10|round)/10; "| \($n) | \(.messages) | \(.throughput_msgs_per_s|floor) | \(.latency_us.p50|r) | \(.latency_us.p90|r) | \(.latency_us.p99|r) | \(.latency_us.p999|r) | \(.latency_us.max|r) | \(.lost) |"' "$2"
}
echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(uname -r); $(date -u +%F)"
echo
echo "| run | messages | msgs/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | lost |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
row "nautilus throughput 1→1" "$out/tp.json"
row "peer throughput 1→1" "$out/peer_tp.json"
row "nautilus throughput 2→2 (fan-out)" "$out/tp22.json"
row "nautilus latency @100k/s" "$out/lat100k.json"
row "peer latency @100k/s" "$out/peer_lat100k.json"
row "nautilus latency @50k/s" "$out/lat50k.json"
row "peer latency @50k/s" "$out/peer_lat50k.json"
row "nautilus latency @100k/s, 1% urgent (all)" "$out/lat_mix.json"
jq -r 'def r: (.*10|round)/10; .by_priority.urgent | "| … urgent only | \(.messages) | | \(.latency_us.p50|r) | \(.latency_us.p90|r) | \(.latency_us.p99|r) | \(.latency_us.p999|r) | \(.latency_us.max|r) | \(.lost) |"' "$out/lat_mix.json"
echo
a=$(jq .throughput_msgs_per_s "$out/tp.json"); b=$(jq .throughput_msgs_per_s "$out/peer_tp.json")
echo "Scheduling noise (bench/tools/sched_gap, busy threads spinning on the clock for 3 s):"
jq -r '"  1 thread: longest gap \(.max_gap_us) µs, \(.gaps_over_200us) gaps over 200 µs"' "$out/gap1.json"
jq -r '"  2 threads, thread \(.thread): longest gap \(.max_gap_us) µs, \(.gaps_over_200us) gaps over 200 µs"' "$out/gap2.json"
echo "Throughput ratio nautilus / peer: $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", a/b}')"
