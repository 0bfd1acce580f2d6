#include "marketdata/redis_shared_cache.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "bus/redis_bus.h"
#include "core/clock.h"

namespace nautilus::md {
namespace {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;
using Command = std::vector<std::string_view>;

// Deletes the lock only if it is still ours: a lock that expired and was
// taken by another instance must not be released by the late first holder.
constexpr const char* kUnlockScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

std::string_view text_of(const redisReply* r) {
  if (!r || !r->str) return {};
  return {r->str, r->len};
}

bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

timeval to_timeval(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

std::string key_base(std::string_view prefix, KeyView key) {
  std::string k(prefix);
  k += ":hub:{";
  k += to_string(key.type);
  k += ':';
  k += key.symbol;
  k += '}';
  return k;
}

class RedisSharedCache final : public SharedCache {
 public:
  RedisSharedCache(RedisConfig redis, const RedisSharedCacheConfig& c)
      : redis_(std::move(redis)), config_(c) {
    target_ = "redis://" + redis_.host + ":" + std::to_string(redis_.port) + "/" + std::to_string(redis_.db) +
              " (prefix " + redis_.prefix + ")";
  }

  ~RedisSharedCache() override {
    std::lock_guard lock(mu_);
    for (redisContext* c : idle_) redisFree(c);
  }

  SharedLookup get(KeyView key) override {
    SharedLookup out;
    std::string k = shared_data_key(redis_.prefix, key);
    auto replies = run({{"HMGET", k, "source", "fetched_ns", "as_of_ns", "payload"}});
    if (replies.empty() || replies[0]->type == REDIS_REPLY_ERROR) {
      out.outcome = SharedOutcome::kError;
      return out;
    }
    const redisReply* r = replies[0].get();
    out.outcome = SharedOutcome::kMiss;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) return out;
    for (std::size_t i = 0; i < 4; ++i) {
      if (r->element[i]->type != REDIS_REPLY_STRING) return out;  // absent (nil) or foreign: a miss
    }
    std::int64_t fetched = 0, as_of = 0;
    if (!parse_int(text_of(r->element[1]), fetched) || !parse_int(text_of(r->element[2]), as_of)) return out;
    auto d = std::make_shared<DataPoint>();
    d->symbol = std::string(key.symbol);
    d->type = key.type;
    d->source = std::string(text_of(r->element[0]));
    d->as_of_ns = as_of;
    d->payload = std::string(text_of(r->element[3]));
    out.outcome = SharedOutcome::kHit;
    out.data = std::move(d);
    out.fetched_ns = fetched;
    return out;
  }

  bool put(const DataPoint& data, std::int64_t fetched_ns, std::int64_t ttl_ns) override {
    std::string k = shared_data_key(redis_.prefix, {data.symbol, data.type});
    std::string fetched = std::to_string(fetched_ns), as_of = std::to_string(data.as_of_ns);
    std::string ttl_ms = std::to_string(std::max<std::int64_t>(1, ttl_ns / 1'000'000));
    // One transaction: the value and its expiry appear together or not at all.
    auto replies = run({{"MULTI"},
                        {"HSET", k, "source", data.source, "fetched_ns", fetched, "as_of_ns", as_of, "payload",
                         data.payload},
                        {"PEXPIRE", k, ttl_ms},
                        {"EXEC"}});
    if (replies.size() != 4) return false;
    const redisReply* exec = replies[3].get();
    if (exec->type != REDIS_REPLY_ARRAY) return false;  // EXECABORT: counted by run()
    for (std::size_t i = 0; i < exec->elements; ++i) {
      if (exec->element[i]->type == REDIS_REPLY_ERROR) {
        note_error_reply(exec->element[i]);
        return false;
      }
    }
    return true;
  }

  LockOutcome try_lock(KeyView key, std::string_view source, std::string_view token, std::int64_t ttl_ns) override {
    std::string k = shared_lock_key(redis_.prefix, key, source);
    std::string ttl_ms = std::to_string(std::max<std::int64_t>(1, ttl_ns / 1'000'000));
    auto replies = run({{"SET", k, token, "NX", "PX", ttl_ms}});
    if (replies.empty() || replies[0]->type == REDIS_REPLY_ERROR) return LockOutcome::kError;
    const redisReply* r = replies[0].get();
    if (r->type == REDIS_REPLY_STATUS && text_of(r) == "OK") return LockOutcome::kAcquired;
    return LockOutcome::kHeld;  // nil: NX refused
  }

  void unlock(KeyView key, std::string_view source, std::string_view token) override {
    std::string k = shared_lock_key(redis_.prefix, key, source);
    (void)run({{"EVAL", kUnlockScript, "1", k, token}});  // on failure the PX expiry frees it
  }

  SharedTierHealth health() const override {
    SharedTierHealth h;
    h.target = target_;
    h.up = down_until_ns_.load(std::memory_order_acquire) == 0;
    h.errors = errors_.load(std::memory_order_relaxed);
    h.skipped = skipped_.load(std::memory_order_relaxed);
    h.reconnects = reconnects_.load(std::memory_order_relaxed);
    std::lock_guard lock(err_mu_);
    h.last_error = last_error_;
    return h;
  }

 private:
  // Pipelines `cmds` on one pooled connection; one reply per command, or
  // none when the tier could not answer (down, busy, broken connection).
  // Error replies are returned (and counted) for the caller to judge.
  std::vector<Reply> run(const std::vector<Command>& cmds) {
    std::vector<Reply> out;
    redisContext* c = acquire();
    if (!c) return out;
    for (const auto& cmd : cmds) {
      std::vector<const char*> argv;
      std::vector<std::size_t> lens;
      argv.reserve(cmd.size());
      lens.reserve(cmd.size());
      for (auto a : cmd) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      if (redisAppendCommandArgv(c, static_cast<int>(cmd.size()), argv.data(), lens.data()) != REDIS_OK) {
        fail(c);
        return {};
      }
    }
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK || !raw) {
        fail(c);
        return {};
      }
      Reply r(static_cast<redisReply*>(raw));
      if (r->type == REDIS_REPLY_ERROR) note_error_reply(r.get());
      out.push_back(std::move(r));
    }
    release(c);
    return out;
  }

