#!/usr/bin/env bash
# nautilus beside its peers, all measured in ONE run on this machine, written
# into docs/benchmarks.md as the section "Peers (one run)":
#   in-process tier:    nautilus inproc://      vs NATS core (bench/peers/nats_peer.cpp)
#   at-least-once tier: nautilus redis://       vs NATS JetStream (file storage,
#                       explicit ack) and the plain hiredis XADD/XREADGROUP pair
# Same payload size, message count and paced rates everywhere; latency is
# publish -> handler from the same log-linear histogram (lib/core/histogram.h).
# Starts its own redis-server and nats-server on free loopback ports and stops
# them at the end.
#   scripts/bench-peers.sh [SECONDS]     seconds per paced run (default 5)
# Environment: COUNT (1000000 per throughput run), SIZE (100 bytes),
# NAUTILUS_BUILD (build/peers-rel), NAUTILUS_JOBS (2), WRITE_DOCS (1; 0 = print only),
# REPORT_ONLY (1 = no runs: rebuild the tables from the last run's JSON in
# $NAUTILUS_BUILD/bench-peers).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
count=${COUNT:-1000000}
size=${SIZE:-100}
build=${NAUTILUS_BUILD:-build/peers-rel}
doc=docs/benchmarks.md
command_line="COUNT=$count SIZE=$size scripts/bench-peers.sh $secs"
[[ $secs =~ ^[0-9]+$ && $secs -ge 1 ]] || { echo "bench-peers: SECONDS must be a positive integer" >&2; exit 2; }

