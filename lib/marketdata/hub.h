// The market data hub: the only component that calls data sources. One cache
// in front of every source; per source a priority, a token-bucket rate limit,
// a circuit breaker and health; a fallback chain per data type (sources that
// serve the type, lowest priority number first); single-flight so concurrent
// misses for one key make one upstream call; optional stale-while-revalidate;
// a per-client prefetch model; and the metrics of SPEC section 6.
//
// In distributed mode (set_shared_cache) a second tier shared by all hub
// instances sits between the local cache and the sources: local LRU -> shared
// tier -> the key's fetch lock -> sources. The lock's winner fetches and
// stores the value for everyone; the others poll the tier for it, and fetch
// themselves if the holder dies or the wait ends. A failing tier costs a
// request at most its short timeout, after which the hub runs local-only.
//
// get() never throws and, on a fresh cache hit, does not allocate. Background
// work (revalidation, prefetch) runs through a Scheduler, by default the hub's
// Clock, so on a SimulatedClock it happens deterministically inside
// advance_to().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/histogram.h"
#include "marketdata/cache.h"
#include "marketdata/circuit_breaker.h"
#include "marketdata/history_reader.h"
#include "marketdata/shared_cache.h"
#include "marketdata/source.h"

namespace nautilus::md {

struct HubConfig {
  CacheConfig cache;
  BreakerConfig breaker;                  // for every source unless overridden in add_source
  bool stale_while_revalidate = false;    // serve a stale entry at once, refresh in the background
  std::int64_t max_stale_ns = 60'000'000'000;  // how old an entry may be to be served stale
  bool serve_stale_on_error = true;       // every source failed: answer with the stale entry
  bool prefetch = true;
  std::uint32_t prefetch_min_count = 2;   // a transition seen this often ...
  double prefetch_min_confidence = 0.5;   // ... and this share of what followed
  std::size_t max_clients = 4096;         // prefetch models kept
  std::size_t max_model_keys = 1'000'000; // keys the prefetch model learns at most
  // Shared tier (only with set_shared_cache): how long one instance may hold
  // a key's fetch lock, and how long the others wait for its value (0: the
  // lock TTL) before they fetch themselves.
  std::int64_t shared_lock_ttl_ns = 2'000'000'000;
  std::int64_t shared_wait_ns = 0;
};

struct GetOptions {
  std::string_view client;  // who asks (engine name); drives the prefetch model
  std::string_view source;  // only this source (and only its cached data)
  bool fresh = false;       // bypass the cache read: always go upstream
};

struct GetResult {
  DataPtr data;                         // null on error
  bool cached = false;                  // answered from the cache
  bool stale = false;                   // the data is older than its TTL
  bool coalesced = false;               // joined another request's upstream call
  bool shared = false;                  // answered from the shared tier (another instance fetched it)
  std::int64_t age_ns = 0;              // time since the data was fetched
  FetchError error = FetchError::kNone;
  std::string message;                  // for errors and degraded answers
  std::int64_t retry_after_ns = 0;      // kRateLimited: when a source has a token again

