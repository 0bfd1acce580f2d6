#!/usr/bin/env bash
# The recorded in-process benchmark: nautilus and its peer (moodycamel's
# BlockingConcurrentQueue moving the same pooled message pointers), each case
# run RUNS times (default 5) in interleaved rounds, summarised as median and
# min–max, with each goal's count of runs in which it held. The build is made
# from `git archive` of one commit (default HEAD), so the figures belong to
# that commit and to no uncommitted edit in the working tree. Prints the
# Markdown that docs/benchmarks.md keeps; raw JSON of every run in build/bench.
#   scripts/bench.sh [SECONDS]        (default 5 s per latency run)
#   RUNS=5 COMMIT=HEAD COUNT=5000000 scripts/bench.sh
#   BENCH_BUILD=build/x scripts/bench.sh   (an existing build instead, e.g. to try
#   the script; the report then names that directory, not a commit)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
secs=${1:-5}
runs=${RUNS:-5}
count=${COUNT:-5000000}
commit=$(git rev-parse --short=12 "${COMMIT:-HEAD}")
jobs=${NAUTILUS_JOBS:-$(nproc)}
scripts/install-deps.sh

if [ -n "${BENCH_BUILD:-}" ]; then
  bld=$(cd "$BENCH_BUILD" && pwd)
  source_line="build directory $BENCH_BUILD as it was (not built from a commit by this script)"
  cmake --build "$bld" -j "$jobs" --target nautilus_cli peer_concurrentqueue sched_gap >/dev/null
else
  src=$root/build/bench-src-$commit
  bld=$root/build/bench-rel-$commit
  if [ ! -f "$src/CMakeLists.txt" ]; then
    rm -rf "$src"
    mkdir -p "$src"
    git archive "$commit" | tar -x -C "$src"
  fi
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S "$src" -B "$bld" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNAUTILUS_TESTS=OFF "${launcher[@]}" >/dev/null
  cmake --build "$bld" -j "$jobs" --target nautilus_cli peer_concurrentqueue sched_gap >/dev/null
  source_line="commit $commit (\`git archive\`, Release build)"
fi
cli=$bld/apps/nautilus-cli/nautilus
peer=$bld/bench/peers/peer_concurrentqueue
out=$root/build/bench
rm -rf "$out"
mkdir -p "$out"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# Interleaved rounds: every case once per round, so a noisy minute of the
# machine lands on all cases rather than on all runs of one.
for ((r = 1; r <= runs; r++)); do
  echo "bench: round $r of $runs" >&2
  "$cli" --json bench throughput --count "$count" > "$out/tp.$r.json"
  "$peer" throughput "$count" > "$out/peer_tp.$r.json"
  "$cli" --json bench throughput --count "$count" --publishers 2 --subscribers 2 > "$out/tp22.$r.json"
  "$cli" --json bench latency --rate 100000 --duration "$secs" > "$out/lat100k.$r.json"
  "$peer" latency 100000 "$secs" > "$out/peer_lat100k.$r.json"
  "$cli" --json bench latency --rate 50000 --duration "$secs" > "$out/lat50k.$r.json"
  "$peer" latency 50000 "$secs" > "$out/peer_lat50k.$r.json"
  "$cli" --json bench latency --rate 100000 --duration "$secs" --priority normal=99,urgent=1 > "$out/lat_mix.$r.json"
  "$bld/bench/peers/sched_gap" 1 3 > "$out/gap1.$r.json"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# All runs of a case as one JSON array (optionally a sub-object, e.g. .by_priority.urgent).
runs_of() { jq -s "map(${2:-.})" "$out/$1".*.json; }
# median (middle value; mean of the middle two for an even count), min, max
stats='def med: sort | if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
       def r: (.*10|round)/10;
       def col(f): map(f) | "\(med|r) (\(min|r)–\(max|r))";'
row() {  # label case [sub-object]
  runs_of "$2" "${3:-}" | jq -r --arg n "$1" "$stats"'
    "| \($n) | \(.[0].messages) | \(col(.throughput_msgs_per_s|floor)) | \(col(.latency_us.p50)) | \(col(.latency_us.p99)) | \(col(.latency_us.p999)) | \(col(.latency_us.max)) | \(map(.lost)|add) |"'
}
# In how many runs `cond` (a jq filter on one run's JSON) held.
held() { runs_of "$1" | jq -r "map(select($2)) | length"; }

echo "Source: $source_line. Command: \`RUNS=$runs COUNT=$count scripts/bench.sh $secs\`."
echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r); $(date -u +%F);" \
     "load average $load_start at the start, $load_end at the end (1/5/15 min)."
echo
echo "Each cell: median of $runs runs (min–max). msgs/s floored, latencies in µs; lost = sum over the runs."
echo
echo "| run | messages | msgs/s | p50 µs | p99 µs | p99.9 µs | max µs | lost |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
row "nautilus throughput 1→1" tp
row "peer throughput 1→1" peer_tp
row "nautilus throughput 2→2 (fan-out)" tp22
row "nautilus latency @100k/s" lat100k
row "peer latency @100k/s" peer_lat100k
row "nautilus latency @50k/s" lat50k
row "peer latency @50k/s" peer_lat50k
row "nautilus latency @100k/s, 1% urgent (all)" lat_mix
runs_of lat_mix .by_priority.urgent | jq -r "$stats"'
  "| … urgent only | \(.[0].messages) | | \(col(.latency_us.p50)) | \(col(.latency_us.p99)) | \(col(.latency_us.p999)) | \(col(.latency_us.max)) | \(map(.lost)|add) |"'
echo
# Throughput ratio per round (nautilus and peer of the same round).
ratios=$(paste <(runs_of tp | jq -c 'map(.throughput_msgs_per_s)') <(runs_of peer_tp | jq -c 'map(.throughput_msgs_per_s)') |
  jq -sc '[.[0], .[1]] | transpose | map(.[0] / .[1])')
echo "Throughput ratio nautilus ÷ peer, per round: $(jq -r "$stats"' map(.*100|round/100) | "\(med) (\(min)–\(max))"' <<<"$ratios")."
echo "Scheduling noise (bench/tools/sched_gap, one thread spinning on the clock for 3 s), per round:" \
     "$(runs_of gap1 | jq -r 'map("\(.max_gap_us) µs longest, \(.gaps_over_200us) gaps > 200 µs") | join("; ")')."
echo
echo "Goals (foundation issue), in how many of $runs runs each held:"
echo "- throughput 1→1 ≥ 5,000,000 msgs/s: $(held tp '.throughput_msgs_per_s >= 5000000') of $runs"
echo "- at least half the peer's throughput in the same round: $(jq 'map(select(. >= 0.5)) | length' <<<"$ratios") of $runs"
echo "- paced 100,000 msgs/s p50 ≤ 2 µs: $(held lat100k '.latency_us.p50 <= 2') of $runs"
echo "- paced 100,000 msgs/s p99 ≤ 50 µs: $(held lat100k '.latency_us.p99 <= 50') of $runs"
echo "- paced 100,000 msgs/s, nothing lost: $(held lat100k '.lost == 0') of $runs"
