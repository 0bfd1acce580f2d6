// The per-symbol regime detector: labels, hysteresis, causality, the refit
// schedule, a seeded series with a known switch, bad closes and a long run.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "engines/ml/regime_detector.h"
#include "ml_test_support.h"

using namespace nautilus::ml;
using nautilus::ml::test::segments;
using nautilus::ml::test::three_state;
using nautilus::ml::test::two_state;

namespace {

DetectorConfig fixed_config(const MsParams& p, double min_probability, int min_bars) {
  DetectorConfig c;
  c.states = p.states;
  c.fit_em = false;
  c.params = p;
  c.min_probability = min_probability;
  c.min_bars = min_bars;
  return c;
}

DetectorConfig em_config(int states, int warmup, int window, int refit_every) {
  DetectorConfig c;
  c.states = states;
  c.warmup_bars = warmup;
  c.window_bars = window;
  c.refit_every_bars = refit_every;
  return c;
}

std::vector<RegimeOutput> run_returns(RegimeDetector& d, const std::vector<double>& y) {
  std::vector<RegimeOutput> out;
  for (double v : y) {
    RegimeOutput o;
    if (d.on_return(v, o) == StepResult::kOutput) out.push_back(o);
  }
  return out;
}

bool same(const RegimeOutput& a, const RegimeOutput& b) {
  return a.bar == b.bar && a.probability == b.probability && a.labels == b.labels && a.regime == b.regime &&
         a.most_likely == b.most_likely && a.changed == b.changed && a.next.mean == b.next.mean &&
         a.next.variance == b.next.variance && a.log_likelihood == b.log_likelihood && a.refitted == b.refitted &&
         a.params.mean == b.params.mean && a.params.variance == b.params.variance;
}

}  // namespace

TEST_CASE("ml labels: bull, bear and high_vol from the parameters, each used once", "[ml][labels]") {
  using R = Regime;
  struct Case {
    const char* name;
    MsParams params;
    std::array<R, 3> want;  // per state (the third ignored with 2 states)
  };
  const auto cols = std::array<std::array<double, 3>, 3>{{{0.9, 0.05, 0.05}, {0.05, 0.9, 0.05}, {0.05, 0.05, 0.9}}};
  const Case cases[] = {
      {"2: higher mean is bull", two_state(0.001, 1, -0.001, 1, 0.9, 0.9), {R::kBull, R::kBear, R::kHighVol}},
      {"2: order does not matter", two_state(-0.001, 1, 0.001, 3, 0.9, 0.9), {R::kBear, R::kBull, R::kHighVol}},
      {"2: equal means, lower variance is bull", two_state(0.0, 2, 0.0, 1, 0.9, 0.9), {R::kBear, R::kBull, R::kHighVol}},
      {"2: all equal, lower index is bull", two_state(0.0, 1, 0.0, 1, 0.9, 0.9), {R::kBull, R::kBear, R::kHighVol}},
      {"3: plain", three_state({0.001, -0.001, 0.0}, {1, 1, 5}, cols), {R::kBull, R::kBear, R::kHighVol}},
      {"3: highest variance also lowest mean is high_vol", three_state({0.001, 0.0, -0.003}, {1, 1, 5}, cols),
       {R::kBull, R::kBear, R::kHighVol}},
      {"3: highest variance also highest mean is high_vol", three_state({0.0, -0.001, 0.004}, {1, 2, 9}, cols),
       {R::kBull, R::kBear, R::kHighVol}},
      {"3: variance tie goes to the lower mean", three_state({0.002, -0.001, -0.003}, {1, 4, 4}, cols),
       {R::kBull, R::kBear, R::kHighVol}},
      {"3: permuted", three_state({-0.001, 0.0, 0.003}, {7, 1, 1}, cols), {R::kHighVol, R::kBear, R::kBull}},
      {"3: all equal, by index", three_state({0, 0, 0}, {1, 1, 1}, cols), {R::kHighVol, R::kBull, R::kBear}},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto got = label_states(c.params);
      for (std::size_t i = 0; i < static_cast<std::size_t>(c.params.states); ++i) {
        INFO("state " << i << ": " << to_string(got[i]));
        CHECK(got[i] == c.want[i]);
      }
    }
  }
}