out=$build/bench-peers
measure() {
for tool in redis-server redis-cli nats-server jq cmake ninja; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
    { echo "bench-peers: $tool not found (run scripts/install-deps.sh)" >&2; exit 1; }
done
nats_server=$(command -v nats-server || echo /usr/sbin/nats-server)

echo "== build: Release ($build)" >&2
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNAUTILUS_TESTS=OFF >/dev/null
cmake --build "$build" -j "${NAUTILUS_JOBS:-2}" --target nautilus_cli peer_redis_streams peer_nats sched_gap >&2
cli=$build/apps/nautilus-cli/nautilus
redis_peer=$build/bench/peers/peer_redis_streams
nats_peer=$build/bench/peers/peer_nats
[ -x "$nats_peer" ] || { echo "bench-peers: $nats_peer was not built (libnats-dev missing?)" >&2; exit 1; }

free_port() {
  for _ in $(seq 1 100); do
    local p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "bench-peers: no free port found" >&2; exit 1
}
tmp=$(mktemp -d /tmp/nautilus-bench-peers.XXXXXX)
redis_pid=""; nats_pid=""
cleanup() {
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  if [ -n "$nats_pid" ]; then kill "$nats_pid" 2>/dev/null || true; wait "$nats_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

redis_port=$(free_port); [ -n "$redis_port" ] || exit 1
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  --logfile "$tmp/redis.log" --daemonize no &
redis_pid=$!
nats_port=$(free_port); [ -n "$nats_port" ] || exit 1
mkdir -p "$tmp/js"
"$nats_server" -a 127.0.0.1 -p "$nats_port" -js -sd "$tmp/js" -l "$tmp/nats.log" &
nats_pid=$!
for _ in $(seq 1 200); do
  redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break
  sleep 0.05
done
redis-cli -p "$redis_port" ping | grep -q PONG || { echo "bench-peers: redis-server did not start" >&2; exit 1; }
redis_url="redis://127.0.0.1:$redis_port"
nats_url="nats://127.0.0.1:$nats_port"

rm -rf "$out"; mkdir -p "$out"
cut -d' ' -f1-3 /proc/loadavg > "$out/load_start"

# run NAME COMMAND...: one JSON object into $out/NAME.json; a failed run is
# recorded (and shown as failed), not fatal.
run() {
  local name=$1; shift
  echo "== $name: $*" >&2
  sleep 1  # let the previous run's servers and page cache settle
  [[ $* == *"$redis_url"* || $name == hiredis* ]] && redis-cli -p "$redis_port" flushall >/dev/null
  local rc=0
  "$@" > "$out/$name.json" 2> "$out/$name.err" || rc=$?
  if ! jq -e . "$out/$name.json" >/dev/null 2>&1; then
    echo "bench-peers: $name failed (exit $rc): $(tail -n 2 "$out/$name.err")" >&2
    echo '{"failed":true}' > "$out/$name.json"
  elif [ "$rc" -ne 0 ]; then
    echo "bench-peers: $name exit $rc (lost or refused messages; see the table)" >&2
  fi
  jq -c '{messages, throughput_msgs_per_s, lost, latency_us: {p50: .latency_us.p50, p99: .latency_us.p99}}' \
    "$out/$name.json" >&2 || true
}

# In-process tier: nautilus inproc:// and NATS core, alternating.
run n_tp       "$cli" --json bench throughput --count "$count" --size "$size"
run core_tp    "$nats_peer" --url "$nats_url" core throughput "$count" "$size"
run n_lat50    "$cli" --json bench latency --rate 50000 --duration "$secs" --size "$size"
run core_lat50 "$nats_peer" --url "$nats_url" core latency 50000 "$secs" "$size"
run n_lat100   "$cli" --json bench latency --rate 100000 --duration "$secs" --size "$size"
run core_lat100 "$nats_peer" --url "$nats_url" core latency 100000 "$secs" "$size"
run core_tp_buffered "$nats_peer" --url "$nats_url" --no-send-asap core throughput "$count" "$size"
# At-least-once tier: nautilus on Redis, the hiredis pair, JetStream.
run r_tp       "$cli" --json bench throughput --backend "$redis_url" --count "$count" --size "$size" --drain-timeout 300
run hiredis_tp "$redis_peer" "$redis_port" throughput "$count" "$size"
run js_tp      "$nats_peer" --url "$nats_url" --drain-timeout 300 jetstream throughput "$count" "$size"
run r_lat50    "$cli" --json bench latency --backend "$redis_url" --rate 50000 --duration "$secs" --size "$size" --drain-timeout 300
run hiredis_lat50 "$redis_peer" "$redis_port" latency 50000 "$secs" "$size"
run js_lat50   "$nats_peer" --url "$nats_url" --drain-timeout 300 jetstream latency 50000 "$secs" "$size"
"$build/bench/peers/sched_gap" 1 3 > "$out/gap1.json"
cut -d' ' -f1-3 /proc/loadavg > "$out/load_end"
local tree
tree=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- lib apps bench 2>/dev/null || tree="$tree with uncommitted edits in lib/apps/bench"
printf 'count=%s\nsecs=%s\nsize=%s\nrun_date=%s\ntree=%q\ncommand_line=%q\n' "$count" "$secs" "$size" \
  "$(date -u +%F)" "$tree" "$command_line" > "$out/params"
}
if [ "${REPORT_ONLY:-0}" = 1 ]; then
  [ -f "$out/params" ] || { echo "bench-peers: no previous run in $out" >&2; exit 1; }
  . "$out/params"
else
  measure
fi
. "$out/params"
load_start=$(cat "$out/load_start"); load_end=$(cat "$out/load_end")
nats_server=$(command -v nats-server || echo /usr/sbin/nats-server)

# --- the Markdown ----------------------------------------------------------
# Latency in µs below 1 ms, ms below 1 s, else s; counts with thousands commas.
jqlib='
def commas: tostring | [match("(\\d)(?=(\\d{3})+$)"; "g")] as $m | . as $s
  | reduce ($m | reverse[]) as $x ($s; .[0:$x.offset+1] + "," + .[$x.offset+1:]);
def n: if . == null then "—" else floor | commas end;
def lat: if . == null then "—" elif . < 1000 then "\((.*10|round)/10) µs"
  elif . < 1000000 then "\((./10|round)/100) ms" else "\((./10000|round)/100) s" end;
def ratio($a; $b): if $a == null or $b == null or $b == 0 then "—" else "\(($a/$b*100|round)/100)" end;'

row() {  # label file command
  jq -r --arg l "$1" --arg c "$3" "$jqlib"'
    if .failed then "| \($l) | failed | | | | | | | | `\($c)` |" else
    "| \($l) | \(.messages|n) | \(.throughput_msgs_per_s|n) | \(.latency_us.p50|lat) | \(.latency_us.p90|lat) | \(.latency_us.p99|lat) | \(.latency_us.p999|lat) | \(.latency_us.max|lat) | \(.lost // "—")/\(.duplicated // "—") | `\($c)` |" end' \
    "$out/$2.json"
}
cmp_row() {  # label nautilus-file peer-file paced(0|1)
  jq -rn --arg l "$1" --argjson p "$4" --slurpfile a "$out/$2.json" --slurpfile b "$out/$3.json" "$jqlib"'
    ($a[0]) as $x | ($b[0]) as $y
    | "| \($l) | \($x.throughput_msgs_per_s|n) | \($y.throughput_msgs_per_s|n) | \(ratio($x.throughput_msgs_per_s; $y.throughput_msgs_per_s)) | "
      + (if $p == 1 then "\($x.latency_us.p99|lat) | \($y.latency_us.p99|lat) | \(ratio($x.latency_us.p99; $y.latency_us.p99)) |"
         else "— | — | — |" end)'
}
goal() {  # text kind(tp|lat) nautilus-file peer-file jq-path
  jq -rn --arg t "$1" --arg k "$2" --slurpfile a "$out/$3.json" --slurpfile b "$out/$4.json" "$jqlib"'
    ($a[0] | '"$5"') as $x | ($b[0] | '"$5"') as $y
    | if $x == null or $y == null then "- \($t): **not measured** (a run failed)"
      elif $k == "tp" then
        (if $x >= $y then "**met**" else "**not met**, \((100 - $x/$y*100)|round)% short" end) as $v
        | "- \($t): \($v) (\($x|n) vs \($y|n) msgs/s, ratio \(ratio($x; $y)))"
      else
        (if $x < $y then "**met**" else "**not met**, \(($x/$y*100 - 100)|round)% higher" end) as $v
        | "- \($t): \($v) (\($x|lat) vs \($y|lat), ratio \(ratio($x; $y)))"
      end'
}

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n1)
section=$out/section.md
{
  echo "## Peers (one run)"
  echo
  echo "Generated by \`scripts/bench-peers.sh\` on $run_date: every row below comes"
  echo "from the same run, back to back, on one machine. Command:"
  echo
  echo '```sh'
  echo "$command_line"
  echo '```'
  echo
  echo "Source: commit ${tree:-unknown}, Release build."
  echo "Machine: nproc $(nproc), $cpu, kernel $(uname -r); load average $load_start at the"
  echo "start, $load_end at the end (1/5/15 min). $(redis-server --version | grep -o 'v=[0-9.]*' | sed 's/v=/Redis /'),"
  echo "$("$nats_server" --version | sed 's/nats-server: v/nats-server /'), libnats $(pkg-config --modversion libnats 2>/dev/null || echo '?');"
  echo "Redis without persistence; JetStream with file storage (nats-server's default: no fsync per message)."
  jq -r '"Scheduling noise: one thread spinning on the clock for 3 s lost the CPU for up to \(.max_gap_us) µs, \(.gaps_over_200us) times over 200 µs."' "$out/gap1.json" 2>/dev/null || true
  echo
  echo "Peers: NATS core = plain subject publish/subscribe; NATS JetStream = a FILE-storage"
  echo "stream, \`js_PublishAsync\` (window 65,536), a durable push consumer with explicit"
  echo "ack of each message after its handler ran (max ack pending 65,536); both on"
  echo "their own publisher and subscriber connections with send-asap on. The hiredis"
  echo "pair = pipelined XADD batches, XREADGROUP COUNT 1000, XACK per batch."
  echo "Payload ${size} bytes, ${count} messages per throughput run, paced runs ${secs} s."
  echo "Throughput runs: msgs/s = messages ÷ time to the last delivery, and the"
  echo "latency columns are backlog (queueing) time, not a per-message cost."
  echo
  echo "| run | messages | msgs/s | p50 | p90 | p99 | p99.9 | max | lost/dup | command |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  row "nautilus inproc, throughput" n_tp "nautilus bench throughput --count $count --size $size"
  row "NATS core, throughput" core_tp "peer_nats core throughput $count $size"
  row "nautilus inproc, paced 50k/s" n_lat50 "nautilus bench latency --rate 50000 --duration $secs"
  row "NATS core, paced 50k/s" core_lat50 "peer_nats core latency 50000 $secs"
  row "nautilus inproc, paced 100k/s" n_lat100 "nautilus bench latency --rate 100000 --duration $secs"
  row "NATS core, paced 100k/s" core_lat100 "peer_nats core latency 100000 $secs"
  row "NATS core, throughput, default buffering (no send-asap; not compared)" core_tp_buffered "peer_nats --no-send-asap core throughput $count"
  row "nautilus on Redis, throughput" r_tp "nautilus bench throughput --backend redis://… --count $count"
  row "hiredis pair, throughput" hiredis_tp "peer_redis_streams PORT throughput $count $size"
  row "NATS JetStream, throughput" js_tp "peer_nats jetstream throughput $count $size"
  row "nautilus on Redis, paced 50k/s" r_lat50 "nautilus bench latency --backend redis://… --rate 50000 --duration $secs"
  row "hiredis pair, paced 50k/s" hiredis_lat50 "peer_redis_streams PORT latency 50000 $secs $size"
  row "NATS JetStream, paced 50k/s" js_lat50 "peer_nats jetstream latency 50000 $secs $size"
  echo
  echo "Ratios, nautilus ÷ peer (throughput: > 1 is nautilus ahead; p99: < 1 is nautilus ahead):"
  echo
  echo "| comparison | nautilus msgs/s | peer msgs/s | ratio | nautilus p99 | peer p99 | ratio |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  cmp_row "inproc vs NATS core, throughput" n_tp core_tp 0
  cmp_row "inproc vs NATS core, paced 50k/s" n_lat50 core_lat50 1
  cmp_row "inproc vs NATS core, paced 100k/s" n_lat100 core_lat100 1
  cmp_row "Redis vs NATS JetStream, throughput" r_tp js_tp 0
  cmp_row "Redis vs NATS JetStream, paced 50k/s" r_lat50 js_lat50 1
  cmp_row "Redis vs hiredis pair, throughput" r_tp hiredis_tp 0
  cmp_row "Redis vs hiredis pair, paced 50k/s" r_lat50 hiredis_lat50 1
  echo
  echo "Goals (issue 7), from this run:"
  echo
  goal "nautilus-on-Redis at-least-once throughput ≥ NATS JetStream's" tp r_tp js_tp .throughput_msgs_per_s
  goal "nautilus-on-Redis paced-50k p99 below NATS JetStream's" lat r_lat50 js_lat50 .latency_us.p99
  goal "in-process nautilus ahead of NATS core on throughput" tp n_tp core_tp .throughput_msgs_per_s
  goal "in-process nautilus p99 below NATS core's at 50k/s" lat n_lat50 core_lat50 .latency_us.p99
  goal "in-process nautilus p99 below NATS core's at 100k/s" lat n_lat100 core_lat100 .latency_us.p99
} > "$section"

cat "$section"

# Replace the section in docs/benchmarks.md (or append it), keeping the
# hand-written analysis between the <!-- peers-notes --> markers of the old one.
if [ "${WRITE_DOCS:-1}" = 1 ]; then
  awk -v new="$section" '
    function emit(   line) {
      while ((getline line < new) > 0) print line
      if (notes != "") { print ""; printf "%s", notes }
      done = 1
    }
    /^## Peers \(one run\)/ { insec = 1; next }
    insec && /^## / { emit(); insec = 0; print ""; print; next }
    insec && /<!-- peers-notes -->/ { innotes = 1 }
    insec { if (innotes) notes = notes $0 "\n"; if (/<!-- \/peers-notes -->/) innotes = 0; next }
    { print }
    END { if (insec || !done) { if (!insec) print ""; emit() } }
  ' "$doc" > "$out/benchmarks.md"
  cp "$out/benchmarks.md" "$doc"
  echo "bench-peers: section \"Peers (one run)\" written to $doc" >&2
fi
