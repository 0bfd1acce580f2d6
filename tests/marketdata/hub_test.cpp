#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "marketdata/hub.h"
#include "marketdata/sources/replay_source.h"
#include "marketdata/sources/synthetic_source.h"

using namespace nautilus;
using namespace nautilus::md;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kMs = 1'000'000;

std::unique_ptr<SyntheticSource> synthetic(std::string name, int priority, RateLimit limit = {0, 1},
                                           std::uint64_t seed = 7) {
  SyntheticSourceConfig c;
  c.name = std::move(name);
  c.priority = priority;
  c.rate_limit = limit;
  c.feed.seed = seed;
  c.feed.start_ns = 1'700'000'000'000'000'000;
  return std::make_unique<SyntheticSource>(c);
}

// Holds every fetch of the wrapped (real) source until `release` says so: the
// way to make "50 requests in flight at once" happen for certain, not by luck.
class GatedSource final : public Source {
 public:
  GatedSource(std::unique_ptr<Source> inner, std::function<bool()> release)
      : inner_(std::move(inner)), release_(std::move(release)) {}
  const SourceInfo& info() const override { return inner_->info(); }
  FetchResult fetch(std::string_view symbol, DataType type, std::int64_t now_ns) override {
    calls.fetch_add(1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!release_() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    return inner_->fetch(symbol, type, now_ns);
  }
  std::atomic<int> calls{0};

 private:
  std::unique_ptr<Source> inner_;
  std::function<bool()> release_;
};
}  // namespace

TEST_CASE("hub: a miss fetches, a repeat hits, expiry refetches", "[marketdata][hub]") {
  SimulatedClock clock;
  Hub hub(clock);
  hub.add_source(synthetic("synthetic", 10));
  auto r1 = hub.get("AAPL", DataType::kQuote);
  REQUIRE(r1.ok());
  CHECK_FALSE(r1.cached);
  CHECK(r1.data->source == "synthetic");
  clock.advance_by(500 * kMs);
  auto r2 = hub.get("AAPL", DataType::kQuote);
  REQUIRE(r2.ok());
  CHECK(r2.cached);
  CHECK(r2.age_ns == 500 * kMs);
  CHECK(r2.data == r1.data);  // the same shared value, not a copy
  clock.advance_by(1500 * kMs);  // quote TTL is 2 s
  auto r3 = hub.get("AAPL", DataType::kQuote);
  CHECK_FALSE(r3.cached);
  auto s = hub.stats();
  CHECK(s.requests == 3);
  CHECK(s.hits == 1);
  CHECK(s.misses == 2);
  CHECK(s.upstream_calls == 2);
  CHECK(s.calls_saved() == 1);
}

TEST_CASE("hub: --fresh bypasses the cache and refills it", "[marketdata][hub]") {
  SimulatedClock clock;
  Hub hub(clock);
  hub.add_source(synthetic("synthetic", 10));
  REQUIRE(hub.get("MSFT", DataType::kBar).ok());
  GetOptions fresh;
  fresh.fresh = true;
  auto r = hub.get("MSFT", DataType::kBar, fresh);
  REQUIRE(r.ok());
  CHECK_FALSE(r.cached);
  CHECK(hub.stats().upstream_calls == 2);
  CHECK(hub.get("MSFT", DataType::kBar).cached);
}

TEST_CASE("hub: 50 concurrent requests for one key make exactly one upstream call", "[marketdata][hub]") {
  SimulatedClock clock;
  Hub hub(clock);
  const KeyView key{"NVDA", DataType::kQuote};
  // The fetch is held until the other 49 requests are provably waiting on it.
  auto gated = std::make_unique<GatedSource>(synthetic("synthetic", 10),
                                             [&] { return hub.inflight_waiters(key) == 49; });
  GatedSource* g = gated.get();
  hub.add_source(std::move(gated));

  std::vector<GetResult> results(50);
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      GetOptions o;
      results[static_cast<std::size_t>(i)] = hub.get(key.symbol, key.type, o);
    });
  }
  for (auto& t : threads) t.join();

  CHECK(g->calls.load() == 1);
  CHECK(hub.stats().upstream_calls == 1);
  CHECK(hub.stats().coalesced == 49);
  for (const auto& r : results) {
    REQUIRE(r.ok());
    CHECK(r.data == results[0].data);
  }
  CHECK(hub.inflight_waiters(key) == 0);
}

