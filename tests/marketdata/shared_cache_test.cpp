// The hub's shared (Redis) tier against a real redis-server on a free loopback
// port: two hub instances, each with its own counting source, share one Redis.
// Run alone with: test_marketdata "[shared_cache]"
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "bus/redis_fixture.h"
#include "core/clock.h"
#include "marketdata/hub.h"
#include "marketdata/marketdata_engine.h"
#include "marketdata/redis_shared_cache.h"
#include "marketdata/sources/synthetic_source.h"

using namespace nautilus;
using namespace nautilus::md;
using nautilus::testing::RedisServer;

namespace {
constexpr std::int64_t kMs = 1'000'000;

// A real synthetic source that counts its fetches and, optionally, holds each
// one until `release` says so (so "both hubs at once" happens for certain).
class CountingSource final : public Source {
 public:
  CountingSource(std::string name, std::function<bool()> release = {}) : release_(std::move(release)) {
    SyntheticSourceConfig c;
    c.name = std::move(name);
    c.priority = 10;
    c.feed.seed = 11;
    c.feed.start_ns = 1'700'000'000'000'000'000;
    inner_ = std::make_unique<SyntheticSource>(c);
  }
  const SourceInfo& info() const override { return inner_->info(); }
  FetchResult fetch(std::string_view symbol, DataType type, std::int64_t now_ns) override {
    calls.fetch_add(1);
    if (release_) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (!release_() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
    return inner_->fetch(symbol, type, now_ns);
  }
  std::atomic<int> calls{0};

 private:
  std::unique_ptr<Source> inner_;
  std::function<bool()> release_;
};

struct HubUnderTest {
  std::unique_ptr<Hub> hub;
  CountingSource* source = nullptr;
};

// A generous command timeout and lock TTL: on a loaded CI machine a slow
// answer must not look like a dead Redis or a dead lock holder.
HubUnderTest make_hub(Clock& clock, const std::string& url, const std::string& source_name,
                      std::function<bool()> release = {}, int retry_ms = 1000) {
  HubConfig cfg;
  cfg.prefetch = false;
  cfg.shared_lock_ttl_ns = 60'000 * kMs;
  HubUnderTest h;
  h.hub = std::make_unique<Hub>(clock, cfg);
  auto src = std::make_unique<CountingSource>(source_name, std::move(release));
  h.source = src.get();
  h.hub->add_source(std::move(src));
  RedisSharedCacheConfig sc;
  sc.url = url;
  sc.timeout_ms = 10'000;
  sc.retry_ms = retry_ms;
  h.hub->set_shared_cache(make_redis_shared_cache(sc));
  return h;
}
}  // namespace

TEST_CASE("shared cache: concurrent requests for one key on two hubs make one upstream call",
          "[marketdata][shared_cache][redis]") {
  RedisServer redis;
  SimulatedClock clock;
  HubUnderTest* hubs[2] = {nullptr, nullptr};
  // Whichever hub wins the lock holds its fetch until the other hub is
  // waiting on that lock: both are then certainly in flight together.
  auto other_waits = [&] {
    return hubs[0] && hubs[1] &&
           hubs[0]->hub->shared_tier_stats().lock_waits + hubs[1]->hub->shared_tier_stats().lock_waits >= 1;
  };
  HubUnderTest a = make_hub(clock, redis.url(), "src-a", other_waits);
  HubUnderTest b = make_hub(clock, redis.url(), "src-b", other_waits);
  hubs[0] = &a;
  hubs[1] = &b;

  constexpr int kPerHub = 8;
  std::atomic<bool> go{false};
  std::vector<GetResult> results(2 * kPerHub);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2 * kPerHub; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      Hub& hub = *(i < kPerHub ? a.hub : b.hub);
      results[static_cast<std::size_t>(i)] = hub.get("AAPL", DataType::kQuote);
    });
  }
  go = true;
  for (auto& t : threads) t.join();

  CHECK(a.source->calls.load() + b.source->calls.load() == 1);
  const std::string winner = a.source->calls.load() == 1 ? "src-a" : "src-b";
  for (const auto& r : results) {
    REQUIRE(r.ok());
    CHECK(r.data->source == winner);
    CHECK(r.data->payload == results[0].data->payload);
    CHECK(r.data->as_of_ns == results[0].data->as_of_ns);
  }
  SharedTierStats sa = a.hub->shared_tier_stats(), sb = b.hub->shared_tier_stats();
  const SharedTierStats& won = winner == "src-a" ? sa : sb;
  const SharedTierStats& waited = winner == "src-a" ? sb : sa;
  CHECK(won.lock_acquired == 1);
  CHECK(won.puts == 1);
  CHECK(waited.lock_waits == 1);
  CHECK(waited.wait_hits == 1);
  CHECK(waited.hits == 1);
  CHECK(waited.lock_timeouts == 0);
  CHECK(sa.tier.errors + sb.tier.errors == 0);
  // Inside each hub the other 7 requests joined its single flight, or, if a
  // thread was scheduled after that flight ended, hit the local cache.
  auto joined = [](const Hub& h) { return h.stats().coalesced + h.stats().hits; };
  CHECK(joined(*a.hub) + joined(*b.hub) == 2 * (kPerHub - 1));

  // The value is plain to read with redis-cli, and the lock is gone.
  std::string key = shared_data_key("nautilus", {"AAPL", DataType::kQuote});
  CHECK(key == "nautilus:hub:{quote:AAPL}:data");
  CHECK(redis.cli("HGET '" + key + "' source") == winner + "\n");
  CHECK(redis.integer({"EXISTS", shared_lock_key("nautilus", {"AAPL", DataType::kQuote}, "")}) == 0);
  CHECK(redis.integer({"PTTL", key}) > 0);
}

