// The ml engine on an in-process router with the simulated clock: its outputs
// are the detector's for the same closes, in order and the same every run;
// the hub's bar snapshots are closed by the next start; config problems.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "../engine_test_support.h"
#include "core/clock.h"
#include "engines/features/features_engine.h"
#include "engines/ml/ml_engine.h"
#include "engines/ml/regime_detector.h"
#include "engines/registry.h"
#include "ml_test_support.h"

using namespace nautilus;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kMinute = 60 * kSec;

std::shared_ptr<Message> feature_update(const std::string& symbol, std::int64_t close_ns, double close, int seq) {
  nlohmann::json p = {{"symbol", symbol}, {"interval", "1m"}, {"bar_index", seq}, {"close_ns", close_ns},
                      {"close", close}, {"sma", nullptr}};
  auto m = make_message("features.1m." + symbol, MessageType::kFeatureUpdate, p.dump());
  m->origin_ns = close_ns - 5;
  m->correlation_id = "bar-" + symbol + "-" + std::to_string(seq);
  return m;
}

struct Seen {
  std::string topic;
  MessageType type;
  Priority priority;
  std::string source;
  std::int64_t timestamp_ns, origin_ns;
  std::string correlation_id;
  std::string payload;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> seen(const test::Collector& c) {
  std::vector<Seen> out;
  for (const auto& m : c.messages()) {
    out.push_back({m->topic, m->type, m->priority, m->source, m->timestamp_ns, m->origin_ns, m->correlation_id, m->payload});
  }
  return out;
}

const nlohmann::json kEmConfig = {{"source", "features"}, {"interval", "1m"},       {"states", 2},
                                  {"fit", "em"},          {"warmup_bars", 120},     {"window_bars", 300},
                                  {"refit_every_bars", 50}, {"min_probability", 0.9}, {"min_bars", 5}};

// Two symbols, 600 closes each: calm rise, turbulent fall, calm rise.
struct Run {
  std::vector<Seen> predictions, regimes;
  nlohmann::json metrics;
};

Run run_features(const nlohmann::json& config) {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector predictions(*router, BusKind::kEngine, "ml.prediction.*");
  test::Collector regimes(*router, BusKind::kEngine, "ml.regime.*");
  auto engine = make_ml_engine();
  engine->start(EngineContext{*router, clock, config});
  REQUIRE(engine->state() == EngineState::kRunning);
  const auto ya = ml::test::segments({{200, 0.001, 0.004}, {200, -0.002, 0.012}, {200, 0.001, 0.004}}, 1);
  const auto ym = ml::test::segments({{300, -0.001, 0.01}, {300, 0.0005, 0.003}}, 2);
  double pa = 100, pm = 50;
  const std::int64_t t0 = clock.now_ns() - clock.now_ns() % kMinute;
  for (int i = 0; i < 600; ++i) {
    const std::int64_t ts = t0 + (i + 1) * kMinute;
    REQUIRE(router->publish(feature_update("AAPL", ts, pa, i)).is_ok());
    REQUIRE(router->publish(feature_update("MSFT", ts, pm, i)).is_ok());
    pa *= std::exp(ya[static_cast<std::size_t>(i)]);
    pm *= std::exp(ym[static_cast<std::size_t>(i)]);
    // The clock moves only once the bus has settled, so every output's
    // timestamp is the same whatever the threads' timing.
    if (i % 50 == 49) {
      REQUIRE(test::settle(*router));
      clock.advance_to(ts);
    }
  }
  // Malformed inputs are counted and skipped.
  REQUIRE(router->publish(make_message("features.1m.AAPL", MessageType::kFeatureUpdate, "{\"close\": \"x\"}")).is_ok());
  REQUIRE(router->publish(make_message("features.1m.AAPL", MessageType::kFeatureUpdate, "not json")).is_ok());
  REQUIRE(router->publish(make_message("features.1m.AAPL", MessageType::kFeatureUpdate, "{\"close\": -3}")).is_ok());
  REQUIRE(test::settle(*router));
  Run run{seen(predictions), seen(regimes), engine->health().metrics};
  engine->stop();
  return run;
}

}  // namespace

