// The Redis Streams backend (redis://): the Bus interface over hiredis, with
// consumer groups, a separate lane for high priorities, dead-lettering, outage
// buffering and reconnects. The key layout is in docs/redis-layout.md; the URL
// query parameters (RedisConfig) are listed there too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bus/bus.h"

namespace nautilus {

struct RedisConfig {
  std::string host = "127.0.0.1";  // the server; on a cluster the first seed node
  int port = 6379;
  // redis+cluster://: a Redis Cluster, reached through these seed nodes (host
  // and port above are the first); keys are routed by hash slot.
  bool cluster = false;
  std::vector<std::pair<std::string, int>> seeds;
  std::string user;      // empty: AUTH with the password only (or none)
  std::string password;  // empty: no AUTH
  int db = 0;

  std::string prefix = "nautilus";        // first part of every key
  int shards = 4;                         // streams per topic family and lane
  std::uint64_t maxlen = 1'000'000;       // XADD MAXLEN ~ per stream
  std::uint64_t dead_maxlen = 100'000;    // MAXLEN ~ of the dead-letter stream
  std::size_t max_batch = 1000;           // XADDs per pipelined write
  int buffer_interval_ms = 0;             // extra wait to fill a normal/low batch
  std::size_t buffer_limit = 100'000;     // publishes held while Redis is away
  std::string group;                      // default consumer group
  std::size_t read_count = 1000;          // XREADGROUP COUNT
  int block_ms = 50;                      // XREADGROUP BLOCK
  int claim_idle_ms = 30'000;             // XAUTOCLAIM min-idle-time
  int max_deliveries = 5;                 // then dead-letter
  int attempts = 10;                      // reconnects before ERROR
  int backoff_ms = 100;                   // first reconnect delay, doubled each time
  int backoff_max_ms = 5'000;
  int connect_timeout_ms = 1'000;
  int discover_ms = 1'000;                // how often wildcard families re-list streams
  std::int64_t max_age_ms = 0;            // > 0: streams also trimmed by age (XTRIM MINID ~), beside maxlen
  int monitor_ms = 1'000;                 // how often group lag, pending and losses are read (XINFO)
  bool high_reader = true;                // one server: high lanes read on a connection and thread of their own
  int wait_replicas = 0;                  // > 0: a write counts once this many replicas have it (WAIT)
  int wait_timeout_ms = 1'000;            // WAIT's timeout; not met: the entries are sent again
};

// Parses redis://[user:password@]host:port[/db][?key=value&...] and
// redis+cluster://[user:password@]host:port[,host:port...][?key=value&...]
// (no /db: a cluster has only db 0). Throws std::invalid_argument for anything
// malformed or unknown.
RedisConfig parse_redis_url(std::string_view url);

// Delay before reconnect attempt `attempt` (1-based): backoff_ms * 2^(attempt-1),
// capped at backoff_max_ms.
int reconnect_delay_ms(const RedisConfig& config, int attempt);

std::unique_ptr<Bus> make_redis_bus(std::string_view url, BusOptions options = {});
std::unique_ptr<Bus> make_redis_bus(RedisConfig config, BusOptions options = {});

}  // namespace nautilus