  bool ok() const { return data != nullptr; }
};

struct SourceStatus {
  std::string name, kind;
  int priority = 0;
  std::vector<DataType> types;
  RateLimit rate_limit;
  std::string health;              // "healthy", "degraded", "down", "disabled (<why>)"
  std::int64_t budget = -1;        // calls the rate limit allows right now (-1: unlimited)
  BreakerState breaker = BreakerState::kClosed;
  std::uint64_t breaker_opened = 0;
  std::uint64_t calls = 0, successes = 0, errors = 0, not_found = 0;
  std::uint64_t rate_limited = 0;  // times the limiter sent a request elsewhere
  std::uint64_t breaker_rejects = 0;
  std::string last_error;
  HistogramSnapshot latency_ns;    // upstream call duration (wall time)
};

struct SharedTierStats {
  bool enabled = false;             // a shared tier is attached
  SharedTierHealth tier;            // target, up/down, errors, skipped calls
  std::uint64_t hits = 0;           // requests answered from the shared tier (waits included)
  std::uint64_t misses = 0;         // looked up, not there
  std::uint64_t puts = 0;           // values stored for the other instances
  std::uint64_t lock_acquired = 0;  // fetch locks won
  std::uint64_t lock_waits = 0;     // another instance held the lock: waited for its value
  std::uint64_t wait_hits = 0;      // ... and got it
  std::uint64_t lock_timeouts = 0;  // ... and gave up waiting: fetched ourselves
  std::uint64_t local_only = 0;     // upstream walks made without the tier because it failed
};

struct HubStats {
  std::uint64_t requests = 0;
  std::uint64_t hits = 0;           // fresh cache hits
  std::uint64_t stale_hits = 0;     // stale-while-revalidate answers
  std::uint64_t misses = 0;
  std::uint64_t coalesced = 0;      // misses that joined an in-flight call
  std::uint64_t upstream_calls = 0; // calls made to sources (prefetch included)
  std::uint64_t upstream_errors = 0;
  std::uint64_t failed_gets = 0;    // gets answered with an error
  std::uint64_t stale_on_error = 0; // gets answered stale because sources failed
  std::uint64_t fallbacks = 0;      // calls answered by a source after an earlier one in the chain
  std::uint64_t rate_limit_waits = 0;
  std::uint64_t breaker_rejects = 0;
  std::uint64_t revalidations = 0;
  std::uint64_t prefetch_issued = 0;
  std::uint64_t prefetch_hits = 0;  // fresh hits on an entry a prefetch filled
  std::uint64_t history_requests = 0;
  std::uint64_t history_from_store = 0;    // answered by the recorded history
  std::uint64_t history_from_sources = 0;  // the store had none: a source answered
  CacheStats cache;
  SharedTierStats shared;
  HistogramSnapshot hit_latency_ns;   // sampled (1 in 64) fresh hits
  HistogramSnapshot miss_latency_ns;  // every miss, end to end

  double hit_rate() const {
    return requests ? static_cast<double>(hits + stale_hits + shared.hits) / static_cast<double>(requests) : 0.0;
  }
  // Requests that needed no upstream call of their own.
  std::uint64_t calls_saved() const { return hits + stale_hits + coalesced + shared.hits; }
};

class Hub {
 public:
  // Runs `fn` at (or soon after) `at_ns`. The default uses the hub's clock.
  using Scheduler = std::function<void(std::int64_t at_ns, std::function<void()> fn)>;

  explicit Hub(Clock& clock, HubConfig config = {}, Scheduler scheduler = {});
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Control plane: throws std::invalid_argument on a duplicate or empty name.
  void add_source(std::unique_ptr<Source> source, std::optional<BreakerConfig> breaker = std::nullopt);
  Source* find_source(std::string_view name) const;
  // Control plane: attaches the shared tier. Call before the first get().
  void set_shared_cache(std::shared_ptr<SharedCache> shared);

  GetResult get(std::string_view symbol, DataType type, const GetOptions& options = {});

  // Control plane: where history is looked up first (null: sources only).
  void set_history(std::shared_ptr<HistoryReader> history);
  // A range of history: the recorded store first; when it has no point in
  // the range, the sources of the type's chain that keep history (breaker and
  // rate limit as for get()). Not cached. Never throws.
  HistoryResult history(const HistoryRequest& request);

  // The sources a request for `type` walks, in order.
  std::vector<std::string> chain(DataType type) const;
  std::vector<SourceStatus> sources() const;
  HubStats stats() const;
  SharedTierStats shared_tier_stats() const;  // stats().shared without copying the histograms
  // Clients waiting on the in-flight upstream call for this key (0: none).
  std::size_t inflight_waiters(KeyView key) const;
  const HubConfig& config() const;
  Clock& clock() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// JSON forms for the control API, `nautilus data ...` and /metrics.
nlohmann::json to_json(const GetResult& r, std::string_view symbol, DataType type);
nlohmann::json to_json(const SourceStatus& s, std::int64_t now_ns);
nlohmann::json to_json(const HubStats& s);
nlohmann::json to_json(const SharedTierStats& s);

}  // namespace nautilus::md
