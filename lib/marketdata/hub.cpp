#include "marketdata/hub.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "marketdata/rate_limiter.h"

namespace nautilus::md {
namespace {

constexpr std::uint32_t kNoKey = UINT32_MAX;
constexpr std::uint64_t kHitSampleMask = 63;  // sample 1 in 64 hits for latency

struct SourceSlot {
  SourceSlot(std::unique_ptr<Source> s, BreakerConfig b)
      : source(std::move(s)), limiter(source->info().rate_limit), breaker(b) {}

  std::unique_ptr<Source> source;
  RateLimiter limiter;
  CircuitBreaker breaker;
  LatencyHistogram latency;
  std::atomic<std::uint64_t> calls{0}, successes{0}, errors{0}, not_found{0}, rate_limited{0},
      breaker_rejects{0};
  std::atomic<bool> last_failed{false};
  mutable std::mutex err_mu;
  std::string last_error;
};

struct Flight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  GetResult result;
  std::atomic<std::size_t> waiters{0};
};

// What followed a key for one client, and after how long.
struct NextCount {
  std::uint32_t next = kNoKey;
  std::uint32_t count = 0;
  double gap_ns = 0;  // running mean of the time to the next request
};
struct Transitions {
  std::uint32_t total = 0;
  std::vector<NextCount> nexts;  // at most kMaxNexts, most frequent kept
};
constexpr std::size_t kMaxNexts = 8;

struct ClientModel {
  std::uint32_t prev = kNoKey;
  std::int64_t prev_ns = 0;
  std::unordered_map<std::uint32_t, Transitions> after;
};

std::string flight_key(KeyView key, std::string_view source) {
  std::string k{to_string(key.type)};
  k += ':';
  k += key.symbol;
  if (!source.empty()) {
    k += '|';
    k += source;
  }
  return k;
}

// Who holds a shared fetch lock: host, process, hub instance (readable in
// redis-cli GET on the lock key).
std::string lock_token_base() {
  static std::atomic<std::uint64_t> instances{0};
  char host[64] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "host") + ":" + std::to_string(::getpid()) + ":hub" +
         std::to_string(instances.fetch_add(1) + 1);
}