TEST_CASE("shared cache: a value fetched by hub A is a hit for hub B", "[marketdata][shared_cache][redis]") {
  RedisServer redis;
  SimulatedClock clock;
  HubUnderTest a = make_hub(clock, redis.url(), "src-a");
  HubUnderTest b = make_hub(clock, redis.url(), "src-b");

  GetResult ra = a.hub->get("MSFT", DataType::kQuote);
  REQUIRE(ra.ok());
  CHECK_FALSE(ra.cached);
  CHECK(a.source->calls.load() == 1);

  clock.advance_by(300 * kMs);
  GetResult rb = b.hub->get("MSFT", DataType::kQuote);
  REQUIRE(rb.ok());
  CHECK(rb.cached);
  CHECK(rb.shared);
  CHECK(rb.age_ns == 300 * kMs);  // fetch time travels with the value
  CHECK(rb.data->source == "src-a");
  CHECK(rb.data->payload == ra.data->payload);
  CHECK(rb.data->as_of_ns == ra.data->as_of_ns);
  CHECK(b.source->calls.load() == 0);
  auto json = to_json(rb, "MSFT", DataType::kQuote);
  CHECK(json["shared"] == true);
  CHECK(json["source"] == "src-a");

  // Now in B's local tier, with the original fetch time.
  clock.advance_by(100 * kMs);
  GetResult again = b.hub->get("MSFT", DataType::kQuote);
  REQUIRE(again.ok());
  CHECK(again.cached);
  CHECK_FALSE(again.shared);
  CHECK(again.age_ns == 400 * kMs);
  HubStats sb = b.hub->stats();
  CHECK(sb.shared.hits == 1);
  CHECK(sb.hits == 1);
  CHECK(sb.upstream_calls == 0);
  CHECK(sb.calls_saved() == 2);

  // Past the quote TTL (2 s) the shared value no longer counts: B fetches.
  clock.advance_by(2000 * kMs);
  GetResult late = b.hub->get("MSFT", DataType::kQuote);
  REQUIRE(late.ok());
  CHECK_FALSE(late.cached);
  CHECK(b.source->calls.load() == 1);

  // A request for one source only does not take another source's value.
  HubUnderTest c = make_hub(clock, redis.url(), "src-c");
  GetOptions only_c;
  only_c.source = "src-c";
  GetResult rc = c.hub->get("MSFT", DataType::kQuote, only_c);
  REQUIRE(rc.ok());
  CHECK(rc.data->source == "src-c");
  CHECK(c.source->calls.load() == 1);
}

