// The vpin engine on an in-process router with the simulated clock.
#include <catch2/catch.hpp>

#include <random>

#include "../engine_test_support.h"
#include "core/clock.h"
#include "engines/registry.h"
#include "engines/vpin/vpin_calculator.h"
#include "engines/vpin/vpin_engine.h"

using namespace nautilus;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

std::shared_ptr<Message> trade(const std::string& symbol, std::int64_t ts, double price, double size, int seq) {
  nlohmann::json p = {{"ts_ns", ts}, {"price", price}, {"size", size}};
  auto m = make_message("marketdata.real_time.trade." + symbol, MessageType::kTrade, p.dump());
  m->correlation_id = "trade-" + symbol + "-" + std::to_string(seq);
  m->origin_ns = ts;
  return m;
}

}  // namespace

TEST_CASE("vpin engine: publishes each bucket as the calculator computes it", "[vpin][engine]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector toxicity(*router, BusKind::kEngine, "vpin.toxicity.*");
  auto engine = make_vpin_engine();
  nlohmann::json config = {{"bar_seconds", 1}, {"bucket_volume", 1000}, {"window_buckets", 10},
                           {"cdf_window", 100}, {"min_cdf_samples", 10},
                           {"symbols", {{"MSFT", {{"bucket_volume", 700}}}}}};
  engine->start(EngineContext{*router, clock, config});
  REQUIRE(engine->state() == EngineState::kRunning);

  // The same trades straight into calculators, for the expected buckets.
  nlohmann::json global = config;
  global.erase("symbols");
  vpin::VpinConfig cfg_aapl = vpin::VpinConfig::from_json(global, default_vpin_engine_config());
  vpin::VpinConfig cfg_msft = cfg_aapl;
  cfg_msft.bucket_volume = 700;
  vpin::VpinCalculator ref_aapl(cfg_aapl), ref_msft(cfg_msft);
  std::vector<vpin::VpinBucket> want_aapl, want_msft;

  std::mt19937_64 rng(11);
  std::normal_distribution<double> step(0.0, 0.05);
  std::uniform_int_distribution<int> size(10, 200);
  double pa = 100.0, pm = 50.0;
  const std::int64_t t0 = clock.now_ns() - clock.now_ns() % kSec;
  int seq = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::int64_t ts = t0 + i * (kSec / 10);
    clock.advance_to(ts);
    const bool aapl = i % 3 != 0;
    double& p = aapl ? pa : pm;
    p = std::max(1.0, std::round((p + step(rng)) * 100) / 100);
    const double sz = size(rng);
    REQUIRE(router->publish(trade(aapl ? "AAPL" : "MSFT", ts, p, sz, seq++)).is_ok());
    // What the engine does: a trade entering a new bar closes the other symbol's bar.
    auto& other = aapl ? ref_msft : ref_aapl;
    auto& other_out = aapl ? want_msft : want_aapl;
    if (i % 10 == 0) other.flush(ts, other_out);
    REQUIRE((aapl ? ref_aapl : ref_msft).add_trade(ts, p, sz, aapl ? want_aapl : want_msft).is_ok());
    if (i % 500 == 0) REQUIRE(test::settle(*router));
  }
  // Malformed trades are counted and skipped.
  REQUIRE(router->publish(make_message("marketdata.real_time.trade.AAPL", MessageType::kTrade, "{\"price\": \"x\"}")).is_ok());
  REQUIRE(router->publish(make_message("marketdata.real_time.trade.AAPL", MessageType::kTrade, "{\"price\": -1, \"size\": 5}")).is_ok());
  REQUIRE(router->publish(make_message("marketdata.real_time.trade.AAPL", MessageType::kTrade, "not json")).is_ok());
  REQUIRE(test::settle(*router));

  std::vector<std::pair<std::string, nlohmann::json>> got_aapl, got_msft;
  for (const auto& m : toxicity.messages()) {
    CHECK(m->type == MessageType::kVpinToxicity);
    CHECK(m->source == "vpin");
    CHECK(m->correlation_id.rfind("trade-", 0) == 0);
    CHECK(m->origin_ns != 0);
    auto j = nlohmann::json::parse(m->payload);
    (m->topic == "vpin.toxicity.AAPL" ? got_aapl : got_msft).emplace_back(m->topic, j);
  }
  REQUIRE(got_aapl.size() == want_aapl.size());
  REQUIRE(got_msft.size() == want_msft.size());
  REQUIRE(want_aapl.size() > 100);
  for (std::size_t k = 0; k < want_aapl.size(); ++k) {
    const auto& j = got_aapl[k].second;
    CHECK(j["bucket"] == want_aapl[k].index);
    CHECK(j["buy_volume"].get<double>() == Approx(want_aapl[k].buy_volume).margin(1e-9));
    if (want_aapl[k].vpin) CHECK(j["vpin"].get<double>() == Approx(*want_aapl[k].vpin).margin(1e-12));
    else CHECK(j["vpin"].is_null());
  }
  for (std::size_t k = 0; k < want_msft.size(); ++k) {
    CHECK(got_msft[k].second["bucket_volume"].get<double>() == Approx(700.0));
  }

  auto h = engine->health();
  CHECK(h.metrics["malformed_trades"] == 3);
  CHECK(h.metrics["symbols"]["AAPL"]["buckets"] == want_aapl.size());
  CHECK(h.metrics["symbols"]["AAPL"]["cdf"].is_number());
  CHECK(h.metrics["symbols"]["MSFT"]["bucket_volume"] == 700.0);
  CHECK(h.metrics["symbols"]["AAPL"]["bucket_fill"].get<double>() >= 0.0);
  CHECK(h.metrics["symbols"]["AAPL"]["bucket_fill"].get<double>() < 1.0);
  engine->stop();
}