constexpr std::int64_t kFirstPollNs = 1'000'000;   // first look at the shared tier after 1 ms ...
constexpr std::int64_t kMaxPollNs = 10'000'000;    // ... then doubling up to every 10 ms

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct Hub::Impl : std::enable_shared_from_this<Hub::Impl> {
  Impl(Clock& c, HubConfig cfg, Scheduler s)
      : clock(c), config(cfg), cache(cfg.cache), scheduler(std::move(s)), token_base(lock_token_base()) {}

  Clock& clock;
  HubConfig config;
  Cache cache;
  Scheduler scheduler;

  std::shared_ptr<SharedCache> shared;  // set before serving; null: local only
  std::shared_ptr<HistoryReader> history_reader;  // set before serving; null: sources only
  std::atomic<std::uint64_t> history_requests{0}, history_from_store{0}, history_from_sources{0};
  const std::string token_base;
  std::atomic<std::uint64_t> token_seq{0};
  std::atomic<std::uint64_t> sh_hits{0}, sh_misses{0}, sh_puts{0}, sh_lock_acquired{0}, sh_lock_waits{0},
      sh_wait_hits{0}, sh_lock_timeouts{0}, sh_local_only{0};

  mutable std::shared_mutex sources_mu;
  std::vector<std::unique_ptr<SourceSlot>> slots;                   // by (priority, name)
  std::array<std::vector<SourceSlot*>, kDataTypeCount> chains{};  // per type

  mutable std::mutex flights_mu;
  std::unordered_map<std::string, std::shared_ptr<Flight>, StringHash, std::equal_to<>> flights;

  mutable std::mutex model_mu;
  std::unordered_map<Key, std::uint32_t, KeyHash, KeyEq> key_ids;
  std::vector<Key> keys;
  std::unordered_map<std::string, ClientModel, StringHash, std::equal_to<>> clients;

  std::atomic<std::uint64_t> requests{0}, hits{0}, stale_hits{0}, misses{0}, coalesced{0}, upstream_calls{0},
      upstream_errors{0}, failed_gets{0}, stale_on_error{0}, fallbacks{0}, rate_limit_waits{0},
      breaker_rejects{0}, revalidations{0}, prefetch_issued{0}, prefetch_hits{0};
  LatencyHistogram hit_latency, miss_latency;

  void schedule(std::int64_t at_ns, std::function<void()> fn) {
    if (scheduler) {
      scheduler(at_ns, std::move(fn));
    } else {
      clock.schedule_at(at_ns, std::move(fn));
    }
  }

  // Whether a call to the slot may go out now: its breaker, then its rate
  // limit (counted either way). Shared by get() and history().
  enum class Admission { kAdmitted, kBreakerOpen, kRateLimited };
  Admission admit(SourceSlot& slot, std::int64_t now) {
    if (!slot.breaker.allow(now)) {
      slot.breaker_rejects.fetch_add(1, std::memory_order_relaxed);
      breaker_rejects.fetch_add(1, std::memory_order_relaxed);
      return Admission::kBreakerOpen;
    }
    if (!slot.limiter.try_acquire(now)) {
      slot.breaker.abandon();
      slot.rate_limited.fetch_add(1, std::memory_order_relaxed);
      rate_limit_waits.fetch_add(1, std::memory_order_relaxed);
      return Admission::kRateLimited;
    }
    return Admission::kAdmitted;
  }

  // What a call that went out says about the source: its breaker, counters
  // and last error.
  void account(SourceSlot& slot, bool ok, FetchError error, const std::string& message) {
    slot.calls.fetch_add(1, std::memory_order_relaxed);
    upstream_calls.fetch_add(1, std::memory_order_relaxed);
    if (ok) {
      slot.breaker.on_success();
      slot.successes.fetch_add(1, std::memory_order_relaxed);
      slot.last_failed.store(false, std::memory_order_relaxed);
      return;
    }
    if (counts_as_failure(error)) {
      slot.breaker.on_failure(clock.now_ns());
      slot.errors.fetch_add(1, std::memory_order_relaxed);
      slot.last_failed.store(true, std::memory_order_relaxed);
      upstream_errors.fetch_add(1, std::memory_order_relaxed);
    } else if (error == FetchError::kRateLimited) {
      slot.breaker.abandon();  // the provider is up, just busy
      slot.rate_limited.fetch_add(1, std::memory_order_relaxed);
    } else {
      slot.breaker.on_success();  // it answered; the answer was "no"
      if (error == FetchError::kNotFound) slot.not_found.fetch_add(1, std::memory_order_relaxed);
    }
    std::lock_guard el(slot.err_mu);
    slot.last_error = std::string(to_string(error)) + ": " + message;
  }

  // Walks the fallback chain for one key. Called by the single flight's leader.
  GetResult walk_chain(KeyView key, std::string_view only_source) {
    GetResult out;
    out.error = FetchError::kUnsupported;
    out.message = "no source serves " + std::string(to_string(key.type));
    std::shared_lock lock(sources_mu);
    const auto& chain = chains[static_cast<std::size_t>(key.type)];
    bool tried_one = false;
    bool matched_source = only_source.empty();
    std::int64_t min_wait = INT64_MAX;
    for (SourceSlot* slot : chain) {
      const SourceInfo& info = slot->source->info();
      if (!only_source.empty() && info.name != only_source) continue;
      matched_source = true;
      std::int64_t now = clock.now_ns();
      const Admission admission = admit(*slot, now);
      if (admission == Admission::kBreakerOpen) {
        if (out.error == FetchError::kUnsupported) {
          out.error = FetchError::kUnavailable;
          out.message = info.name + ": circuit breaker open";
        }
        continue;
      }
      if (admission == Admission::kRateLimited) {
        min_wait = std::min(min_wait, slot->limiter.wait_ns(now));
        if (out.error == FetchError::kUnsupported || out.error == FetchError::kUnavailable) {
          out.error = FetchError::kRateLimited;
          out.message = info.name + ": rate limit reached";
        }
        continue;
      }
      std::int64_t t0 = monotonic_now_ns();
      FetchResult r = slot->source->fetch(key.symbol, key.type, now);
      slot->latency.record_signed(monotonic_now_ns() - t0);
      account(*slot, r.ok(), r.error, r.message);
      if (r.ok()) {
        if (tried_one) fallbacks.fetch_add(1, std::memory_order_relaxed);
        if (r.data->source.empty() || r.data->symbol != key.symbol || r.data->type != key.type) {
          // A source must not poison another key's cache entry; normalise.
          auto fixed = std::make_shared<DataPoint>(*r.data);
          if (fixed->source.empty()) fixed->source = info.name;
          fixed->symbol = std::string(key.symbol);
          fixed->type = key.type;
          r.data = std::move(fixed);
        }
        out = GetResult{};
        out.data = std::move(r.data);
        return out;
      }
      tried_one = true;
      if (r.error == FetchError::kRateLimited && r.retry_after_ns > 0) min_wait = std::min(min_wait, r.retry_after_ns);
      // The most informative error wins: a real answer over "no source".
      if (out.error == FetchError::kUnsupported || out.error == FetchError::kRateLimited ||
          r.error != FetchError::kUnsupported) {
        out.error = r.error;
        out.message = info.name + ": " + r.message;
      }
    }
    if (!matched_source) {
      out.error = FetchError::kNotFound;
      out.message = "no source named '" + std::string(only_source) + "' serves " + std::string(to_string(key.type));
      for (const auto& slot : slots) {
        const SourceInfo& info = slot->source->info();
        if (info.name == only_source && !info.disabled.empty() && info.supports(key.type)) {
          out.error = FetchError::kAuth;  // switched off for want of a key (or another setting)
          out.message = info.name + " is disabled (" + info.disabled + ")";
        }
      }
    }
    if (out.error == FetchError::kRateLimited && min_wait != INT64_MAX) out.retry_after_ns = min_wait;
    return out;
  }

  // A shared-tier value this request may use: fresh by our clock, from an
  // acceptable source.
  bool usable(const SharedLookup& l, KeyView key, std::string_view only_source, GetResult& out) {
    if (l.outcome != SharedOutcome::kHit || !l.data) return false;
    std::int64_t age = std::max<std::int64_t>(0, clock.now_ns() - l.fetched_ns);
    if (age >= config.cache.ttl(key.type)) return false;
    if (!only_source.empty() && l.data->source != only_source) return false;
    out = GetResult{};
    out.data = l.data;
    out.cached = true;
    out.shared = true;
    out.age_ns = age;
    sh_hits.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  GetResult walk_and_share(KeyView key, std::string_view only_source) {
    std::int64_t fetched = clock.now_ns();
    GetResult r = walk_chain(key, only_source);
    if (r.data && shared->put(*r.data, fetched, config.cache.ttl(key.type))) {
      sh_puts.fetch_add(1, std::memory_order_relaxed);
    }
    return r;
  }

  GetResult walk_local_only(KeyView key, std::string_view only_source) {
    sh_local_only.fetch_add(1, std::memory_order_relaxed);
    return walk_chain(key, only_source);
  }

  // The leader's fetch in distributed mode: shared tier, then the key's lock;
  // the winner walks the chain and stores the value, the others wait for it.
  GetResult fetch_via_shared(KeyView key, std::string_view only_source, bool fresh) {
    if (config.cache.ttl(key.type) <= 0) return walk_chain(key, only_source);  // not cached anywhere
    GetResult out;
    if (fresh) return walk_and_share(key, only_source);  // asked for our own call; the others may use it
    SharedLookup l = shared->get(key);
    if (l.outcome == SharedOutcome::kError) return walk_local_only(key, only_source);
    if (usable(l, key, only_source, out)) return out;
    sh_misses.fetch_add(1, std::memory_order_relaxed);

    const std::int64_t lock_ttl = std::max<std::int64_t>(config.shared_lock_ttl_ns, 1'000'000);
    std::string token = token_base + ":" + std::to_string(token_seq.fetch_add(1, std::memory_order_relaxed));
    LockOutcome lock = shared->try_lock(key, only_source, token, lock_ttl);
    const bool waited = lock == LockOutcome::kHeld;
    if (waited) {
      // Another instance is fetching: poll for its value. If its lock goes
      // away without a value (it failed or died), take the lock ourselves.
      sh_lock_waits.fetch_add(1, std::memory_order_relaxed);
      const std::int64_t wait = config.shared_wait_ns > 0 ? config.shared_wait_ns : lock_ttl;
      const std::int64_t deadline = monotonic_now_ns() + wait;
      std::int64_t poll = kFirstPollNs;
      for (;;) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(std::min(poll, std::max<std::int64_t>(0, deadline - monotonic_now_ns()))));
        poll = std::min(poll * 2, kMaxPollNs);
        l = shared->get(key);
        if (l.outcome == SharedOutcome::kError) return walk_local_only(key, only_source);
        if (usable(l, key, only_source, out)) {
          sh_wait_hits.fetch_add(1, std::memory_order_relaxed);
          return out;
        }
        lock = shared->try_lock(key, only_source, token, lock_ttl);
        if (lock != LockOutcome::kHeld) break;
        if (monotonic_now_ns() >= deadline) {
          sh_lock_timeouts.fetch_add(1, std::memory_order_relaxed);
          return walk_and_share(key, only_source);
        }
      }
    }
    if (lock == LockOutcome::kError) return walk_local_only(key, only_source);
    sh_lock_acquired.fetch_add(1, std::memory_order_relaxed);
    // The previous holder stores its value before it unlocks: look once more,
    // or a get that missed just before that store would fetch a second time.
    l = shared->get(key);
    if (usable(l, key, only_source, out)) {
      if (waited) sh_wait_hits.fetch_add(1, std::memory_order_relaxed);
      shared->unlock(key, only_source, token);
      return out;
    }
    out = walk_and_share(key, only_source);
    shared->unlock(key, only_source, token);
    return out;
  }

  // Single flight: one upstream walk per (key, source) at a time.
  GetResult fetch_shared(KeyView key, std::string_view only_source, bool prefetch, bool fresh) {
    std::string fk = flight_key(key, only_source);
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard lock(flights_mu);
      auto it = flights.find(fk);
      if (it != flights.end()) {
        flight = it->second;
        flight->waiters.fetch_add(1, std::memory_order_acq_rel);
      } else {
        // The previous leader fills the cache before it leaves the map, so a
        // fresh entry here means we raced it: no second call.
        if (!fresh) {
          CacheLookup c = cache.get(key, clock.now_ns());
          if (c.fresh && (only_source.empty() || c.data->source == only_source)) {
            GetResult r;
            r.data = std::move(c.data);
            r.cached = true;
            r.coalesced = true;
            r.age_ns = clock.now_ns() - c.stored_ns;
            return r;
          }
        }
        if (prefetch && cache.is_fresh(key, clock.now_ns())) {
          GetResult r;
          r.message = "fresh already";
          return r;
        }
        flight = std::make_shared<Flight>();
        flights.emplace(fk, flight);
        leader = true;
      }
    }
    if (!leader) {
      coalesced.fetch_add(1, std::memory_order_relaxed);
      std::unique_lock fl(flight->mu);
      flight->cv.wait(fl, [&] { return flight->done; });
      GetResult r = flight->result;
      r.coalesced = true;
      if (!r.shared) r.age_ns = 0;  // fetched just now, on our behalf
      flight->waiters.fetch_sub(1, std::memory_order_acq_rel);
      return r;
    }
    GetResult r = shared ? fetch_via_shared(key, only_source, fresh) : walk_chain(key, only_source);
    if (r.data) {
      std::int64_t now = clock.now_ns();
      cache.put(r.data, r.shared ? now - r.age_ns : now, prefetch);
    }
    {
      std::lock_guard lock(flights_mu);
      flights.erase(fk);
    }
    {
      std::lock_guard fl(flight->mu);
      flight->result = r;
      flight->done = true;
    }
    flight->cv.notify_all();
    return r;
  }

  std::uint32_t intern(KeyView key) {
    auto it = key_ids.find(key);
    if (it != key_ids.end()) return it->second;
    if (keys.size() >= config.max_model_keys) return kNoKey;
    auto id = static_cast<std::uint32_t>(keys.size());
    keys.emplace_back(key);
    key_ids.emplace(keys.back(), id);
    return id;
  }

  // Records `key` after the client's previous request and, if the model is
  // confident about what comes next, schedules a fetch timed so the entry is
  // still fresh when the request is expected.
  void learn(std::string_view client, KeyView key, std::int64_t now) {
    if (!config.prefetch || client.empty()) return;
    std::uint32_t predicted = kNoKey;
    std::int64_t at_ns = now;
    {
      std::lock_guard lock(model_mu);
      auto cit = clients.find(client);
      if (cit == clients.end()) {
        if (clients.size() >= config.max_clients) return;
        cit = clients.emplace(std::string(client), ClientModel{}).first;
      }
      ClientModel& m = cit->second;
      std::uint32_t id = intern(key);
      if (id == kNoKey) return;
      if (m.prev != kNoKey) {
        Transitions& t = m.after[m.prev];
        ++t.total;
        auto gap = static_cast<double>(now - m.prev_ns);
        auto nit = std::find_if(t.nexts.begin(), t.nexts.end(), [&](const NextCount& n) { return n.next == id; });
        if (nit != t.nexts.end()) {
          ++nit->count;
          nit->gap_ns += (gap - nit->gap_ns) / nit->count;
        } else if (t.nexts.size() < kMaxNexts) {
          t.nexts.push_back({id, 1, gap});
        } else {
          auto least = std::min_element(t.nexts.begin(), t.nexts.end(),
                                        [](const NextCount& a, const NextCount& b) { return a.count < b.count; });
          *least = {id, 1, gap};
        }
      }
      m.prev = id;
      m.prev_ns = now;
      auto ait = m.after.find(id);
      if (ait == m.after.end() || ait->second.nexts.empty()) return;
      const Transitions& t = ait->second;
      const NextCount& best = *std::max_element(
          t.nexts.begin(), t.nexts.end(), [](const NextCount& a, const NextCount& b) { return a.count < b.count; });
      if (best.count < config.prefetch_min_count ||
          static_cast<double>(best.count) < config.prefetch_min_confidence * static_cast<double>(t.total)) {
        return;
      }
      const Key& next = keys[best.next];
      std::int64_t ttl = config.cache.ttl(next.type);
      auto gap = static_cast<std::int64_t>(best.gap_ns);
      if (cache.is_fresh(next.view(), now + gap)) return;  // still fresh when asked for
      // Fetch late enough that the entry is still fresh at the expected use,
      // half a TTL ahead of it to absorb jitter in the client's timing.
      if (gap > ttl / 2) at_ns = now + gap - ttl / 2;
      predicted = best.next;
    }
    prefetch_issued.fetch_add(1, std::memory_order_relaxed);
    std::weak_ptr<Impl> weak = weak_from_this();
    schedule(at_ns, [weak, predicted] {
      auto self = weak.lock();
      if (!self) return;
      Key k;
      {
        std::lock_guard lock(self->model_mu);
        k = self->keys[predicted];
      }
      self->fetch_shared(k.view(), {}, /*prefetch=*/true, /*fresh=*/false);
    });
  }

  void revalidate(KeyView key) {
    revalidations.fetch_add(1, std::memory_order_relaxed);
    std::weak_ptr<Impl> weak = weak_from_this();
    schedule(clock.now_ns(), [weak, k = Key(key)] {
      auto self = weak.lock();
      if (!self) return;
      self->fetch_shared(k.view(), {}, /*prefetch=*/false, /*fresh=*/false);
    });
  }

  GetResult get(std::string_view symbol, DataType type, const GetOptions& opt) {
    requests.fetch_add(1, std::memory_order_relaxed);
    GetResult out;
    if (!valid_symbol(symbol) || static_cast<std::size_t>(type) >= kDataTypeCount) {
      failed_gets.fetch_add(1, std::memory_order_relaxed);
      out.error = FetchError::kNotFound;
      out.message = "invalid symbol";
      return out;
    }
    KeyView key{symbol, type};
    const std::int64_t now = clock.now_ns();
    CacheLookup c;
    if (!opt.fresh) {
      bool sample = (requests.load(std::memory_order_relaxed) & kHitSampleMask) == 0;
      std::int64_t t0 = sample ? monotonic_now_ns() : 0;
      c = cache.get(key, now);
      bool source_ok = c.data && (opt.source.empty() || c.data->source == opt.source);
      if (c.fresh && source_ok) {
        hits.fetch_add(1, std::memory_order_relaxed);
        if (c.prefetched) prefetch_hits.fetch_add(1, std::memory_order_relaxed);
        out.data = std::move(c.data);
        out.cached = true;
        out.age_ns = now - c.stored_ns;
        if (sample) hit_latency.record_signed(monotonic_now_ns() - t0);
        learn(opt.client, key, now);
        return out;
      }
      if (source_ok && config.stale_while_revalidate && now - c.stored_ns <= config.cache.ttl(type) + config.max_stale_ns) {
        stale_hits.fetch_add(1, std::memory_order_relaxed);
        out.data = c.data;
        out.cached = true;
        out.stale = true;
        out.age_ns = now - c.stored_ns;
        revalidate(key);
        learn(opt.client, key, now);
        return out;
      }
    }
    misses.fetch_add(1, std::memory_order_relaxed);
    std::int64_t t0 = monotonic_now_ns();
    GetResult r = fetch_shared(key, opt.source, /*prefetch=*/false, opt.fresh);
    miss_latency.record_signed(monotonic_now_ns() - t0);
    if (!r.data) {
      bool source_ok = c.data && (opt.source.empty() || c.data->source == opt.source);
      if (source_ok && config.serve_stale_on_error && now - c.stored_ns <= config.cache.ttl(type) + config.max_stale_ns) {
        stale_on_error.fetch_add(1, std::memory_order_relaxed);
        out.data = std::move(c.data);
        out.cached = true;
        out.stale = true;
        out.age_ns = now - c.stored_ns;
        out.message = "stale: " + r.message;
        learn(opt.client, key, now);
        return out;
      }
      failed_gets.fetch_add(1, std::memory_order_relaxed);
    } else if (!r.cached) {
      r.age_ns = 0;
    }
    learn(opt.client, key, now);
    return r;
  }
};