TEST_CASE("hub: breaker opens after N failures, requests fall back, then half-open and close",
          "[marketdata][hub]") {
  SimulatedClock clock;
  const std::int64_t t0 = clock.now_ns();
  HubConfig cfg;
  cfg.breaker = {3, 30 * kSec};
  cfg.serve_stale_on_error = false;
  Hub hub(clock, cfg);
  auto primary = synthetic("primary", 1);
  // The primary is down for the first 20 s.
  primary->add_outage({t0, t0 + 20 * kSec, FetchError::kUnavailable});
  SyntheticSource* p = primary.get();
  hub.add_source(std::move(primary));
  hub.add_source(synthetic("secondary", 2));
  REQUIRE(hub.chain(DataType::kQuote) == std::vector<std::string>{"primary", "secondary"});

  auto find = [&](std::string_view name) {
    for (auto& s : hub.sources()) {
      if (s.name == name) return s;
    }
    FAIL("no source " << name);
    return SourceStatus{};
  };

  // Three failing calls (distinct symbols, so the cache never answers).
  const char* symbols[] = {"S1", "S2", "S3", "S4", "S5"};
  for (int i = 0; i < 3; ++i) {
    auto r = hub.get(symbols[i], DataType::kQuote);
    REQUIRE(r.ok());
    CHECK(r.data->source == "secondary");
  }
  CHECK(find("primary").breaker == BreakerState::kOpen);
  CHECK(find("primary").health == "down");
  CHECK(find("primary").errors == 3);
  CHECK(p->fetches() == 3);
  // Open: the primary is not even called.
  auto r4 = hub.get(symbols[3], DataType::kQuote);
  REQUIRE(r4.ok());
  CHECK(r4.data->source == "secondary");
  CHECK(p->fetches() == 3);
  CHECK(find("primary").breaker_rejects == 1);
  CHECK(hub.stats().fallbacks == 3);

  // After the cooldown the breaker half-opens; the outage is over, so the
  // probe succeeds and the breaker closes.
  clock.advance_to(t0 + 30 * kSec);
  CHECK(find("primary").breaker == BreakerState::kHalfOpen);
  auto r5 = hub.get(symbols[4], DataType::kQuote);
  REQUIRE(r5.ok());
  CHECK(r5.data->source == "primary");
  CHECK(find("primary").breaker == BreakerState::kClosed);
  CHECK(find("primary").health == "healthy");
  CHECK(p->fetches() == 4);
}

TEST_CASE("hub: a failed half-open probe re-opens the breaker", "[marketdata][hub]") {
  SimulatedClock clock;
  const std::int64_t t0 = clock.now_ns();
  HubConfig cfg;
  cfg.breaker = {2, 10 * kSec};
  Hub hub(clock, cfg);
  auto primary = synthetic("primary", 1);
  primary->add_outage({t0, t0 + 100 * kSec, FetchError::kTimeout});
  hub.add_source(std::move(primary));
  hub.add_source(synthetic("secondary", 2));
  REQUIRE(hub.get("A", DataType::kTick).ok());
  REQUIRE(hub.get("B", DataType::kTick).ok());
  clock.advance_to(t0 + 10 * kSec);
  auto r = hub.get("C", DataType::kTick);
  REQUIRE(r.ok());
  CHECK(r.data->source == "secondary");
  auto st = hub.sources().front();
  CHECK(st.name == "primary");
  CHECK(st.breaker == BreakerState::kOpen);
  CHECK(st.breaker_opened == 2);
}