TEST_CASE("shared cache: a lock whose holder died is taken over when it expires",
          "[marketdata][shared_cache][redis]") {
  RedisServer redis;
  SimulatedClock clock;
  HubUnderTest a = make_hub(clock, redis.url(), "src-a");
  // An instance took the lock and vanished: no value will come.
  std::string lock = shared_lock_key("nautilus", {"SPY", DataType::kBar}, "");
  REQUIRE(redis.command({"SET", lock, "dead-host:1:hub1:0", "PX", "300"})->type == REDIS_REPLY_STATUS);

  GetResult r = a.hub->get("SPY", DataType::kBar);
  REQUIRE(r.ok());
  CHECK(r.data->source == "src-a");
  CHECK(a.source->calls.load() == 1);
  SharedTierStats s = a.hub->shared_tier_stats();
  CHECK(s.lock_waits == 1);
  CHECK(s.wait_hits == 0);
  CHECK(s.lock_acquired == 1);
  CHECK(s.lock_timeouts == 0);
  CHECK(s.puts == 1);
  CHECK(redis.integer({"EXISTS", lock}) == 0);  // released after the fetch
}

TEST_CASE("shared cache: Redis killed mid-test, both hubs answer from their own sources",
          "[marketdata][shared_cache][redis]") {
  RedisServer redis;
  SimulatedClock clock;
  // retry_ms 0: every call probes again, so recovery is seen without waiting.
  HubUnderTest a = make_hub(clock, redis.url(), "src-a", {}, 0);
  HubUnderTest b = make_hub(clock, redis.url(), "src-b", {}, 0);

  REQUIRE(a.hub->get("AAPL", DataType::kBar).ok());
  REQUIRE(b.hub->get("AAPL", DataType::kBar).ok());
  CHECK(a.source->calls.load() + b.source->calls.load() == 1);

  redis.kill();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  const char* symbols[] = {"MSFT", "SPY", "ES", "BTCUSD"};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Hub& hub = *(i % 2 == 0 ? a.hub : b.hub);
      for (const char* sym : symbols) {
        if (hub.get(sym, DataType::kQuote).ok()) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok.load() == 8 * 4);
  // Each hub fetched each symbol itself (once: its local single flight and
  // cache still work), and says it is running local-only.
  for (HubUnderTest* h : {&a, &b}) {
    SharedTierStats s = h->hub->shared_tier_stats();
    CHECK_FALSE(s.tier.up);
    CHECK(s.tier.errors >= 1);
    CHECK_FALSE(s.tier.last_error.empty());
    CHECK(s.local_only == 4);
    auto j = to_json(h->hub->stats());
    CHECK(j["shared_cache"]["state"] == "down");
    CHECK(j["shared_cache"]["redis_errors"].get<std::uint64_t>() >= 1);
  }
  CHECK(a.source->calls.load() + b.source->calls.load() == 1 + 2 * 4);
  // What was cached locally before the outage is still served.
  GetResult bar = b.hub->get("AAPL", DataType::kBar);
  REQUIRE(bar.ok());
  CHECK(bar.cached);

  // Redis back: the next request uses it again.
  redis.start();
  REQUIRE(a.hub->get("QQQ", DataType::kQuote).ok());
  SharedTierStats s = a.hub->shared_tier_stats();
  CHECK(s.tier.up);
  CHECK(s.puts == 2);
  CHECK(s.tier.reconnects >= 1);
  GetResult from_a = b.hub->get("QQQ", DataType::kQuote);
  REQUIRE(from_a.ok());
  CHECK(from_a.shared);
  CHECK(from_a.data->source == "src-a");
}