TEST_CASE("ml hysteresis: a change needs min_probability and min_bars in the old regime", "[ml][hysteresis]") {
  // Two symmetric states; ±0.02 is 1σ from one mean and 3σ from the other, so
  // each such bar multiplies the odds by e^4.
  const MsParams p = two_state(0.01, 1e-4, -0.01, 1e-4, 0.9, 0.9);
  auto bars = [](std::initializer_list<std::pair<int, double>> runs) {
    std::vector<double> y;
    for (auto [n, v] : runs)
      for (int i = 0; i < n; ++i) y.push_back(v);
    return y;
  };
  struct Case {
    const char* name;
    double min_probability;
    int min_bars;
    std::vector<double> y;
    std::vector<std::uint64_t> change_bars;
    std::vector<Regime> change_to;
  };
  // Bull for 3 bars then bear: Pr(bear) is 0.862 at bar 4 and 0.995 from bar 5.
  const Case cases[] = {
      {"min_bars holds the change until bar 6", 0.9, 5, bars({{3, 0.02}, {10, -0.02}}), {6}, {Regime::kBear}},
      {"min_probability 0.9 waits for bar 5", 0.9, 1, bars({{3, 0.02}, {10, -0.02}}), {5}, {Regime::kBear}},
      {"min_probability 0.5 changes at bar 4", 0.5, 1, bars({{3, 0.02}, {10, -0.02}}), {4}, {Regime::kBear}},
      {"min_probability above the steady state never changes", 0.999, 1, bars({{3, 0.02}, {30, -0.02}}), {}, {}},
      {"a quick flip back waits for min_bars", 0.9, 5, bars({{6, 0.02}, {2, -0.02}, {6, 0.02}}), {8, 13},
       {Regime::kBear, Regime::kBull}},
      {"ambiguous bars (y = 0) change nothing", 0.6, 1, bars({{3, 0.02}, {20, 0.0}}), {}, {}},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      RegimeDetector d(fixed_config(p, c.min_probability, c.min_bars));
      auto out = run_returns(d, c.y);
      REQUIRE(out.size() == c.y.size());
      CHECK(out.front().regime == Regime::kBull);
      std::vector<std::uint64_t> at;
      std::vector<Regime> to;
      Regime held = out.front().regime;
      std::uint64_t since = 1;
      for (const auto& o : out) {
        if (o.changed) {
          at.push_back(o.bar);
          to.push_back(o.regime);
          // The event carries what the rule looked at.
          CHECK(o.previous == held);
          CHECK(o.bars_in_previous == o.bar - since);
          CHECK(o.bars_in_previous >= static_cast<std::uint64_t>(c.min_bars));
          CHECK(o.probability_of(o.regime) >= c.min_probability);
          held = o.regime;
          since = o.bar;
        }
        CHECK(o.regime == held);
      }
      CHECK(at == c.change_bars);
      CHECK(to == c.change_to);
    }
  }
}

TEST_CASE("ml detector: outputs for bars 1..t do not depend on bar t+1 (causal, filtered)", "[ml][causality]") {
  const auto y = segments({{500, 0.001, 0.004}, {400, -0.002, 0.012}, {600, 0.0005, 0.005}}, 17);
  const auto config = em_config(2, 200, 400, 50);
  RegimeDetector full(config);
  auto all = run_returns(full, y);
  REQUIRE(all.size() == y.size() - 199);
  REQUIRE(all.front().bar == 200);
  for (std::size_t t : {200u, 201u, 249u, 250u, 251u, 600u, 777u, 1000u, 1499u}) {
    std::vector<double> prefix(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(t));
    RegimeDetector d(config);
    auto part = run_returns(d, prefix);
    REQUIRE(!part.empty());
    INFO("prefix of " << t << " bars");
    CHECK(part.back().bar == t);
    CHECK(same(part.back(), all[t - 200]));
    if (t == 777) {
      for (std::size_t i = 0; i < part.size(); ++i) REQUIRE(same(part[i], all[i]));
    }
  }
}