TEST_CASE("hub: every source failing answers an error, or the stale entry", "[marketdata][hub]") {
  SimulatedClock clock;
  const std::int64_t t0 = clock.now_ns();
  Hub hub(clock);
  auto only = synthetic("only", 1);
  only->add_outage({t0 + 5 * kSec, t0 + 1000 * kSec, FetchError::kProviderError});
  hub.add_source(std::move(only));
  REQUIRE(hub.get("IBM", DataType::kQuote).ok());
  clock.advance_to(t0 + 6 * kSec);
  auto stale = hub.get("IBM", DataType::kQuote);
  REQUIRE(stale.ok());
  CHECK(stale.stale);
  CHECK(stale.age_ns == 6 * kSec);
  CHECK(hub.stats().stale_on_error == 1);
  auto missing = hub.get("ORCL", DataType::kQuote);
  CHECK_FALSE(missing.ok());
  CHECK(missing.error == FetchError::kProviderError);
  CHECK(hub.stats().failed_gets == 1);
}

TEST_CASE("hub: rate-limited source sends requests down the chain, never over its limit",
          "[marketdata][hub]") {
  SimulatedClock clock;
  Hub hub(clock);
  hub.add_source(synthetic("limited", 1, {2.0, 2}));
  hub.add_source(synthetic("backup", 2));
  int from_limited = 0, from_backup = 0;
  for (int second = 0; second < 30; ++second) {
    for (int i = 0; i < 10; ++i) {
      GetOptions o;
      o.fresh = true;  // force an upstream call every time
      auto r = hub.get("SYM" + std::to_string(i), DataType::kTick, o);
      REQUIRE(r.ok());
      (r.data->source == "limited" ? from_limited : from_backup)++;
    }
    clock.advance_by(kSec);
  }
  // 2 burst + 2/s over 29 s of elapsed time.
  CHECK(from_limited <= 2 + 2 * 29);
  CHECK(from_limited >= 2 * 29);
  CHECK(from_backup == 300 - from_limited);
  CHECK(hub.stats().rate_limit_waits == static_cast<std::uint64_t>(from_backup));
}

TEST_CASE("hub: all sources rate limited answers kRateLimited with a retry time", "[marketdata][hub]") {
  SimulatedClock clock;
  Hub hub(clock);
  hub.add_source(synthetic("one", 1, {1.0, 1}));
  GetOptions fresh;
  fresh.fresh = true;
  REQUIRE(hub.get("A", DataType::kTick, fresh).ok());
  auto r = hub.get("B", DataType::kTick, fresh);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error == FetchError::kRateLimited);
  CHECK(r.retry_after_ns == kSec);
}

TEST_CASE("hub: a named source is used alone, and only its cached data counts", "[marketdata][hub]") {
  SimulatedClock clock;
  Hub hub(clock);
  hub.add_source(synthetic("first", 1));
  hub.add_source(synthetic("second", 2));
  REQUIRE(hub.get("X", DataType::kQuote).data->source == "first");
  GetOptions o;
  o.source = "second";
  auto r = hub.get("X", DataType::kQuote, o);
  REQUIRE(r.ok());
  CHECK(r.data->source == "second");
  CHECK_FALSE(r.cached);
  o.source = "nope";
  auto bad = hub.get("X", DataType::kQuote, o);
  CHECK_FALSE(bad.ok());
  CHECK(bad.error == FetchError::kNotFound);
}

TEST_CASE("hub: types nobody serves and bad symbols are errors, not crashes", "[marketdata][hub]") {
  SimulatedClock clock;
  Hub hub(clock);
  hub.add_source(synthetic("synthetic", 1));
  auto econ = hub.get("GDP", DataType::kEconomic);
  CHECK_FALSE(econ.ok());
  CHECK(econ.error == FetchError::kUnsupported);
  for (std::string_view bad : {"", "has space", "a*b", "waytoolongsymbolnamethatexceedsthirtytwo"}) {
    auto r = hub.get(bad, DataType::kQuote);
    CHECK_FALSE(r.ok());
    CHECK(r.error == FetchError::kNotFound);
  }
  CHECK_THROWS_AS(hub.add_source(synthetic("synthetic", 5)), std::invalid_argument);
}

