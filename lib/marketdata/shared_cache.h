// The hub's second cache tier, shared by every hub instance (distributed mode,
// SPEC section 6): a store of fresh values with a TTL, and a short per-key
// lock so that only one instance calls a source for a key while the others
// wait for its value. The Redis implementation is in redis_shared_cache.h;
// the hub walks local LRU -> this tier -> (lock) -> sources.
//
// Every call returns an outcome and never throws: a tier that cannot be
// reached answers kError at once (or within its short timeout), and the hub
// carries on local-only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "marketdata/data_types.h"

namespace nautilus::md {

enum class SharedOutcome : unsigned char {
  kHit,    // get: a value was there
  kMiss,   // get: nothing (or an unreadable entry)
  kError,  // the tier could not answer: go local-only
};

struct SharedLookup {
  SharedOutcome outcome = SharedOutcome::kMiss;
  DataPtr data;                  // kHit: symbol, type, source, as_of, payload
  std::int64_t fetched_ns = 0;   // kHit: when the instance that fetched it did (wall clock)
};

enum class LockOutcome : unsigned char {
  kAcquired,  // ours until unlock() or the TTL
  kHeld,      // another instance is fetching this key
  kError,
};

// What the tier itself knows about its health; the hub adds its own counts.
struct SharedTierHealth {
  std::string target;           // "redis://127.0.0.1:6379/0 (prefix nautilus)"
  bool up = true;               // false while the tier is skipped after a failure
  std::uint64_t errors = 0;     // commands that failed (connection or error reply)
  std::uint64_t skipped = 0;    // calls answered kError at once because the tier is down or busy
  std::uint64_t reconnects = 0; // connections opened after the first
  std::string last_error;
};

class SharedCache {
 public:
  virtual ~SharedCache() = default;

  virtual SharedLookup get(KeyView key) = 0;
  // Stores `data` (fetched at `fetched_ns`) for `ttl_ns`. False on error.
  virtual bool put(const DataPoint& data, std::int64_t fetched_ns, std::int64_t ttl_ns) = 0;
  // The fetch lock of (key, source); `source` is empty for a request that
  // takes any source. `token` identifies the holder for unlock().
  virtual LockOutcome try_lock(KeyView key, std::string_view source, std::string_view token, std::int64_t ttl_ns) = 0;
  // Releases the lock only if `token` still holds it (an expired lock taken
  // over by another instance stays theirs).
  virtual void unlock(KeyView key, std::string_view source, std::string_view token) = 0;

  virtual SharedTierHealth health() const = 0;
};

}  // namespace nautilus::md