TEST_CASE("ml engine: predictions are the detector's for the same closes, carried and labelled", "[ml][engine]") {
  Run run = run_features(kEmConfig);
  // The same closes straight into detectors.
  ml::DetectorConfig dc;
  dc.states = 2;
  dc.warmup_bars = 120;
  dc.window_bars = 300;
  dc.refit_every_bars = 50;
  dc.min_probability = 0.9;
  dc.min_bars = 5;
  const auto ya = ml::test::segments({{200, 0.001, 0.004}, {200, -0.002, 0.012}, {200, 0.001, 0.004}}, 1);
  ml::RegimeDetector ref(dc);
  std::vector<ml::RegimeOutput> want;
  double pa = 100;
  for (int i = 0; i < 600; ++i) {
    ml::RegimeOutput o;
    if (ref.on_close(pa, o) == ml::StepResult::kOutput) want.push_back(o);
    pa *= std::exp(ya[static_cast<std::size_t>(i)]);
  }
  // The third malformed input (close −3) reaches the detector and is refused there.
  std::vector<nlohmann::json> got;
  for (const auto& s : run.predictions) {
    CHECK(s.type == MessageType::kMlPrediction);
    CHECK(s.priority == Priority::kNormal);
    CHECK(s.source == "ml");
    if (s.topic == "ml.prediction.AAPL") got.push_back(nlohmann::json::parse(s.payload));
  }
  REQUIRE(want.size() == 600 - 120);
  REQUIRE(got.size() == want.size());
  int refits = 0;
  for (std::size_t k = 0; k < want.size(); ++k) {
    const auto& j = got[k];
    const auto& w = want[k];
    INFO("prediction " << k);
    CHECK(j["bar"] == w.bar);
    CHECK(j["regime"] == std::string(to_string(w.regime)));
    CHECK(j["most_likely"] == std::string(to_string(w.most_likely)));
    CHECK(j["probabilities"]["bull"].get<double>() == w.probability_of(ml::Regime::kBull));
    CHECK(j["probabilities"]["bear"].get<double>() == w.probability_of(ml::Regime::kBear));
    CHECK_FALSE(j["probabilities"].contains("high_vol"));
    CHECK(j["predictive_mean"].get<double>() == w.next.mean);
    CHECK(j["predictive_variance"].get<double>() == w.next.variance);
    CHECK(j["log_likelihood"].get<double>() == w.log_likelihood);
    CHECK(j["states"].size() == 2);
    refits += j["refitted"].get<bool>() ? 1 : 0;
  }
  CHECK(refits == 1 + (600 - 1 - 120) / 50);
  // Origin and correlation of the feature_update that closed the bar.
  const auto& first = run.predictions.front();
  CHECK(first.correlation_id.rfind("bar-", 0) == 0);
  CHECK(first.origin_ns != 0);

  // Regime changes: high priority, the first one announces (from null), then each held change.
  int aapl_changes = 0;
  for (const auto& s : run.regimes) {
    CHECK(s.type == MessageType::kRegimeChange);
    CHECK(s.priority == Priority::kHigh);
    if (s.topic != "ml.regime.AAPL") continue;
    auto j = nlohmann::json::parse(s.payload);
    if (aapl_changes == 0) {
      CHECK(j["from"].is_null());
      CHECK(j["bar"] == 120);
    } else {
      CHECK(j["from"].is_string());
      CHECK(j["from"] != j["to"]);
      CHECK(j["bars_in_previous"].get<int>() >= 5);
      CHECK(j["probability"].get<double>() >= 0.9);
    }
    CHECK(j["regime"] == j["to"]);
    ++aapl_changes;
  }
  int want_changes = 0;
  for (const auto& w : want) want_changes += w.changed ? 1 : 0;
  CHECK(want_changes >= 1);
  CHECK(aapl_changes == want_changes + 1);

  const auto& m = run.metrics;
  CHECK(m["malformed"] == 2);
  CHECK(m["refused_closes"] == 1);
  CHECK(m["predictions"] == 2 * (600 - 120));
  CHECK(m["symbols"]["AAPL"]["bars"] == 599);
  CHECK(m["symbols"]["AAPL"]["regime"] == std::string(to_string(want.back().regime)));
  CHECK(m["symbols"]["AAPL"]["p_bull"].get<double>() == want.back().probability_of(ml::Regime::kBull));
  CHECK(m["symbols"]["AAPL"]["p_high_vol"].is_null());
  CHECK(m["symbols"]["MSFT"]["state"] == "ready");
}