TEST_CASE("hub: stale-while-revalidate answers at once and refreshes in the background", "[marketdata][hub]") {
  SimulatedClock clock;
  HubConfig cfg;
  cfg.stale_while_revalidate = true;
  cfg.prefetch = false;
  Hub hub(clock, cfg);
  hub.add_source(synthetic("synthetic", 1));
  auto first = hub.get("AMD", DataType::kTick);
  REQUIRE(first.ok());
  clock.advance_by(1500 * kMs);  // tick TTL 1 s
  auto stale = hub.get("AMD", DataType::kTick);
  REQUIRE(stale.ok());
  CHECK(stale.stale);
  CHECK(stale.data == first.data);
  CHECK(hub.stats().upstream_calls == 1);  // not yet: the refresh is scheduled
  clock.advance_by(1);                     // the scheduler runs it
  CHECK(hub.stats().upstream_calls == 2);
  auto after = hub.get("AMD", DataType::kTick);
  CHECK(after.cached);
  CHECK_FALSE(after.stale);
  CHECK(after.data != first.data);
  CHECK(hub.stats().stale_hits == 1);
  CHECK(hub.stats().revalidations == 1);
}

namespace {
// One client's scripted day: every 3 s it asks for a quote, 100 ms later for
// the level2 book. Both have expired by the next round (TTLs 2 s and 1 s), so
// without prediction every request is a miss.
HubStats run_pattern(bool prefetch) {
  SimulatedClock clock;
  HubConfig cfg;
  cfg.prefetch = prefetch;
  Hub hub(clock, cfg);
  hub.add_source(synthetic("synthetic", 1));
  GetOptions o;
  o.client = "strategy";
  for (int round = 0; round < 40; ++round) {
    REQUIRE(hub.get("AAPL", DataType::kQuote, o).ok());
    clock.advance_by(100 * kMs);
    REQUIRE(hub.get("AAPL", DataType::kLevel2, o).ok());
    clock.advance_by(2900 * kMs);
  }
  return hub.stats();
}
}  // namespace

TEST_CASE("hub: prefetch raises the hit rate on a scripted access pattern", "[marketdata][hub][prefetch]") {
  HubStats without = run_pattern(false);
  HubStats with = run_pattern(true);
  INFO("hit rate without " << without.hit_rate() << ", with " << with.hit_rate());
  CHECK(without.hits == 0);
  CHECK(without.prefetch_issued == 0);
  // After two rounds of learning, both requests of every round are predicted.
  CHECK(with.hit_rate() >= 0.9);
  CHECK(with.prefetch_hits >= 70);
  CHECK(with.prefetch_hits == with.hits);
  // Prefetch replaces calls rather than adding them: the only extra one is
  // the prediction made after the script's last request.
  CHECK(with.upstream_calls <= without.upstream_calls + 1);
}

TEST_CASE("hub: prefetch models are per client", "[marketdata][hub][prefetch]") {
  SimulatedClock clock;
  Hub hub(clock);
  hub.add_source(synthetic("synthetic", 1));
  // Two clients interleave; each one's own sequence is quote -> level2.
  for (int round = 0; round < 10; ++round) {
    for (const char* client : {"a", "b"}) {
      GetOptions o;
      o.client = client;
      REQUIRE(hub.get(client[0] == 'a' ? "AAA" : "BBB", DataType::kQuote, o).ok());
    }
    clock.advance_by(50 * kMs);
    for (const char* client : {"a", "b"}) {
      GetOptions o;
      o.client = client;
      REQUIRE(hub.get(client[0] == 'a' ? "AAA" : "BBB", DataType::kLevel2, o).ok());
    }
    clock.advance_by(5 * kSec);
  }
  auto s = hub.stats();
  CHECK(s.prefetch_hits >= 14);  // rounds 3..10 for both clients' level2 (and quotes)
}

namespace {

// The store side of Hub::history as the hub sees it: recorded bars of one
// symbol, or a failure, and a count of the reads.
class RecordedBars final : public HistoryReader {
 public:
  std::string describe() const override { return "recorded bars"; }
  std::vector<DataPtr> read(const HistoryRequest& r) override {
    ++reads;
    if (failing) throw std::runtime_error("disk I/O error");
    std::vector<DataPtr> out;
    for (std::int64_t t : times) {
      if (r.symbol != "AAPL" || r.type != DataType::kBar || t < r.from_ns || t >= r.to_ns) continue;
      auto d = std::make_shared<DataPoint>();
      d->symbol = r.symbol;
      d->type = r.type;
      d->source = "recorder";
      d->as_of_ns = t;
      out.push_back(std::move(d));
    }
    if (out.size() > r.limit) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(r.limit));
    return out;
  }
  std::vector<std::int64_t> times = {10 * kSec, 20 * kSec, 30 * kSec};
  bool failing = false;
  int reads = 0;
};