TEST_CASE("ml detector: EM refits on schedule, from the window up to the current bar", "[ml][em]") {
  const auto y = segments({{400, 0.0, 0.01}}, 4);
  RegimeDetector d(em_config(2, 100, 150, 50));
  std::vector<StepResult> steps;
  std::vector<std::uint64_t> refit_bars;
  for (double v : y) {
    RegimeOutput o;
    steps.push_back(d.on_return(v, o));
    if (steps.back() == StepResult::kOutput && o.refitted) refit_bars.push_back(o.bar);
  }
  for (std::size_t i = 0; i < 99; ++i) REQUIRE(steps[i] == StepResult::kWarmingUp);
  CHECK(steps[99] == StepResult::kOutput);
  CHECK(refit_bars == std::vector<std::uint64_t>{100, 150, 200, 250, 300, 350, 400});
  CHECK(d.counters().fits == 7);
  CHECK(d.counters().failed_fits == 0);
  // refit_every_bars = 0: one fit, then filtering only.
  RegimeDetector once(em_config(2, 100, 150, 0));
  (void)run_returns(once, y);
  CHECK(once.counters().fits == 1);
}

TEST_CASE("ml detector: a seeded series with one known switch is labelled correctly", "[ml][switch]") {
  // 400 bull bars, 400 bear bars, then bull again after the first fit.
  const auto y = segments({{400, 0.001, 0.004}, {400, -0.002, 0.012}, {400, 0.001, 0.004}}, 2024);
  auto config = em_config(2, 800, 1200, 100);
  config.min_probability = 0.95;
  config.min_bars = 10;
  RegimeDetector d(config);
  // Through on_close: closes built from the returns.
  double close = 100.0;
  RegimeOutput o;
  REQUIRE(d.on_close(close, o) == StepResult::kFirstPrice);
  std::vector<RegimeOutput> out;
  for (double v : y) {
    close *= std::exp(v);
    if (d.on_close(close, o) == StepResult::kOutput) out.push_back(o);
  }
  REQUIRE(out.size() == 401);
  const RegimeOutput& first = out.front();
  REQUIRE(first.bar == 800);
  const std::size_t bull = first.labels[0] == Regime::kBull ? 0 : 1, bear = 1 - bull;
  CHECK(first.params.mean[bull] == Approx(0.001).margin(5e-4));
  CHECK(first.params.mean[bear] == Approx(-0.002).margin(1.2e-3));
  CHECK(std::sqrt(first.params.variance[bull]) == Approx(0.004).epsilon(0.15));
  CHECK(std::sqrt(first.params.variance[bear]) == Approx(0.012).epsilon(0.15));
  CHECK(first.regime == Regime::kBear);  // the last bars seen were bear
  int changes = 0, bull_bars = 0;
  std::uint64_t change_bar = 0;
  for (const auto& r : out) {
    if (r.changed) {
      ++changes;
      change_bar = r.bar;
      CHECK(r.previous == Regime::kBear);
      CHECK(r.regime == Regime::kBull);
    }
    if (r.bar > 850 && r.most_likely == Regime::kBull) ++bull_bars;
  }
  CHECK(changes == 1);
  CHECK(change_bar > 800);
  CHECK(change_bar <= 850);
  CHECK(bull_bars >= 0.95 * 350);
}

