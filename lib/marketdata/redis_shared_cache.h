// The shared cache tier on Redis (hiredis): a hash per (type, symbol) with the
// value, its source and fetch time, expiring with the type's TTL, and a
// `SET NX PX` lock per key. Layout in docs/redis-layout.md ("Market data hub
// shared cache"); everything is readable with redis-cli.
//
// A small pool of blocking connections, each command bounded by `timeout_ms`.
// When Redis fails (refused, reset, timeout) the tier is marked down and every
// call answers kError at once for `retry_ms`; then one caller probes again.
// So a dead or hung Redis costs a request at most one timeout, and the hub
// runs local-only meanwhile.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "marketdata/shared_cache.h"

namespace nautilus::md {

struct RedisSharedCacheConfig {
  // redis://[user:password@]host[:port][/db][?prefix=P] (the bus URL syntax;
  // other bus parameters are accepted and ignored).
  std::string url = "redis://127.0.0.1:6379/0";
  int timeout_ms = 100;              // connect, and every command
  int retry_ms = 1000;               // after a failure: local-only this long, then one probe
  std::size_t max_connections = 8;   // callers beyond this wait up to timeout_ms, then go local
};

// Throws std::invalid_argument for a malformed URL or out-of-range setting.
// Does not connect: the first call does.
std::unique_ptr<SharedCache> make_redis_shared_cache(const RedisSharedCacheConfig& config);

// Key names, for tests and tools: <prefix>:hub:{<type>:<symbol>}:data and
// <prefix>:hub:{<type>:<symbol>}:lock[:<source>].
std::string shared_data_key(std::string_view prefix, KeyView key);
std::string shared_lock_key(std::string_view prefix, KeyView key, std::string_view source);

}  // namespace nautilus::md