Hub::Hub(Clock& clock, HubConfig config, Scheduler scheduler)
    : impl_(std::make_shared<Impl>(clock, config, std::move(scheduler))) {}

Hub::~Hub() = default;

void Hub::set_shared_cache(std::shared_ptr<SharedCache> shared) { impl_->shared = std::move(shared); }

void Hub::set_history(std::shared_ptr<HistoryReader> history) { impl_->history_reader = std::move(history); }

HistoryResult Hub::history(const HistoryRequest& request) {
  Impl& i = *impl_;
  i.history_requests.fetch_add(1, std::memory_order_relaxed);
  HistoryResult out;
  out.error = FetchError::kNotFound;
  out.message = "no " + std::string(to_string(request.type)) + " history for " + request.symbol;
  if (i.history_reader) {
    try {
      out.points = i.history_reader->read(request);
      if (!out.points.empty()) {
        i.history_from_store.fetch_add(1, std::memory_order_relaxed);
        out.error = FetchError::kNone;
        out.message.clear();
        out.answered_by = "store";
        return out;
      }
    } catch (const std::exception& e) {
      // A failing store is not the end: the sources may still have it.
      out.error = FetchError::kUnavailable;
      out.message = i.history_reader->describe() + ": " + e.what();
    }
  }
  std::shared_lock lock(i.sources_mu);
  for (SourceSlot* slot : i.chains[static_cast<std::size_t>(request.type)]) {
    const std::int64_t now = i.clock.now_ns();
    const auto admission = i.admit(*slot, now);
    if (admission == Impl::Admission::kBreakerOpen) continue;
    if (admission == Impl::Admission::kRateLimited) {
      if (out.error == FetchError::kNotFound) {  // "try later" says more than "nobody has it"
        out.error = FetchError::kRateLimited;
        out.message = slot->source->info().name + ": rate limit reached";
      }
      continue;
    }
    HistoryResult r = slot->source->fetch_history(request, now);
    if (r.error == FetchError::kUnsupported) {
      slot->breaker.abandon();  // not a call the source could answer: neither health nor failure
      continue;
    }
    i.account(*slot, r.ok(), r.error, r.message);
    if (r.ok() && !r.points.empty()) {
      i.history_from_sources.fetch_add(1, std::memory_order_relaxed);
      if (r.answered_by.empty()) r.answered_by = slot->source->info().name;
      return r;
    }
    if (!r.ok() && (out.error == FetchError::kNotFound || r.error != FetchError::kNotFound)) {
      out.error = r.error;
      out.message = slot->source->info().name + ": " + r.message;
    }
  }
  return out;
}