  // May this call use Redis? While the tier is down, no, except for one
  // caller per retry period, which probes.
  bool admit() {
    std::int64_t until = down_until_ns_.load(std::memory_order_acquire);
    if (until == 0) return true;
    std::int64_t now = monotonic_now_ns();
    if (now < until) return false;
    return down_until_ns_.compare_exchange_strong(until, now + retry_ns(), std::memory_order_acq_rel);
  }

  redisContext* acquire() {
    if (!admit()) {
      skipped_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    {
      std::unique_lock lock(mu_);
      auto ready = [&] { return !idle_.empty() || open_ < config_.max_connections; };
      if (!cv_.wait_for(lock, std::chrono::milliseconds(config_.timeout_ms), ready)) {
        skipped_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
      }
      if (!idle_.empty()) {
        redisContext* c = idle_.back();
        idle_.pop_back();
        return c;
      }
      ++open_;
    }
    redisContext* c = connect();
    if (!c) {
      std::lock_guard lock(mu_);
      --open_;
      cv_.notify_one();
    }
    return c;
  }

  redisContext* connect() {
    redisContext* c = redisConnectWithTimeout(redis_.host.c_str(), redis_.port, to_timeval(config_.timeout_ms));
    if (!c || c->err) {
      mark_down(c ? std::string("connect: ") + c->errstr : "connect: out of memory");
      if (c) redisFree(c);
      return nullptr;
    }
    if (ever_connected_.exchange(true)) reconnects_.fetch_add(1, std::memory_order_relaxed);
    timeval tv = to_timeval(config_.timeout_ms);
    redisSetTimeout(c, tv);
    auto setup = [&](std::vector<std::string_view> cmd) {
      std::vector<const char*> argv;
      std::vector<std::size_t> lens;
      for (auto a : cmd) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      Reply r(static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(cmd.size()), argv.data(), lens.data())));
      if (!r) return false;
      if (r->type == REDIS_REPLY_ERROR) {
        note_error_reply(r.get());
        return false;
      }
      return true;
    };
    std::string db = std::to_string(redis_.db);
    bool ok = true;
    if (!redis_.password.empty()) {
      ok = redis_.user.empty() ? setup({"AUTH", redis_.password}) : setup({"AUTH", redis_.user, redis_.password});
    }
    if (ok && redis_.db != 0) ok = setup({"SELECT", db});
    if (ok) (void)setup({"CLIENT", "SETNAME", "nautilus-hub-cache"});  // shows in CLIENT LIST; optional
    if (!ok || c->err) {
      mark_down(c->err ? std::string("setup: ") + c->errstr : "setup: " + last_error());
      redisFree(c);
      return nullptr;
    }
    return c;
  }

  void release(redisContext* c) {
    down_until_ns_.store(0, std::memory_order_release);  // it answered: the tier is up
    std::lock_guard lock(mu_);
    idle_.push_back(c);
    cv_.notify_one();
  }

  // The connection broke (reset, timeout, protocol): close it, and go
  // local-only for a while; idle connections are likely dead too.
  void fail(redisContext* c) {
    std::string why = c->err ? std::string(c->errstr) : std::string("no reply");
    redisFree(c);
    std::vector<redisContext*> dead;
    {
      std::lock_guard lock(mu_);
      --open_;
      dead.swap(idle_);
      open_ -= dead.size();
      cv_.notify_all();
    }
    for (redisContext* d : dead) redisFree(d);
    mark_down(why);
  }

  void mark_down(std::string why) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    down_until_ns_.store(monotonic_now_ns() + retry_ns(), std::memory_order_release);
    std::lock_guard lock(err_mu_);
    last_error_ = std::move(why);
  }

  void note_error_reply(const redisReply* r) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(err_mu_);
    last_error_ = std::string(text_of(r));
  }

  std::string last_error() const {
    std::lock_guard lock(err_mu_);
    return last_error_;
  }

  std::int64_t retry_ns() const { return static_cast<std::int64_t>(config_.retry_ms) * 1'000'000; }

  const RedisConfig redis_;
  const RedisSharedCacheConfig config_;
  std::string target_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<redisContext*> idle_;
  std::size_t open_ = 0;  // idle + in use

  std::atomic<std::int64_t> down_until_ns_{0};  // monotonic; 0 = up
  std::atomic<bool> ever_connected_{false};
  std::atomic<std::uint64_t> errors_{0}, skipped_{0}, reconnects_{0};
  mutable std::mutex err_mu_;
  std::string last_error_;
};

}  // namespace

std::string shared_data_key(std::string_view prefix, KeyView key) { return key_base(prefix, key) + ":data"; }

std::string shared_lock_key(std::string_view prefix, KeyView key, std::string_view source) {
  std::string k = key_base(prefix, key) + ":lock";
  if (!source.empty()) {
    k += ':';
    k += source;
  }
  return k;
}

std::unique_ptr<SharedCache> make_redis_shared_cache(const RedisSharedCacheConfig& config) {
  RedisConfig redis = parse_redis_url(config.url);
  if (redis.cluster) {
    throw std::invalid_argument("shared cache: a Redis Cluster (redis+cluster://) is not supported; give one server's redis:// URL");
  }
  if (config.timeout_ms < 1 || config.timeout_ms > 60'000) {
    throw std::invalid_argument("shared cache timeout_ms must be between 1 and 60000");
  }
  if (config.retry_ms < 0 || config.retry_ms > 3'600'000) {
    throw std::invalid_argument("shared cache retry_ms must be between 0 and 3600000");
  }
  if (config.max_connections < 1) throw std::invalid_argument("shared cache max_connections must be at least 1");
  return std::make_unique<RedisSharedCache>(std::move(redis), config);
}

}  // namespace nautilus::md
