#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "bus/redis_fixture.h"
#include "bus/router.h"
#include "store/recorder.h"
#include "store/sqlite_store.h"
#include "support/daemon_process.h"

using namespace nautilus;
using namespace nautilus::store;

namespace {

struct Fixture {
  std::string dir = nautilus::test::make_temp_dir();
  std::unique_ptr<SqliteStore> store = std::make_unique<SqliteStore>(dir + "/h.db");
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://");
  ~Fixture() {
    router->close();
    std::filesystem::remove_all(dir);
  }
  void publish(BusKind bus, const std::string& topic, MessageType type, Priority p = Priority::kNormal) {
    REQUIRE(router->publish(bus, make_message(topic, type, "{\"t\":\"" + topic + "\"}", p)).is_ok());
  }
  std::vector<std::string> topics() {
    std::vector<std::string> out;
    for (const auto& r : store->events({})) out.push_back(r.topic);
    std::sort(out.begin(), out.end());
    return out;
  }
};

}  // namespace

TEST_CASE("recorder: the default selection records bars, fills, orders, risk, vpin and status, not trades or quotes",
          "[store][recorder]") {
  Fixture f;
  Recorder rec(*f.store, RecorderConfig{});
  rec.start(*f.router);
  struct Case {
    BusKind bus;
    const char* topic;
    MessageType type;
    bool recorded;
  };
  std::vector<Case> cases = {
      {BusKind::kMarketData, "marketdata.real_time.bar.AAPL", MessageType::kBar, true},
      {BusKind::kMarketData, "marketdata.real_time.trade.AAPL", MessageType::kTrade, false},
      {BusKind::kMarketData, "marketdata.real_time.quote.AAPL", MessageType::kQuote, false},
      {BusKind::kEngine, "portfolio.fill.AAPL", MessageType::kFill, true},
      {BusKind::kEngine, "strategy.order.AAPL", MessageType::kOrder, true},
      {BusKind::kEngine, "risk.decision.o-1", MessageType::kRiskAlert, true},
      {BusKind::kEngine, "risk.alert.var", MessageType::kRiskAlert, true},
      {BusKind::kEngine, "risk.state", MessageType::kRiskAlert, true},
      {BusKind::kEngine, "vpin.alert.AAPL", MessageType::kFlashCrashWarning, true},
      {BusKind::kEngine, "vpin.toxicity.AAPL", MessageType::kVpinToxicity, false},
      {BusKind::kEngine, "engine.status.risk", MessageType::kEngineStatus, true},
      {BusKind::kEngine, "analytics.performance.book", MessageType::kPerformanceMetric, true},
      {BusKind::kEngine, "features.1s.AAPL", MessageType::kFeatureUpdate, false},
      {BusKind::kEngine, "system.heartbeat.hb", MessageType::kSystemHealth, false},
  };
  std::vector<std::string> want;
  for (const auto& c : cases) {
    f.publish(c.bus, c.topic, c.type);
    if (c.recorded) want.push_back(c.topic);
  }
  std::sort(want.begin(), want.end());
  REQUIRE(f.router->drain(std::chrono::seconds(5)));
  REQUIRE(rec.flush(std::chrono::seconds(10)));
  CHECK(f.topics() == want);
  auto st = rec.stats();
  CHECK(st.received == want.size());
  CHECK(st.written == want.size());
  CHECK(st.dropped_total == 0);
  // The bar is found by symbol, with its envelope intact.
  MarketQuery q;
  q.symbol = "AAPL";
  auto bars = f.store->market(q);
  REQUIRE(bars.size() == 1);
  CHECK(bars[0].bus == BusKind::kMarketData);
  CHECK(bars[0].payload == "{\"t\":\"marketdata.real_time.bar.AAPL\"}");
  CHECK(bars[0].id.size() == 32);
  CHECK(bars[0].ts_ns > 0);
}