void Hub::add_source(std::unique_ptr<Source> source, std::optional<BreakerConfig> breaker) {
  if (!source) throw std::invalid_argument("null source");
  const SourceInfo& info = source->info();
  if (info.name.empty()) throw std::invalid_argument("a source needs a name");
  std::unique_lock lock(impl_->sources_mu);
  for (const auto& s : impl_->slots) {
    if (s->source->info().name == info.name) throw std::invalid_argument("duplicate source '" + info.name + "'");
  }
  impl_->slots.push_back(std::make_unique<SourceSlot>(std::move(source), breaker.value_or(impl_->config.breaker)));
  std::stable_sort(impl_->slots.begin(), impl_->slots.end(), [](const auto& a, const auto& b) {
    const auto& x = a->source->info();
    const auto& y = b->source->info();
    return x.priority != y.priority ? x.priority < y.priority : x.name < y.name;
  });
  for (auto t : all_data_types()) {
    auto& chain = impl_->chains[static_cast<std::size_t>(t)];
    chain.clear();
    for (const auto& s : impl_->slots) {
      if (s->source->info().supports(t) && s->source->info().disabled.empty()) chain.push_back(s.get());
    }
  }
}

Source* Hub::find_source(std::string_view name) const {
  std::shared_lock lock(impl_->sources_mu);
  for (const auto& s : impl_->slots) {
    if (s->source->info().name == name) return s->source.get();
  }
  return nullptr;
}