TEST_CASE("ml detector: with the true parameters fixed, each segment gets its label; hysteresis drops the outliers' flips", "[ml][switch][hysteresis]") {
  const MsParams p = two_state(0.001, 1.6e-5, -0.002, 1.44e-4, 0.99, 0.99);
  const auto y = segments({{500, 0.001, 0.004}, {500, -0.002, 0.012}, {500, 0.001, 0.004}}, 8);
  struct Case {
    double min_probability;
    int min_bars;
    int changes;  // on this seed
  };
  // Loose settings follow a few 3σ returns of the calm state into brief bear
  // spells; the stricter ones change exactly at the two switches.
  for (const Case c : {Case{0.8, 5, 4}, Case{0.95, 10, 2}}) {
    DYNAMIC_SECTION("min_probability " << c.min_probability << ", min_bars " << c.min_bars) {
      RegimeDetector d(fixed_config(p, c.min_probability, c.min_bars));
      auto out = run_returns(d, y);
      REQUIRE(out.size() == y.size());
      int right = 0, changes = 0;
      std::vector<std::uint64_t> change_bars;
      for (std::size_t t = 0; t < out.size(); ++t) {
        const bool bear_segment = t >= 500 && t < 1000;
        right += (out[t].most_likely == (bear_segment ? Regime::kBear : Regime::kBull)) ? 1 : 0;
        if (out[t].changed) change_bars.push_back(out[t].bar);
        changes += out[t].changed ? 1 : 0;
      }
      CHECK(right >= 0.95 * 1500);
      CHECK(changes == c.changes);
      REQUIRE(change_bars.size() >= 2);
      CHECK(change_bars.front() > 500);
      CHECK(change_bars.front() <= 520);
      if (c.changes == 2) {
        CHECK(change_bars[1] > 1000);
        CHECK(change_bars[1] <= 1020);
      }
    }
  }
}

TEST_CASE("ml detector: a bad close is refused and does not enter the returns", "[ml][detector]") {
  RegimeDetector d(fixed_config(two_state(0.0, 1e-4, 0.0, 1e-3, 0.9, 0.9), 0.6, 1));
  RegimeOutput o;
  REQUIRE(d.on_close(100.0, o) == StepResult::kFirstPrice);
  for (double bad : {0.0, -5.0, std::nan(""), double(INFINITY)}) CHECK(d.on_close(bad, o) == StepResult::kRefused);
  CHECK(d.counters().refused == 4);
  REQUIRE(d.on_close(101.0, o) == StepResult::kOutput);
  CHECK(o.bar == 1);
  HamiltonFilter f(two_state(0.0, 1e-4, 0.0, 1e-3, 0.9, 0.9), 1e-12);
  REQUIRE(f.update(std::log(101.0 / 100.0)));
  CHECK(o.probability[0] == f.filtered()[0]);
  CHECK(o.log_likelihood == f.log_likelihood());
}

TEST_CASE("ml detector: 200,000 bars of EM refits with flat runs and outliers stay finite", "[ml][detector]") {
  auto config = em_config(3, 300, 500, 5000);
  config.em.variance_floor = 1e-12;
  RegimeDetector d(config);
  std::mt19937_64 rng(77);
  std::normal_distribution<double> z(0.0, 1.0);
  std::uniform_int_distribution<int> pick(0, 9999);
  std::uint64_t outputs = 0;
  for (int t = 0; t < 200'000; ++t) {
    const int r = pick(rng);
    double y = 0.003 * z(rng);
    if ((t / 20'000) % 2 == 1 && r < 8000) y = 0.0;  // long stretches of a price that does not move
    if (r == 0) y = 0.4;                              // rare jumps
    RegimeOutput o;
    if (d.on_return(y, o) != StepResult::kOutput) continue;
    ++outputs;
    double sum = 0;
    for (int i = 0; i < 3; ++i) sum += o.probability[static_cast<std::size_t>(i)];
    if (!(std::fabs(sum - 1) < 1e-9 && std::isfinite(o.log_likelihood) && std::isfinite(o.next.mean) &&
          o.next.variance > 0)) {
      FAIL("bar " << o.bar << ": sum " << sum << " loglik " << o.log_likelihood << " var " << o.next.variance);
    }
  }
  CHECK(outputs == 200'000 - 299);
  CHECK(d.counters().fits == 1 + (200'000 - 300) / 5000);
  CHECK(d.counters().failed_fits == 0);
}