TEST_CASE("ml engine: the same input gives the same outputs, in order, every run", "[ml][engine]") {
  Run a = run_features(kEmConfig);
  Run b = run_features(kEmConfig);
  REQUIRE(a.predictions.size() == 2 * (600 - 120));
  for (std::size_t i = 0; i < std::min(a.predictions.size(), b.predictions.size()); ++i) {
    INFO("prediction " << i << ": " << a.predictions[i].topic << " " << a.predictions[i].timestamp_ns << " "
                       << a.predictions[i].payload << " vs " << b.predictions[i].topic << " "
                       << b.predictions[i].timestamp_ns << " " << b.predictions[i].payload);
    REQUIRE(a.predictions[i] == b.predictions[i]);
  }
  CHECK(a.predictions == b.predictions);
  CHECK(a.regimes == b.regimes);
  CHECK(a.metrics == b.metrics);
}

TEST_CASE("ml engine: the hub's bar snapshots, closed by the next start", "[ml][engine][bars]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector predictions(*router, BusKind::kEngine, "ml.prediction.*");
  auto engine = make_ml_engine();
  // Fixed parameters: an output from the first return on.
  nlohmann::json config = {{"source", "bars"},
                           {"interval", "1m"},
                           {"fit", "fixed"},
                           {"parameters",
                            {{"means", {0.001, -0.001}},
                             {"variances", {1e-5, 1e-4}},
                             {"transition", {{0.95, 0.1}, {0.05, 0.9}}}}}};
  engine->start(EngineContext{*router, clock, config});
  REQUIRE(engine->state() == EngineState::kRunning);
  const std::int64_t t0 = clock.now_ns() - clock.now_ns() % kMinute;
  auto bar = [&](std::int64_t start, double close, int interval_s = 60, bool closed = false) {
    nlohmann::json p = {{"symbol", "AAPL"}, {"start_ns", start}, {"interval_s", interval_s}, {"open", close},
                        {"high", close},    {"low", close},       {"close", close},          {"volume", 10}};
    if (closed) p["closed"] = true;
    return make_message("marketdata.real_time.bar.AAPL", MessageType::kBar, p.dump());
  };
  std::vector<double> closes;
  for (int k = 0; k < 6; ++k) {
    const std::int64_t start = t0 + k * kMinute;
    // Three snapshots of the forming bar; the last one's close is the bar's.
    for (int s = 0; s < 3; ++s) {
      clock.advance_to(start + (s + 1) * 10 * kSec);
      REQUIRE(router->publish(bar(start, 100.0 + k + 0.1 * s)).is_ok());
    }
    closes.push_back(100.0 + k + 0.2);
  }
  REQUIRE(router->publish(bar(t0 + 2 * kMinute, 55.0)).is_ok());    // an older bar: late
  REQUIRE(router->publish(bar(t0 + 5 * kMinute, 1.0, 300)).is_ok());  // a 5m bar: unmatched
  REQUIRE(router->publish(bar(t0 + 6 * kMinute, 107.0, 60, true)).is_ok());  // closes bar 5 and itself
  closes.push_back(107.0);
  REQUIRE(test::settle(*router));

  ml::DetectorConfig dc;
  dc.fit_em = false;
  dc.params = ml::test::two_state(0.001, 1e-5, -0.001, 1e-4, 0.95, 0.9);
  dc.min_probability = 0.9;
  dc.min_bars = 10;
  ml::RegimeDetector ref(dc);
  std::vector<ml::RegimeOutput> want;
  for (double c : closes) {
    ml::RegimeOutput o;
    if (ref.on_close(c, o) == ml::StepResult::kOutput) want.push_back(o);
  }
  auto msgs = predictions.messages();
  REQUIRE(msgs.size() == want.size());
  REQUIRE(want.size() == 6);
  for (std::size_t k = 0; k < want.size(); ++k) {
    auto j = nlohmann::json::parse(msgs[k]->payload);
    CHECK(j["bar"] == k + 1);
    CHECK(j["close_ns"] == t0 + static_cast<std::int64_t>(k + 2) * kMinute);
    // 1 − 0.95 in the reference's matrix is not the configured 0.05 to the last bit.
    CHECK(j["probabilities"]["bull"].get<double>() == Approx(want[k].probability_of(ml::Regime::kBull)).margin(1e-12));
    CHECK(j["log_likelihood"].get<double>() == Approx(want[k].log_likelihood).epsilon(1e-12));
  }
  auto m = engine->health().metrics;
  CHECK(m["late_bars"] == 1);
  CHECK(m["unmatched_bars"] == 1);
  CHECK(m["symbols"]["AAPL"]["bars"] == 6);
  engine->stop();
}

