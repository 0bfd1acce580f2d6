// `nautilus bench engines`: updates per second of the features and ml
// calculators on one core, and of each engine on the in-process bus with
// decoding and publishing included (issue 12's goals: the indicator set
// >= 1,000,000 bars/s, the regime filter >= 2,000,000 updates/s, each engine
// >= 200,000 bars/s). Inputs are generated before the clock starts; each case
// runs `--runs` times and the median is reported with the min and max.
// Rates are per CPU-second (the goals are per core): of the calculating thread
// for the calculators, of the whole process (publisher, delivery threads,
// engine) for the engines, which is what a busy shared machine does not skew;
// the wall-clock rates are reported beside them.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <thread>

#include <time.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/router.h"
#include "commands.h"
#include "core/clock.h"
#include "core/json_fields.h"
#include "core/message.h"
#include "engines/analytics/attribution.h"
#include "engines/analytics/performance.h"
#include "engines/factor/factor_model.h"
#include "engines/features/feature_set.h"
#include "engines/ml/markov_switching.h"
#include "engines/registry.h"

namespace nautilus::cli {
namespace {

using Clock = std::chrono::steady_clock;

double cpu_seconds(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Wall and CPU time of one run.
class RunTimer {
 public:
  explicit RunTimer(clockid_t cpu_clock) : cpu_clock_(cpu_clock), wall0_(Clock::now()), cpu0_(cpu_seconds(cpu_clock)) {}
  double wall() const { return std::chrono::duration<double>(Clock::now() - wall0_).count(); }
  double cpu() const { return cpu_seconds(cpu_clock_) - cpu0_; }

 private:
  clockid_t cpu_clock_;
  Clock::time_point wall0_;
  double cpu0_;
};

struct EnginesBenchArgs {
  std::uint64_t bars = 2'000'000;         // calculator updates per run
  std::uint64_t engine_bars = 200'000;    // bars through each engine per run
  int symbols = 16;
  int runs = 3;
  std::uint64_t seed = 7;
};

struct CaseResult {
  std::string name;
  std::string unit;
  double goal = 0;
  std::uint64_t updates = 0;
  std::vector<double> rates;       // per CPU-second, per run
  std::vector<double> wall_rates;  // per wall second, per run
  double checksum = 0;        // keeps the optimiser honest; printed in --json
  std::string note;
  double median() const {
    std::vector<double> r = rates;
    std::sort(r.begin(), r.end());
    return r.empty() ? 0 : r[r.size() / 2];
  }
  double min() const { return rates.empty() ? 0 : *std::min_element(rates.begin(), rates.end()); }
  double max() const { return rates.empty() ? 0 : *std::max_element(rates.begin(), rates.end()); }
  double wall_median() const {
    std::vector<double> r = wall_rates;
    std::sort(r.begin(), r.end());
    return r.empty() ? 0 : r[r.size() / 2];
  }
  void add(double count, const RunTimer& t) {
    rates.push_back(count / t.cpu());
    wall_rates.push_back(count / t.wall());
  }
};

// A geometric random walk of OHLCV bars, valid for FeatureSet::update.
std::vector<features::Bar> make_bars(std::uint64_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0, 0.001);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<features::Bar> bars(n);
  double price = 100.0;
  for (std::uint64_t i = 0; i < n; ++i) {
    features::Bar& b = bars[i];
    b.start_ns = static_cast<std::int64_t>(i) * 1'000'000'000;
    b.end_ns = b.start_ns + 1'000'000'000;
    b.open = price;
    price *= std::exp(step(rng));
    b.close = price;
    b.high = std::max(b.open, b.close) * (1.0 + 0.0005 * u(rng));
    b.low = std::min(b.open, b.close) * (1.0 - 0.0005 * u(rng));
    b.volume = 100.0 + 1000.0 * u(rng);
    b.vwap = features::typical_price(b.high, b.low, b.close);
    b.trades = 10;
  }
  return bars;
}

// The hot fields of a trade (VPIN's input) read from its payload: the
// allocation-free reader the VPIN engine uses, against the nlohmann parse it
// replaced, on the same payloads in the same run.
std::vector<std::string> make_trade_payloads(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> px(90.0, 110.0);
  std::vector<std::string> out;
  for (int i = 0; i < 4096; ++i) {
    out.push_back(nlohmann::json{{"symbol", "FC" + std::to_string(i % 16)},
                                 {"price", px(rng)},
                                 {"size", 1 + static_cast<int>(rng() % 500)},
                                 {"side", i % 2 ? "buy" : "sell"},
                                 {"ts_ns", 1764547200000000000LL + i * 1'000'000LL}}
                      .dump());
  }
  return out;
}

CaseResult bench_trade_fields(const EnginesBenchArgs& a, bool fast) {
  CaseResult r{fast ? "trade payload -> price, size, ts (read_json_fields)" : "trade payload -> price, size, ts (nlohmann parse)",
               "trades/s", 0, a.bars, {}, {}, 0, ""};
  const auto payloads = make_trade_payloads(a.seed);
  constexpr std::array<std::string_view, 4> kKeys = {"symbol", "price", "size", "ts_ns"};
  for (int run = 0; run < a.runs; ++run) {
    double sum = 0;
    RunTimer t(CLOCK_THREAD_CPUTIME_ID);
    for (std::uint64_t i = 0; i < a.bars; ++i) {
      const std::string& text = payloads[i % payloads.size()];
      if (fast) {
        std::array<JsonField, kKeys.size()> f;
        if (read_json_fields(text, kKeys, f) == JsonFieldsResult::kOk) sum += f[1].number * f[2].number + static_cast<double>(f[3].as_int64 & 1);
      } else {
        auto j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_object()) sum += j["price"].get<double>() * j["size"].get<double>() + static_cast<double>(j["ts_ns"].get<std::int64_t>() & 1);
      }
    }
    r.add(static_cast<double>(a.bars), t);
    r.checksum = sum;
  }
  return r;
}

CaseResult bench_feature_set(const EnginesBenchArgs& a) {
  CaseResult r{"features calculator (full indicator set)", "bars/s", 1'000'000, a.bars, {}, {}, 0, ""};
  auto bars = make_bars(a.bars, a.seed);
  for (int run = 0; run < a.runs; ++run) {
    features::FeatureSet set(features::FeatureParams{});
    double sum = 0;
    RunTimer t(CLOCK_THREAD_CPUTIME_ID);
    for (const auto& b : bars) {
      if (set.update(b).is_ok()) sum += set.values().macd_histogram.value_or(0.0);
    }
    r.add(static_cast<double>(a.bars), t);
    r.checksum = sum;
  }
  return r;
}

CaseResult bench_regime_filter(const EnginesBenchArgs& a, int states) {
  CaseResult r{"ml calculator (Hamilton filter, " + std::to_string(states) + " states)", "updates/s", 2'000'000,
               a.bars, {}, {}, 0, ""};
  ml::MsParams p;
  p.states = states;
  if (states == 2) {
    p.mean = {0.0005, -0.001, 0};
    p.variance = {1e-6, 9e-6, 0};
    p.transition = {{{0.98, 0.05, 0}, {0.02, 0.95, 0}, {0, 0, 0}}};
  } else {
    p.mean = {0.0005, -0.001, 0.0};
    p.variance = {1e-6, 4e-6, 2.5e-5};
    p.transition = {{{0.97, 0.03, 0.05}, {0.02, 0.95, 0.05}, {0.01, 0.02, 0.90}}};
  }
  std::mt19937_64 rng(a.seed);
  std::normal_distribution<double> noise(0.0, 0.002);
  std::vector<double> returns(a.bars);
  for (auto& y : returns) y = noise(rng);
  for (int run = 0; run < a.runs; ++run) {
    ml::HamiltonFilter filter(p, 1e-12);
    double sum = 0;
    RunTimer t(CLOCK_THREAD_CPUTIME_ID);
    for (double y : returns) {
      filter.update(y);
      sum += filter.filtered()[0];
    }
    r.add(static_cast<double>(a.bars), t);
    r.checksum = sum + filter.log_likelihood();
  }
  return r;
}

// What the analytics engine computes per equity sample of one subject: the
// interval and daily series (running sums, the sorted VaR window of 1,000), and
// one Brinson-Fachler period over 11 sectors and cash linked by Carino (issue
// 14's goal: <= 10 us per update, i.e. >= 100,000 updates/s).
CaseResult bench_analytics_sample(const EnginesBenchArgs& a) {
  const std::uint64_t samples = std::max<std::uint64_t>(a.bars / 10, 1'000);
  CaseResult r{"analytics update per equity sample (11 sectors)", "samples/s", 100'000, samples, {}, {}, 0, ""};
  std::mt19937_64 rng(a.seed);
  std::normal_distribution<double> step(0.0002, 0.002);
  std::vector<double> equity(samples);
  double e = 1'000'000;
  for (auto& x : equity) x = (e *= 1.0 + step(rng));
  constexpr int kSectors = 11;
  std::vector<analytics::Segment> segments(kSectors + 1);
  for (int i = 0; i <= kSectors; ++i) {
    auto& s = segments[static_cast<std::size_t>(i)];
    s.name = i == kSectors ? "cash" : "sector" + std::to_string(i);
    s.portfolio_weight = s.benchmark_weight = 1.0 / (kSectors + 1);
    s.benchmark_return = 0.0001 * i;
  }
  for (int run = 0; run < a.runs; ++run) {
    analytics::PerformanceTracker tracker({98'280, 0.0, 0.95, 1000}, {252, 0.0, 0.95, 1000});
    analytics::CarinoLinker link;
    RunTimer t(CLOCK_THREAD_CPUTIME_ID);
    for (std::uint64_t i = 0; i < samples; ++i) {
      tracker.curve.add_sample(static_cast<std::int64_t>(i) * 60'000'000'000, equity[i]);
      const double r_last = i == 0 ? 0.0 : equity[i] / equity[i - 1] - 1.0;
      for (int k = 0; k < kSectors; ++k) segments[static_cast<std::size_t>(k)].portfolio_return = r_last * (1.0 + 0.1 * k);
      link.add(segments, analytics::brinson_fachler(segments));
    }
    r.add(static_cast<double>(samples), t);
    r.checksum = link.portfolio_return() + tracker.curve.interval().snapshot().sharpe.value.value_or(0.0);
  }
  return r;
}

// One step of the factor engine's model (issue 14's goal: <= 50 ms per step on
// one core, i.e. >= 20 steps/s): 3,000 assets in 11 sectors, momentum from
// each asset's 524 daily returns (toraniko's 504-day window, 20-day lag), then
// value and size, winsorised and standardised, and the two-stage WLS.
CaseResult bench_factor_step(const EnginesBenchArgs& a) {
  constexpr std::size_t kAssets = 3'000;
  constexpr int kSectors = 11;
  const std::uint64_t steps = std::max<std::uint64_t>(a.bars / 100'000, 10);
  CaseResult r{"factor step (3,000 assets x 11 sectors x 3 styles)", "steps/s", 20, steps, {}, {}, 0, ""};
  const factor::MomentumParams momentum;  // 504 / 126 / 20
  const std::vector<double> weights = factor::momentum_weights(momentum);
  const std::size_t history = momentum.required() + steps;
  std::mt19937_64 rng(a.seed);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::vector<double>> returns(kAssets, std::vector<double>(history));
  std::vector<factor::AssetInput> assets(kAssets);
  for (std::size_t i = 0; i < kAssets; ++i) {
    for (double& x : returns[i]) x = noise(rng);
    assets[i].market_cap = 1e8 * std::pow(1'000.0, u(rng));
    assets[i].book_value = assets[i].market_cap * (0.1 + u(rng));
    assets[i].sector = static_cast<int>(i % kSectors);
  }
  std::vector<std::string> sectors;
  for (int s = 0; s < kSectors; ++s) sectors.push_back("sector" + std::to_string(s));
  for (int run = 0; run < a.runs; ++run) {
    double sum = 0;
    RunTimer t(CLOCK_THREAD_CPUTIME_ID);
    for (std::uint64_t step = 0; step < steps; ++step) {
      const std::size_t end = momentum.required() + step;  // the window slides a day per step
      for (std::size_t i = 0; i < kAssets; ++i) {
        std::span<const double> past(returns[i].data(), end);
        assets[i].period_return = returns[i][end - 1];
        assets[i].momentum = factor::momentum_score(past, momentum, weights);
      }
      const auto period = factor::factor_step(assets, sectors, factor::ModelOptions{});
      sum += period.factors.market + period.factors.styles[0];
    }
    r.add(static_cast<double>(steps), t);
    r.checksum = sum;
  }
  return r;
}

// One engine kind started on an in-process Router (threaded delivery, live
// clock), fed `inputs` on `input_bus`; times publish of the first input to the
// delivery of the last expected output on `output_pattern`.
struct EngineCase {
  std::string kind;
  nlohmann::json config;
  BusKind input_bus;
  MessageType input_type;
  std::string output_pattern;
};

// Returns the outputs seen; `r` gets the run's rates.
std::uint64_t run_engine_once(const EngineCase& c, const std::vector<std::pair<std::string, std::string>>& inputs,
                              std::uint64_t expected_outputs, CaseResult& r) {
  EngineRegistry registry;
  register_builtin_engines(registry);
  auto router = Router::from_urls("inproc://", "inproc://", &live_clock());
  auto engine = registry.create(c.kind);
  std::atomic<std::uint64_t> outputs{0};
  SubscribeOptions so;
  so.name = "bench-sink";
  so.queue_capacity = 1 << 16;
  so.overflow = OverflowPolicy::kBlock;  // the sink counts every output: none may be dropped
  auto sink = router->subscribe(BusKind::kEngine, c.output_pattern,
                                [&outputs](const MessagePtr&) { outputs.fetch_add(1, std::memory_order_relaxed); }, so);
  engine->start(EngineContext{*router, live_clock(), c.config});
  RunTimer t(CLOCK_PROCESS_CPUTIME_ID);
  for (const auto& [topic, payload] : inputs) {
    // A full subscriber lane blocks the publisher (normal priority keeps the
    // default policy of dropping the oldest): publish at high so nothing is lost.
    auto msg = make_message(topic, c.input_type, payload, Priority::kHigh);
    while (!router->publish(c.input_bus, msg).is_ok()) std::this_thread::yield();
  }
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (outputs.load(std::memory_order_relaxed) < expected_outputs && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  std::uint64_t got = outputs.load();
  r.add(static_cast<double>(got), t);
  engine->stop();
  sink->cancel();
  router->close();
  return got;
}

CaseResult bench_engine(const EngineCase& c, const std::vector<std::pair<std::string, std::string>>& inputs,
                        std::uint64_t expected, const EnginesBenchArgs& a, std::string name) {
  CaseResult r{std::move(name), "bars/s", 200'000, expected, {}, {}, 0, ""};
  for (int run = 0; run < a.runs; ++run) {
    std::uint64_t got = run_engine_once(c, inputs, expected, r);
    if (got < expected) r.note = "only " + std::to_string(got) + " of " + std::to_string(expected) + " outputs";
    r.checksum += static_cast<double>(got);
  }
  return r;
}

std::string symbol_name(int i) { return "SYM" + std::to_string(i); }

// Trades one second apart per symbol: each trade closes its symbol's previous
// 1 s bar, so every input but each symbol's first yields one feature_update.
CaseResult bench_features_engine(const EnginesBenchArgs& a) {
  std::vector<std::pair<std::string, std::string>> inputs;
  inputs.reserve(a.engine_bars + static_cast<std::uint64_t>(a.symbols));
  std::mt19937_64 rng(a.seed);
  std::normal_distribution<double> step(0.0, 0.001);
  std::vector<double> price(static_cast<std::size_t>(a.symbols), 100.0);
  const std::int64_t base = 1'700'000'000'000'000'000;
  std::uint64_t per_symbol = a.engine_bars / static_cast<std::uint64_t>(a.symbols) + 1;
  for (std::uint64_t i = 0; i < per_symbol; ++i) {
    for (int s = 0; s < a.symbols; ++s) {
      double& p = price[static_cast<std::size_t>(s)];
      p *= std::exp(step(rng));
      nlohmann::json t = {{"price", p}, {"size", 100}, {"ts_ns", base + static_cast<std::int64_t>(i) * 1'000'000'000}};
      inputs.emplace_back("marketdata.real_time.trade." + symbol_name(s), t.dump());
    }
  }
  std::uint64_t expected = (per_symbol - 1) * static_cast<std::uint64_t>(a.symbols);
  EngineCase c{"features", {{"intervals", {"1s"}}, {"close_on_clock", false}}, BusKind::kMarketData,
               MessageType::kTrade, "features.*"};
  return bench_engine(c, inputs, expected, a, "features engine on the bus (trades -> 1 s bars -> feature_update)");
}

// feature_update messages as the features engine publishes them, one bar
// apart per symbol: each yields one ml_prediction.
CaseResult bench_ml_engine(const EnginesBenchArgs& a) {
  std::vector<std::pair<std::string, std::string>> inputs;
  std::mt19937_64 rng(a.seed);
  std::normal_distribution<double> step(0.0, 0.001);
  std::vector<double> price(static_cast<std::size_t>(a.symbols), 100.0);
  std::uint64_t per_symbol = a.engine_bars / static_cast<std::uint64_t>(a.symbols) + 1;
  const std::int64_t base = 1'700'000'000'000'000'000;
  for (std::uint64_t i = 0; i < per_symbol; ++i) {
    for (int s = 0; s < a.symbols; ++s) {
      double& p = price[static_cast<std::size_t>(s)];
      double open = p;
      p *= std::exp(step(rng));
      std::int64_t start = base + static_cast<std::int64_t>(i) * 60'000'000'000;
      nlohmann::json f = {{"symbol", symbol_name(s)}, {"interval", "1m"}, {"bar_index", i},
                          {"start_ns", start}, {"close_ns", start + 60'000'000'000},
                          {"open", open}, {"high", std::max(open, p)}, {"low", std::min(open, p)},
                          {"close", p}, {"volume", 1000}};
      inputs.emplace_back("features.1m." + symbol_name(s), f.dump());
    }
  }
  // The first bar of each symbol has no previous close, so no return.
  std::uint64_t expected = (per_symbol - 1) * static_cast<std::uint64_t>(a.symbols);
  // Fixed parameters, so every return yields a prediction (with fit = "em" the
  // first warmup_bars returns of a symbol yield none, and refits run on their
  // own schedule: the filter on each bar is the per-message cost measured here).
  nlohmann::json config = {{"interval", "1m"},
                           {"fit", "fixed"},
                           {"parameters",
                            {{"means", {0.0005, -0.001}},
                             {"variances", {1e-6, 9e-6}},
                             {"transition", {{0.98, 0.05}, {0.02, 0.95}}}}}};
  EngineCase c{"ml", config, BusKind::kEngine, MessageType::kFeatureUpdate, "ml.prediction.*"};
  return bench_engine(c, inputs, expected, a, "ml engine on the bus (feature_update -> ml_prediction)");
}

void print_results(const std::vector<CaseResult>& results, bool json) {
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : results) {
      out.push_back({{"case", r.name}, {"unit", r.unit}, {"updates_per_run", r.updates}, {"runs", r.rates.size()},
                     {"median_per_cpu_s", r.median()}, {"min_per_cpu_s", r.min()}, {"max_per_cpu_s", r.max()},
                     {"median_per_wall_s", r.wall_median()}, {"goal", r.goal},
                     {"goal_met_runs", std::count_if(r.rates.begin(), r.rates.end(), [&](double x) { return x >= r.goal; })},
                     {"checksum", r.checksum}, {"note", r.note}});
    }
    std::cout << out.dump() << std::endl;
    return;
  }
  std::cout << std::left << std::setw(62) << "case (rates per CPU-second)" << std::right << std::setw(13) << "median"
            << std::setw(13) << "min" << std::setw(13) << "max" << std::setw(13) << "wall median" << std::setw(11)
            << "goal" << "  met\n";
  for (const auto& r : results) {
    auto met = std::count_if(r.rates.begin(), r.rates.end(), [&](double x) { return x >= r.goal; });
    std::cout << std::left << std::setw(62) << r.name << std::right << std::fixed << std::setprecision(0)
              << std::setw(13) << r.median() << std::setw(13) << r.min() << std::setw(13) << r.max() << std::setw(13)
              << r.wall_median() << std::setw(11) << r.goal << "  " << met << "/" << r.rates.size() << " runs " << r.unit
              << (r.note.empty() ? "" : "  (" + r.note + ")") << "\n";
  }
}

}  // namespace

void add_engines_bench_command(CLI::App& bench, GlobalOptions& global) {
  auto a = std::make_shared<EnginesBenchArgs>();
  auto* cmd = bench.add_subcommand("engines", "Calculator and engine-on-bus updates/s: features, ml");
  cmd->add_option("--bars", a->bars, "Calculator updates per run")->check(CLI::Range(1'000, 1'000'000'000))
      ->capture_default_str();
  cmd->add_option("--engine-bars", a->engine_bars, "Bars through each engine per run")
      ->check(CLI::Range(1'000, 100'000'000))->capture_default_str();
  cmd->add_option("--symbols", a->symbols, "Symbols the engine inputs rotate over")->check(CLI::Range(1, 10'000))
      ->capture_default_str();
  cmd->add_option("--runs", a->runs, "Runs of each case (median, min, max)")->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the generated inputs")->capture_default_str();
  cmd->callback([&global, a] {
    std::vector<CaseResult> results;
    results.push_back(bench_feature_set(*a));
    results.push_back(bench_trade_fields(*a, true));
    results.push_back(bench_trade_fields(*a, false));
    results.push_back(bench_regime_filter(*a, 2));
    results.push_back(bench_regime_filter(*a, 3));
    results.push_back(bench_analytics_sample(*a));
    results.push_back(bench_factor_step(*a));
    results.push_back(bench_features_engine(*a));
    results.push_back(bench_ml_engine(*a));
    print_results(results, global.json);
    for (const auto& r : results) {
      if (!r.note.empty()) throw CliError(kExitFailure, r.name + ": " + r.note);
    }
  });
}

}  // namespace nautilus::cli