TEST_CASE("shared cache: no Redis at all, the hub is local-only and says so", "[marketdata][shared_cache][redis]") {
  SimulatedClock clock;
  std::string url = "redis://127.0.0.1:" + std::to_string(nautilus::testing::free_loopback_port());
  HubUnderTest a = make_hub(clock, url, "src-a");  // the default 1,000 ms retry window
  for (int i = 0; i < 3; ++i) REQUIRE(a.hub->get("AAPL", DataType::kQuote).ok());
  CHECK(a.source->calls.load() == 1);  // the local tier still works
  SharedTierStats s = a.hub->shared_tier_stats();
  CHECK_FALSE(s.tier.up);
  CHECK(s.tier.errors == 1);
  CHECK(s.local_only == 1);
  CHECK(s.tier.last_error.find("connect") != std::string::npos);
}

TEST_CASE("shared cache: after a failure the tier is skipped for retry_ms, then probed once",
          "[marketdata][shared_cache][redis]") {
  // The retry window runs on the monotonic clock, not the hub's simulated one,
  // so this test measures real time around it. Each request is for a new
  // symbol: a local cache hit would never reach the shared tier.
  SimulatedClock clock;
  std::string url = "redis://127.0.0.1:" + std::to_string(nautilus::testing::free_loopback_port());
  HubUnderTest a = make_hub(clock, url, "src-a");  // the default 1,000 ms retry window
  constexpr auto kWindow = std::chrono::milliseconds(1000);
  auto before_failure = std::chrono::steady_clock::now();
  REQUIRE(a.hub->get("SYM0", DataType::kQuote).ok());
  auto after_failure = std::chrono::steady_clock::now();
  REQUIRE(a.hub->shared_tier_stats().tier.errors == 1);

  // Inside the window: no connect attempt, each walk local-only and skipped.
  constexpr int kInside = 5;
  for (int i = 1; i <= kInside; ++i) REQUIRE(a.hub->get("SYM" + std::to_string(i), DataType::kQuote).ok());
  SharedTierStats inside = a.hub->shared_tier_stats();
  if (std::chrono::steady_clock::now() < before_failure + kWindow) {
    CHECK(inside.tier.errors == 1);
    CHECK_FALSE(inside.tier.up);
    CHECK(inside.tier.skipped >= static_cast<std::uint64_t>(kInside));
  } else {
    WARN("the machine took over a second for five local fetches; the inside-window checks were not made");
  }
  CHECK(inside.local_only == 1 + kInside);
  CHECK(a.source->calls.load() == 1 + kInside);

  // After the window: the next request probes Redis (refused again: a second error).
  std::this_thread::sleep_until(after_failure + kWindow + std::chrono::milliseconds(50));
  REQUIRE(a.hub->get("SYM_AFTER", DataType::kQuote).ok());
  SharedTierStats after = a.hub->shared_tier_stats();
  CHECK(after.tier.errors == 2);
  CHECK(after.local_only == 2 + kInside);
}

TEST_CASE("shared cache: the marketdata engine config", "[marketdata][shared_cache]") {
  SimulatedClock clock;
  auto hub = make_hub_from_config(clock, {{"shared_cache", "redis://127.0.0.1:6399/2?prefix=test"},
                                          {"shared_cache_lock_ttl_ms", 500},
                                          {"shared_cache_timeout_ms", 50}});
  CHECK(hub->config().shared_lock_ttl_ns == 500 * kMs);
  SharedTierStats s = hub->shared_tier_stats();
  CHECK(s.enabled);
  CHECK(s.tier.target == "redis://127.0.0.1:6399/2 (prefix test)");
  CHECK_FALSE(make_hub_from_config(clock, nlohmann::json::object())->shared_tier_stats().enabled);
  CHECK_FALSE(make_hub_from_config(clock, {{"shared_cache", ""}})->shared_tier_stats().enabled);
  CHECK_THROWS_AS(make_hub_from_config(clock, {{"shared_cache", "http://x"}}), std::invalid_argument);
  CHECK_THROWS_AS(make_hub_from_config(clock, {{"shared_cache", 5}}), std::invalid_argument);
  CHECK_THROWS_AS(make_hub_from_config(clock, {{"shared_cache", "redis://h"}, {"shared_cache_lock_ttl_ms", 0}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(make_hub_from_config(clock, {{"shared_cache", "redis://h"}, {"shared_cache_timeout_ms", 0}}),
                  std::invalid_argument);
}