TEST_CASE("vpin engine: an invalid config is rejected with every error", "[vpin][engine]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  auto engine = make_vpin_engine();
  nlohmann::json bad = {{"window_buckets", 0}, {"symbols", {{"X", {{"cdf_threshold", 3}}}}}};
  try {
    engine->start(EngineContext{*router, clock, bad});
    FAIL("expected the start to fail");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    CHECK(what.find("window_buckets") != std::string::npos);
    CHECK(what.find("symbols.X") != std::string::npos);
  }
  CHECK(engine->state() == EngineState::kError);
}

TEST_CASE("vpin and risk are registered engine kinds", "[vpin][risk][engine]") {
  EngineRegistry registry;
  register_builtin_engines(registry);
  REQUIRE(registry.find("vpin") != nullptr);
  REQUIRE(registry.find("risk") != nullptr);
  CHECK(registry.create("vpin")->kind() == "vpin");
  CHECK(registry.create("risk")->kind() == "risk");
  // Both start with an empty (default) config section.
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  for (const char* kind : {"vpin", "risk"}) {
    auto e = registry.create(kind);
    e->start(EngineContext{*router, clock, nlohmann::json::object()});
    CHECK(e->state() == EngineState::kRunning);
    e->stop();
  }
}

TEST_CASE("vpin engine: config problems by key path, the same list at start", "[vpin][engine][config]") {
  struct Case {
    const char* name;
    nlohmann::json config;
    std::vector<std::pair<std::string, std::string>> want;  // (key, part of the reason)
  };
  const std::vector<Case> cases = {
      {"empty section: the defaults", nlohmann::json::object(), {}},
      {"threshold out of range", {{"cdf_threshold", 1.5}}, {{"cdf_threshold", "must be between 0 and 1 (got 1.5)"}}},
      {"unknown key", {{"bogus_key", 1}}, {{"bogus_key", "unknown key"}}},
      {"wrong type", {{"window_buckets", "ten"}}, {{"window_buckets", "must be an integer (got a string)"}}},
      {"integer range", {{"persistence_buckets", 0}}, {{"persistence_buckets", "must be between 1 and"}}},
      {"floor range", {{"vpin_floor", -0.1}}, {{"vpin_floor", "must be between 0 and 1"}}},
      {"re-arm above threshold", {{"cdf_threshold", 0.9}, {"rearm_cdf", 0.95}}, {{"rearm_cdf", "at most cdf_threshold"}}},
      {"history shorter than its minimum", {{"cdf_window", 10}, {"min_cdf_samples", 20}},
       {{"min_cdf_samples", "at most cdf_window (10)"}}},
      {"no bucket volume", {{"bucket_volume", 0}}, {{"bucket_volume", "set bucket_volume > 0"}}},
      {"per symbol, with its path", {{"symbols", {{"AAPL", {{"window_buckets", 0}, {"nope", true}}}}}},
       {{"symbols.AAPL.window_buckets", "must be between 1 and"}, {"symbols.AAPL.nope", "unknown key"}}},
      {"symbols not a table", {{"symbols", 3}}, {{"symbols", "must be a table"}}},
      {"every problem at once", {{"bar_seconds", 0}, {"cdf_threshold", 2}, {"x", 1}},
       {{"bar_seconds", "must be between"}, {"cdf_threshold", "must be between"}, {"x", "unknown key"}}},
  };
  auto engine = make_vpin_engine();
  for (const auto& cs : cases) {
    SECTION(cs.name) {
      auto problems = engine->config_problems(cs.config);
      INFO(join_problems(problems));
      REQUIRE(problems.size() == cs.want.size());
      for (std::size_t i = 0; i < cs.want.size(); ++i) {
        bool found = false;
        for (const auto& p : problems) {
          found = found || (p.key == cs.want[i].first && p.reason.find(cs.want[i].second) != std::string::npos);
        }
        CHECK(found);
      }
      SimulatedClock clock;
      auto router = Router::from_urls("inproc://", "inproc://", &clock);
      auto e = make_vpin_engine();
      if (cs.want.empty()) {
        e->start(EngineContext{*router, clock, cs.config});
        CHECK(e->state() == EngineState::kRunning);
        e->stop();
      } else {
        try {
          e->start(EngineContext{*router, clock, cs.config});
          FAIL("expected the start to fail");
        } catch (const std::runtime_error& ex) {
          CHECK(std::string(ex.what()).find(cs.want[0].first + ": ") != std::string::npos);
        }
        CHECK(e->state() == EngineState::kError);
      }
    }
  }
}

TEST_CASE("vpin engine: an empty section runs the engine defaults, documented in its header", "[vpin][engine][config]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  auto engine = make_vpin_engine();
  engine->start(EngineContext{*router, clock, nlohmann::json::object()});
  const auto cfg = engine->health().metrics["config"];
  const auto want = default_vpin_engine_config().to_json();
  CHECK(cfg == want);
  CHECK(cfg["bar_seconds"] == static_cast<double>(kDefaultBarSeconds));
  CHECK(cfg["bucket_volume"] == kDefaultBucketVolume);
  CHECK(cfg["window_buckets"] == kDefaultWindowBuckets);
  CHECK(cfg["warmup_buckets"] == kDefaultWarmupBuckets);
  CHECK(cfg["persistence_buckets"] == kDefaultPersistenceBuckets);
  CHECK(cfg["vpin_floor"] == kDefaultVpinFloor);
  // adv alone replaces the default bucket volume: V = adv / buckets_per_day.
  engine->stop();
  engine->start(EngineContext{*router, clock, {{"adv", 1'000'000}, {"buckets_per_day", 100}}});
  CHECK(engine->health().metrics["config"]["effective_bucket_volume"] == 10'000.0);
  engine->stop();
}