std::unique_ptr<ReplaySource> bars_file() {
  ReplayTable table;
  REQUIRE(ReplayTable::parse("ts_ns,symbol,open,high,low,close,volume\n"
                             "15000000000,AAPL,1,2,1,1.5,10\n"
                             "25000000000,AAPL,1.5,2,1,1.75,10\n"
                             "25000000000,MSFT,5,6,4,5.5,20\n"
                             "35000000000,MSFT,5.5,6,5,5.75,20\n",
                             table)
              .is_ok());
  ReplayConfig c;
  c.name = "bars-file";
  return std::make_unique<ReplaySource>(c, std::move(table));
}

HistoryRequest bars_of(std::string symbol, std::int64_t from = 0, std::int64_t to = INT64_MAX, std::size_t limit = 100) {
  HistoryRequest r;
  r.symbol = std::move(symbol);
  r.type = DataType::kBar;
  r.from_ns = from;
  r.to_ns = to;
  r.limit = limit;
  return r;
}

std::vector<std::int64_t> times_of(const HistoryResult& r) {
  std::vector<std::int64_t> out;
  for (const auto& d : r.points) out.push_back(d->as_of_ns);
  return out;
}

}  // namespace

TEST_CASE("hub history: the store first, then a source that keeps history, else not found", "[marketdata][hub][history]") {
  SimulatedClock clock(1'700'000'000LL * kSec);
  Hub hub(clock);
  hub.add_source(synthetic("synthetic", 1));  // serves bars, keeps no history: skipped
  hub.add_source(bars_file());
  auto store = std::make_shared<RecordedBars>();
  hub.set_history(store);

  struct Case {
    const char* what;
    HistoryRequest request;
    bool store_fails;
    FetchError error;
    std::string answered_by;
    std::vector<std::int64_t> times;
  };
  const std::vector<Case> cases = {
      {"recorded: the store answers, the file is not asked", bars_of("AAPL"), false, FetchError::kNone, "store",
       {10 * kSec, 20 * kSec, 30 * kSec}},
      {"a range of the store, the newest `limit`", bars_of("AAPL", 15 * kSec, 31 * kSec, 1), false, FetchError::kNone,
       "store", {30 * kSec}},
      {"not recorded: the file's rows in the range", bars_of("MSFT", 30 * kSec), false, FetchError::kNone, "bars-file",
       {35 * kSec}},
      {"a failing store: the file answers", bars_of("AAPL", 0, 20 * kSec), true, FetchError::kNone, "bars-file",
       {15 * kSec}},
      {"nobody has it", bars_of("NOPE"), false, FetchError::kNotFound, "", {}},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    store->failing = c.store_fails;
    HistoryResult r = hub.history(c.request);
    CHECK(r.error == c.error);
    CHECK(r.answered_by == c.answered_by);
    CHECK(times_of(r) == c.times);
  }
  HubStats s = hub.stats();
  CHECK(s.history_requests == 5);
  CHECK(s.history_from_store == 2);
  CHECK(s.history_from_sources == 2);
  CHECK(store->reads == 5);
}

TEST_CASE("hub history: without a store the sources answer; a type no source keeps is not found", "[marketdata][hub][history]") {
  SimulatedClock clock(1'700'000'000LL * kSec);
  Hub hub(clock);
  hub.add_source(bars_file());
  HistoryResult r = hub.history(bars_of("AAPL"));
  REQUIRE(r.ok());
  CHECK(times_of(r) == std::vector<std::int64_t>{15 * kSec, 25 * kSec});
  HistoryRequest quotes = bars_of("AAPL");
  quotes.type = DataType::kQuote;
  HistoryResult q = hub.history(quotes);
  CHECK(q.error == FetchError::kNotFound);
  CHECK(q.points.empty());
}