TEST_CASE("recorder: overlapping patterns record a message once; opt-in trades", "[store][recorder]") {
  Fixture f;
  RecorderConfig cfg;
  cfg.topics = {parse_topic_selection("risk.*"), parse_topic_selection("risk.state"),
                parse_topic_selection("marketdata:marketdata.real_time.trade.*"), parse_topic_selection("*.AAPL")};
  CHECK(cfg.topics[2].bus == BusKind::kMarketData);
  CHECK(cfg.topics[3].bus == BusKind::kEngine);
  Recorder rec(*f.store, cfg);
  rec.start(*f.router);
  f.publish(BusKind::kEngine, "risk.state", MessageType::kRiskAlert);
  f.publish(BusKind::kEngine, "risk.alert.AAPL", MessageType::kRiskAlert);  // risk.* and *.AAPL
  f.publish(BusKind::kMarketData, "marketdata.real_time.trade.AAPL", MessageType::kTrade);
  f.publish(BusKind::kEngine, "portfolio.fill.AAPL", MessageType::kFill);
  REQUIRE(f.router->drain(std::chrono::seconds(5)));
  REQUIRE(rec.flush(std::chrono::seconds(10)));
  CHECK(f.topics() == std::vector<std::string>{"marketdata.real_time.trade.AAPL", "portfolio.fill.AAPL",
                                               "risk.alert.AAPL", "risk.state"});
}

TEST_CASE("recorder: topic selections are parsed and checked", "[store][recorder]") {
  CHECK(parse_topic_selection("engine:risk.*") == TopicSelection{BusKind::kEngine, "risk.*"});
  CHECK(parse_topic_selection("marketdata.real_time.quote.*") ==
        TopicSelection{BusKind::kMarketData, "marketdata.real_time.quote.*"});
  CHECK_THROWS_WITH(parse_topic_selection("other:risk.*"), Catch::Contains("unknown bus 'other'"));
  CHECK_THROWS_AS(parse_topic_selection("risk x"), std::invalid_argument);
  CHECK(to_string(parse_topic_selection("risk.state")) == "engine:risk.state");
}

TEST_CASE("recorder: writes whole batches on size and the rest on flush", "[store][recorder]") {
  Fixture f;
  RecorderConfig cfg;
  cfg.topics = {{BusKind::kEngine, "flood.*"}};
  cfg.batch_size = 100;
  cfg.flush_interval = std::chrono::hours(1);  // only size and flush() trigger writes here
  Recorder rec(*f.store, cfg);
  rec.start(*f.router);
  for (int i = 0; i < 350; ++i) f.publish(BusKind::kEngine, "flood.x", MessageType::kSystemHealth);
  REQUIRE(f.router->drain(std::chrono::seconds(5)));
  // Size triggers: three full batches, the last 50 wait for the interval (or flush).
  REQUIRE(nautilus::test::eventually([&] { return rec.stats().written == 300; }, std::chrono::seconds(30)));
  CHECK(rec.stats().batches == 3);
  CHECK(rec.stats().queued == 50);
  REQUIRE(rec.flush(std::chrono::seconds(10)));
  CHECK(rec.stats().written == 350);
  CHECK(rec.stats().batches == 4);
  CHECK(f.store->info().rows == 350);
  rec.stop();
  // After stop nothing more is recorded.
  f.publish(BusKind::kEngine, "flood.x", MessageType::kSystemHealth);
  REQUIRE(f.router->drain(std::chrono::seconds(5)));
  CHECK(rec.stats().received == 350);
}

TEST_CASE("recorder: on Redis, selections that share a stream each keep their messages", "[store][recorder][redis]") {
  // risk.state and risk.alert.* are both in the engine bus's risk stream; one
  // consumer group for both would let one subscription acknowledge (and so
  // drop) the other's entries.
  nautilus::testing::RedisServer redis;
  const std::string dir = nautilus::test::make_temp_dir();
  SqliteStore store(dir + "/h.db");
  auto router = Router::from_urls(redis.url(), redis.url());
  RecorderConfig cfg;
  cfg.topics = {{BusKind::kEngine, "risk.state"}, {BusKind::kEngine, "risk.alert.*"}, {BusKind::kEngine, "risk.decision.*"}};
  cfg.flush_interval = std::chrono::milliseconds(20);
  Recorder rec(store, cfg);
  rec.start(*router);
  const std::vector<std::string> topics = {"risk.state", "risk.alert.AAPL", "risk.decision.AAPL", "risk.state",
                                           "risk.alert.MSFT", "risk.other"};
  for (const auto& t : topics) {
    REQUIRE(router->publish(BusKind::kEngine, make_message(t, MessageType::kRiskAlert, "{\"t\":\"" + t + "\"}")).is_ok());
  }
  REQUIRE(nautilus::test::eventually([&] { return rec.stats().written == 5; }, std::chrono::seconds(30)));
  std::vector<std::string> got;
  for (const auto& r : store.events({})) got.push_back(r.topic);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"risk.alert.AAPL", "risk.alert.MSFT", "risk.decision.AAPL", "risk.state",
                                        "risk.state"});
  rec.stop();
  router->close();
  std::filesystem::remove_all(dir);
}