TEST_CASE("ml engine: config_problems names every bad key; start refuses the same config", "[ml][engine][config]") {
  auto engine = make_ml_engine();
  CHECK(engine->config_problems(nlohmann::json::object()).empty());
  CHECK(engine->config_problems(kEmConfig).empty());
  const nlohmann::json good_params = {{"means", {0.001, -0.001}}, {"variances", {1e-5, 1e-4}},
                                      {"transition", {{0.95, 0.1}, {0.05, 0.9}}}};
  auto with_params = [&](const char* k, nlohmann::json v) {
    nlohmann::json p = good_params;
    p[k] = std::move(v);
    return nlohmann::json{{"fit", "fixed"}, {"parameters", p}};
  };
  CHECK(engine->config_problems({{"fit", "fixed"}, {"parameters", good_params}}).empty());
  CHECK(engine->config_problems({{"parameters", good_params}}).empty());  // an EM start
  struct Case {
    nlohmann::json config;
    std::string key;
  };
  const Case cases[] = {
      {{{"bogus", 1}}, "bogus"},
      {{{"states", 4}}, "states"},
      {{{"states", 1}}, "states"},
      {{{"fit", "magic"}}, "fit"},
      {{{"fit", "fixed"}}, "parameters"},
      {{{"source", "ticks"}}, "source"},
      {{{"interval", "soon"}}, "interval"},
      {{{"interval", "10ms"}}, "interval"},
      {{{"warmup_bars", 600}}, "window_bars"},  // above the default window of 500
      {{{"min_probability", 1.5}}, "min_probability"},
      {{{"min_bars", 0}}, "min_bars"},
      {{{"variance_floor", 0}}, "variance_floor"},
      {{{"tolerance", -1}}, "tolerance"},
      {{{"refit_every_bars", -1}}, "refit_every_bars"},
      {with_params("transition", {{0.95, 0.2}, {0.1, 0.9}}), "parameters.transition"},      // columns sum to 1.05, 1.1
      {with_params("transition", {{1.2, 0.1}, {-0.2, 0.9}}), "parameters.transition[0][0]"},  // and [1][0]
      {with_params("transition", {{1.0, 0.0}, {0.0, 1.0}}), "parameters.transition"},       // no unique stationary law
      {with_params("transition", {{0.9, 0.1}}), "parameters.transition"},
      {with_params("means", {0.1}), "parameters.means"},
      {with_params("means", {0.1, "x"}), "parameters.means[1]"},
      {with_params("variances", {1e-4, -1}), "parameters.variances[1]"},
      {with_params("extra", 1), "parameters.extra"},
  };
  for (const auto& c : cases) {
    INFO(c.config.dump());
    auto problems = engine->config_problems(c.config);
    REQUIRE(!problems.empty());
    CHECK(problems[0].key == c.key);
    SimulatedClock clock;
    auto router = Router::from_urls("inproc://", "inproc://", &clock);
    auto e = make_ml_engine();
    CHECK_THROWS_AS(e->start(EngineContext{*router, clock, c.config}), std::runtime_error);
  }
  // Every problem at once.
  CHECK(engine->config_problems({{"states", 9}, {"min_bars", -3}, {"oops", true}}).size() == 3);
  CHECK(engine->config_problems(with_params("transition", {{1.2, 0.1}, {-0.2, 0.9}})).size() == 2);
}

