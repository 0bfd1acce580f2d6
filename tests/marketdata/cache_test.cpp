#include <catch2/catch.hpp>

#include "core/clock.h"
#include "marketdata/cache.h"

using namespace nautilus;
using namespace nautilus::md;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;

DataPtr point(std::string symbol, DataType type, std::string payload = "{}") {
  auto d = std::make_shared<DataPoint>();
  d->symbol = std::move(symbol);
  d->type = type;
  d->source = "test";
  d->payload = std::move(payload);
  return d;
}
}  // namespace

TEST_CASE("cache: default TTL per data type matches SPEC section 6", "[marketdata][cache]") {
  struct Case {
    DataType type;
    std::int64_t ttl;
  };
  const Case cases[] = {
      {DataType::kTick, 1 * kSec},          {DataType::kQuote, 2 * kSec},
      {DataType::kLevel2, 1 * kSec},        {DataType::kBar, 60 * kSec},
      {DataType::kNews, 3600 * kSec},       {DataType::kFundamental, 86400 * kSec},
      {DataType::kEconomic, 86400 * kSec},  {DataType::kTrade, 1 * kSec},
  };
  for (const auto& c : cases) {
    SECTION(std::string(to_string(c.type))) {
      SimulatedClock clock;
      Cache cache;
      REQUIRE(cache.config().ttl(c.type) == c.ttl);
      const std::int64_t t0 = clock.now_ns();
      cache.put(point("AAPL", c.type), t0);
      // Fresh until one nanosecond before the TTL, stale at the TTL.
      auto just_before = cache.get({"AAPL", c.type}, t0 + c.ttl - 1);
      CHECK(just_before.fresh);
      CHECK(just_before.age_ns(t0 + c.ttl - 1) == c.ttl - 1);
      auto at_ttl = cache.get({"AAPL", c.type}, t0 + c.ttl);
      CHECK_FALSE(at_ttl.fresh);
      REQUIRE(at_ttl.data != nullptr);  // stale entries are still reported
      CHECK(at_ttl.data->symbol == "AAPL");
    }
  }
}

TEST_CASE("cache: TTLs are configurable per type", "[marketdata][cache]") {
  CacheConfig cfg;
  cfg.set_ttl(DataType::kQuote, 500'000'000);
  Cache cache(cfg);
  cache.put(point("MSFT", DataType::kQuote), 0);
  cache.put(point("MSFT", DataType::kBar), 0);
  CHECK_FALSE(cache.get({"MSFT", DataType::kQuote}, 500'000'000).fresh);
  CHECK(cache.get({"MSFT", DataType::kBar}, 500'000'000).fresh);
}

TEST_CASE("cache: keys are (symbol, type)", "[marketdata][cache]") {
  Cache cache;
  cache.put(point("AAPL", DataType::kQuote, R"({"q":1})"), 0);
  cache.put(point("AAPL", DataType::kBar, R"({"b":1})"), 0);
  cache.put(point("AAP", DataType::kQuote, R"({"q":2})"), 0);
  CHECK(cache.get({"AAPL", DataType::kQuote}, 1).data->payload == R"({"q":1})");
  CHECK(cache.get({"AAPL", DataType::kBar}, 1).data->payload == R"({"b":1})");
  CHECK(cache.get({"AAP", DataType::kQuote}, 1).data->payload == R"({"q":2})");
  CHECK(cache.get({"AAPL", DataType::kTick}, 1).data == nullptr);
  CHECK(cache.stats().size == 3);
}

TEST_CASE("cache: LRU eviction at capacity", "[marketdata][cache]") {
  CacheConfig cfg;
  cfg.capacity = 3;
  Cache cache(cfg);
  cache.put(point("A", DataType::kBar), 0);
  cache.put(point("B", DataType::kBar), 1);
  cache.put(point("C", DataType::kBar), 2);
  // Touch A so B becomes the least recently used.
  REQUIRE(cache.get({"A", DataType::kBar}, 3).data != nullptr);
  cache.put(point("D", DataType::kBar), 4);
  CHECK(cache.get({"B", DataType::kBar}, 5).data == nullptr);
  CHECK(cache.get({"A", DataType::kBar}, 5).data != nullptr);
  CHECK(cache.get({"C", DataType::kBar}, 5).data != nullptr);
  CHECK(cache.get({"D", DataType::kBar}, 5).data != nullptr);
  CHECK(cache.stats().size == 3);
  CHECK(cache.stats().evictions == 1);

  // Replacing an entry does not evict and refreshes its age.
  cache.put(point("C", DataType::kBar, R"({"v":2})"), 100);
  CHECK(cache.stats().evictions == 1);
  auto c = cache.get({"C", DataType::kBar}, 101);
  CHECK(c.data->payload == R"({"v":2})");
  CHECK(c.stored_ns == 100);
}

TEST_CASE("cache: a long run never exceeds capacity and evicts exactly the overflow", "[marketdata][cache]") {
  CacheConfig cfg;
  cfg.capacity = 100;
  Cache cache(cfg);
  for (int i = 0; i < 1000; ++i) cache.put(point("S" + std::to_string(i), DataType::kQuote), i);
  CHECK(cache.stats().size == 100);
  CHECK(cache.stats().evictions == 900);
  // The survivors are the 100 most recent.
  CHECK(cache.get({"S899", DataType::kQuote}, 1000).data == nullptr);
  CHECK(cache.get({"S900", DataType::kQuote}, 1000).data != nullptr);
  CHECK(cache.get({"S999", DataType::kQuote}, 1000).data != nullptr);
}

TEST_CASE("cache: a prefetched entry is reported as such once", "[marketdata][cache]") {
  Cache cache;
  cache.put(point("A", DataType::kBar), 0, /*prefetched=*/true);
  CHECK(cache.get({"A", DataType::kBar}, 1).prefetched);
  CHECK_FALSE(cache.get({"A", DataType::kBar}, 2).prefetched);
}
