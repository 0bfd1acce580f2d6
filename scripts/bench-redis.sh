#!/usr/bin/env bash
# The Redis backend benchmark, in one run against one fresh redis-server on a
# free loopback port (no persistence), for docs/benchmarks.md:
#   1. redis-benchmark XADD, pipelined, same payload size (the server's ceiling)
#   2. the plain hiredis pair (bench/peers/redis_streams_peer.cpp): throughput,
#      then paced at RATE msgs/s
#   3. nautilus bench throughput / latency --backend redis://127.0.0.1:PORT,
#      and latency with 1% urgent mixed into the paced normal flow
# Environment: COUNT (default 500000), RATE (50000), PACED_SECONDS (5),
# SIZE (100), NAUTILUS_BUILD (build/redis-rel), NAUTILUS_JOBS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NAUTILUS_BUILD:-build/redis-rel}
count=${COUNT:-500000}
rate=${RATE:-50000}
paced=${PACED_SECONDS:-5}
size=${SIZE:-100}

for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "bench-redis: $tool not found (run scripts/install-deps.sh)" >&2; exit 1; }
done

echo "== build: Release ($build)" >&2
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNAUTILUS_TESTS=OFF >/dev/null
cmake --build "$build" -j "${NAUTILUS_JOBS:-2}" --target nautilus_cli peer_redis_streams >&2
cli=$(find "$build/apps" -type f -name nautilus -perm -u+x | head -n1)
peer=$(find "$build/bench" -type f -name peer_redis_streams -perm -u+x | head -n1)

# A free port: nothing answers on it.
port=""
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "bench-redis: no free port found" >&2; exit 1; }
dir=$(mktemp -d /tmp/nautilus-bench-redis.XXXXXX)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  --logfile "$dir/redis.log" --daemonize no &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 200); do
  redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
  sleep 0.05
done
redis-cli -p "$port" ping | grep -q PONG || { echo "bench-redis: redis-server did not start" >&2; exit 1; }
url="redis://127.0.0.1:$port"

echo "== machine"
echo "nproc: $(nproc)"
lscpu | head -n 15
echo "redis: $(redis-server --version)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

pad=$(head -c "$size" /dev/zero | tr '\0' x)
echo
echo "== 1. redis-benchmark XADD, pipelined 100, 8 clients, ${size}-byte field ($count)"
redis-benchmark -h 127.0.0.1 -p "$port" -n "$count" -c 8 -P 100 -q XADD rb:stream '*' d "$pad" | tr '\r' '\n' | grep -v '^$' | tail -n 1
redis-cli -p "$port" del rb:stream >/dev/null

echo
echo "== 2a. hiredis pair, throughput ($count x ${size} B)"
"$peer" "$port" throughput "$count" "$size"
echo "== 2b. hiredis pair, paced $rate/s for ${paced}s"
"$peer" "$port" latency "$rate" "$paced" "$size"

echo
echo "== 3a. nautilus bench throughput --backend $url --count $count --size $size"
"$cli" bench throughput --backend "$url" --count "$count" --size "$size"
echo "== 3b. nautilus bench latency --backend $url --rate $rate --duration $paced --size $size"
"$cli" bench latency --backend "$url" --rate "$rate" --duration "$paced" --size "$size"
echo "== 3c. nautilus bench latency --backend $url --rate $rate --duration $paced --mix normal=99,urgent=1"
"$cli" bench latency --backend "$url" --rate "$rate" --duration "$paced" --size "$size" --mix normal=99,urgent=1
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