TEST_CASE("ml is a registered engine kind that starts with an empty section", "[ml][engine]") {
  EngineRegistry registry;
  register_builtin_engines(registry);
  REQUIRE(registry.find("ml") != nullptr);
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  auto e = registry.create("ml");
  CHECK(e->kind() == "ml");
  e->start(EngineContext{*router, clock, nlohmann::json::object()});
  CHECK(e->state() == EngineState::kRunning);
  CHECK(e->subscribes_to() == std::vector<std::string>{"features.1s.*"});
  CHECK(e->health().metrics["symbols"].is_object());
  e->stop();
}

TEST_CASE("ml engine: fed by the real features engine, one prediction per closed bar after the first", "[ml][engine][features]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector features(*router, BusKind::kEngine, "features.1s.*");
  test::Collector predictions(*router, BusKind::kEngine, "ml.prediction.*");
  auto fe = make_features_engine();
  fe->start(EngineContext{*router, clock, {{"intervals", {"1s"}}, {"close_on_clock", false}}});
  auto ml_engine = make_ml_engine();
  ml_engine->start(EngineContext{*router, clock,
                                 {{"interval", "1s"},
                                  {"fit", "fixed"},
                                  {"parameters",
                                   {{"means", {0.0, 0.0}}, {"variances", {1e-6, 1e-4}},
                                    {"transition", {{0.95, 0.1}, {0.05, 0.9}}}}}}});
  REQUIRE(fe->state() == EngineState::kRunning);
  REQUIRE(ml_engine->state() == EngineState::kRunning);
  const std::int64_t t0 = clock.now_ns() - clock.now_ns() % kSec + kSec;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> step(0.0, 0.002);
  double price = 100;
  for (int i = 0; i < 200; ++i) {
    const std::int64_t ts = t0 + i * (kSec / 4);  // four trades per 1 s bar
    price *= std::exp(step(rng));
    nlohmann::json t = {{"ts_ns", ts}, {"price", price}, {"size", 10}};
    auto m = make_message("marketdata.real_time.trade.AAPL", MessageType::kTrade, t.dump());
    m->origin_ns = ts;
    REQUIRE(router->publish(m).is_ok());
    if (i % 20 == 19) {
      REQUIRE(test::settle(*router));
      clock.advance_to(ts);
    }
  }
  REQUIRE(test::settle(*router));
  auto bars = features.messages();
  auto preds = predictions.messages();
  REQUIRE(bars.size() >= 40);
  REQUIRE(preds.size() == bars.size() - 1);
  // Each prediction's close_ns is its bar's, and the log return is of the bars' closes.
  ml::RegimeDetector ref([] {
    ml::DetectorConfig dc;
    dc.fit_em = false;
    dc.params = ml::test::two_state(0.0, 1e-6, 0.0, 1e-4, 0.95, 0.9);
    return dc;
  }());
  std::size_t k = 0;
  for (const auto& b : bars) {
    auto j = nlohmann::json::parse(b->payload);
    ml::RegimeOutput o;
    if (ref.on_close(j["close"].get<double>(), o) != ml::StepResult::kOutput) continue;
    auto p = nlohmann::json::parse(preds[k]->payload);
    CHECK(p["close_ns"] == j["close_ns"]);
    CHECK(p["log_likelihood"].get<double>() == Approx(o.log_likelihood).epsilon(1e-12));
    CHECK(preds[k]->origin_ns == b->origin_ns);
    CHECK(preds[k]->correlation_id == b->correlation_id);
    ++k;
  }
  CHECK(k == preds.size());
  ml_engine->stop();
  fe->stop();
}