GetResult Hub::get(std::string_view symbol, DataType type, const GetOptions& options) {
  return impl_->get(symbol, type, options);
}

std::vector<std::string> Hub::chain(DataType type) const {
  std::shared_lock lock(impl_->sources_mu);
  std::vector<std::string> out;
  for (SourceSlot* s : impl_->chains[static_cast<std::size_t>(type)]) out.push_back(s->source->info().name);
  return out;
}

std::vector<SourceStatus> Hub::sources() const {
  std::shared_lock lock(impl_->sources_mu);
  std::int64_t now = impl_->clock.now_ns();
  std::vector<SourceStatus> out;
  for (const auto& s : impl_->slots) {
    const SourceInfo& info = s->source->info();
    SourceStatus st;
    st.name = info.name;
    st.kind = info.kind;
    st.priority = info.priority;
    st.types = info.types;
    st.rate_limit = info.rate_limit;
    st.breaker = s->breaker.state(now);
    st.breaker_opened = s->breaker.times_opened();
    st.calls = s->calls.load();
    st.successes = s->successes.load();
    st.errors = s->errors.load();
    st.not_found = s->not_found.load();
    st.rate_limited = s->rate_limited.load();
    st.breaker_rejects = s->breaker_rejects.load();
    st.latency_ns = s->latency.snapshot();
    {
      std::lock_guard el(s->err_mu);
      st.last_error = s->last_error;
    }
    st.budget = s->limiter.available(now);
    if (!info.disabled.empty()) {
      st.health = "disabled (" + info.disabled + ")";
    } else if (st.breaker == BreakerState::kOpen) {
      st.health = "down";
    } else if (st.breaker == BreakerState::kHalfOpen || s->last_failed.load()) {
      st.health = "degraded";
    } else {
      st.health = "healthy";
    }
    out.push_back(std::move(st));
  }
  return out;
}

HubStats Hub::stats() const {
  const Impl& i = *impl_;
  HubStats s;
  s.requests = i.requests.load();
  s.hits = i.hits.load();
  s.stale_hits = i.stale_hits.load();
  s.misses = i.misses.load();
  s.coalesced = i.coalesced.load();
  s.upstream_calls = i.upstream_calls.load();
  s.upstream_errors = i.upstream_errors.load();
  s.failed_gets = i.failed_gets.load();
  s.stale_on_error = i.stale_on_error.load();
  s.fallbacks = i.fallbacks.load();
  s.rate_limit_waits = i.rate_limit_waits.load();
  s.breaker_rejects = i.breaker_rejects.load();
  s.revalidations = i.revalidations.load();
  s.prefetch_issued = i.prefetch_issued.load();
  s.prefetch_hits = i.prefetch_hits.load();
  s.history_requests = i.history_requests.load();
  s.history_from_store = i.history_from_store.load();
  s.history_from_sources = i.history_from_sources.load();
  s.cache = i.cache.stats();
  s.shared = shared_tier_stats();
  s.hit_latency_ns = i.hit_latency.snapshot();
  s.miss_latency_ns = i.miss_latency.snapshot();
  return s;
}

SharedTierStats Hub::shared_tier_stats() const {
  const Impl& i = *impl_;
  SharedTierStats s;
  if (!i.shared) return s;
  s.enabled = true;
  s.tier = i.shared->health();
  s.hits = i.sh_hits.load();
  s.misses = i.sh_misses.load();
  s.puts = i.sh_puts.load();
  s.lock_acquired = i.sh_lock_acquired.load();
  s.lock_waits = i.sh_lock_waits.load();
  s.wait_hits = i.sh_wait_hits.load();
  s.lock_timeouts = i.sh_lock_timeouts.load();
  s.local_only = i.sh_local_only.load();
  return s;
}

std::size_t Hub::inflight_waiters(KeyView key) const {
  std::lock_guard lock(impl_->flights_mu);
  auto it = impl_->flights.find(flight_key(key, {}));
  return it == impl_->flights.end() ? 0 : it->second->waiters.load(std::memory_order_acquire);
}

const HubConfig& Hub::config() const { return impl_->config; }
Clock& Hub::clock() const { return impl_->clock; }

namespace {
nlohmann::json latency_us(const HistogramSnapshot& h) {
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  return {{"count", h.count()}, {"p50_us", us(h.percentile(0.50))}, {"p99_us", us(h.percentile(0.99))},
          {"max_us", us(h.max())}, {"mean_us", h.mean() / 1000.0}};
}
}  // namespace

nlohmann::json to_json(const GetResult& r, std::string_view symbol, DataType type) {
  nlohmann::json j = {{"symbol", symbol}, {"type", to_string(type)}};
  if (!r.data) {
    j["error"] = to_string(r.error);
    j["message"] = r.message;
    if (r.retry_after_ns > 0) j["retry_after_ms"] = r.retry_after_ns / 1'000'000;
    return j;
  }
  j["source"] = r.data->source;
  j["cached"] = r.cached;
  j["shared"] = r.shared;
  j["stale"] = r.stale;
  j["age_ms"] = static_cast<double>(r.age_ns) / 1e6;
  j["as_of_ns"] = r.data->as_of_ns;
  auto data = nlohmann::json::parse(r.data->payload, nullptr, /*allow_exceptions=*/false);
  j["data"] = data.is_discarded() ? nlohmann::json(r.data->payload) : data;
  if (!r.message.empty()) j["message"] = r.message;
  return j;
}

nlohmann::json to_json(const SourceStatus& s, std::int64_t) {
  nlohmann::json types = nlohmann::json::array();
  for (auto t : s.types) types.push_back(to_string(t));
  nlohmann::json limit = s.rate_limit.unlimited()
                             ? nlohmann::json(nullptr)
                             : nlohmann::json{{"per_second", s.rate_limit.per_second}, {"burst", s.rate_limit.burst}};
  return {{"name", s.name},
          {"kind", s.kind},
          {"priority", s.priority},
          {"types", types},
          {"rate_limit", limit},
          {"budget", s.budget < 0 ? nlohmann::json(nullptr) : nlohmann::json(s.budget)},
          {"health", s.health},
          {"breaker", to_string(s.breaker)},
          {"breaker_opened", s.breaker_opened},
          {"calls", s.calls},
          {"successes", s.successes},
          {"errors", s.errors},
          {"not_found", s.not_found},
          {"rate_limited", s.rate_limited},
          {"breaker_rejects", s.breaker_rejects},
          {"last_error", s.last_error},
          {"latency", latency_us(s.latency_ns)}};
}

nlohmann::json to_json(const HubStats& s) {
  return {{"requests", s.requests},
          {"hits", s.hits},
          {"stale_hits", s.stale_hits},
          {"misses", s.misses},
          {"coalesced", s.coalesced},
          {"hit_rate", s.hit_rate()},
          {"upstream_calls", s.upstream_calls},
          {"upstream_calls_saved", s.calls_saved()},
          {"upstream_errors", s.upstream_errors},
          {"failed_gets", s.failed_gets},
          {"stale_on_error", s.stale_on_error},
          {"fallbacks", s.fallbacks},
          {"rate_limit_waits", s.rate_limit_waits},
          {"breaker_rejects", s.breaker_rejects},
          {"revalidations", s.revalidations},
          {"prefetch_issued", s.prefetch_issued},
          {"prefetch_hits", s.prefetch_hits},
          {"history", {{"requests", s.history_requests}, {"from_store", s.history_from_store},
                       {"from_sources", s.history_from_sources}}},
          {"cache", {{"size", s.cache.size}, {"capacity", s.cache.capacity}, {"evictions", s.cache.evictions}}},
          {"shared_cache", to_json(s.shared)},
          {"hit_latency", latency_us(s.hit_latency_ns)},
          {"miss_latency", latency_us(s.miss_latency_ns)}};
}

nlohmann::json to_json(const SharedTierStats& s) {
  if (!s.enabled) return {{"enabled", false}};
  return {{"enabled", true},
          {"target", s.tier.target},
          {"state", s.tier.up ? "up" : "down"},
          {"hits", s.hits},
          {"misses", s.misses},
          {"puts", s.puts},
          {"lock_acquired", s.lock_acquired},
          {"lock_waits", s.lock_waits},
          {"wait_hits", s.wait_hits},
          {"lock_timeouts", s.lock_timeouts},
          {"local_only", s.local_only},
          {"redis_errors", s.tier.errors},
          {"skipped", s.tier.skipped},
          {"reconnects", s.tier.reconnects},
          {"last_error", s.tier.last_error}};
}

}  // namespace nautilus::md
