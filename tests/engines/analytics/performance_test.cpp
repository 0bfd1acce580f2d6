// The performance figures against direct implementations of their definitions
// (empyrical's) written here, on seeded series, to 1e-9; and the edge cases
// where a figure is undefined (null with a reason, never NaN or inf).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "engines/analytics/performance.h"

using namespace nautilus::analytics;

namespace {

// ---- reference implementations: the definitions, written out --------------

double ref_mean(const std::vector<double>& r) { return std::accumulate(r.begin(), r.end(), 0.0) / static_cast<double>(r.size()); }

double ref_std_ddof1(const std::vector<double>& r) {
  const double m = ref_mean(r);
  double ss = 0.0;
  for (double x : r) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(r.size() - 1));
}

double ref_cumulative(const std::vector<double>& r) {
  double w = 1.0;
  for (double x : r) w *= 1.0 + x;
  return w - 1.0;
}

double ref_annual(const std::vector<double>& r, double periods) {
  return std::pow(1.0 + ref_cumulative(r), periods / static_cast<double>(r.size())) - 1.0;
}

double ref_sharpe(const std::vector<double>& r, double rf, double periods) {
  std::vector<double> ex;
  for (double x : r) ex.push_back(x - rf);
  return ref_mean(ex) / ref_std_ddof1(ex) * std::sqrt(periods);
}

// empyrical.sortino_ratio: mean(adj)·P / (sqrt(nanmean(clip(adj, max=0)²))·sqrt(P)).
double ref_sortino(const std::vector<double>& r, double rf, double periods) {
  std::vector<double> adj, clipped;
  for (double x : r) {
    adj.push_back(x - rf);
    clipped.push_back(std::pow(std::min(x - rf, 0.0), 2));
  }
  const double downside = std::sqrt(ref_mean(clipped)) * std::sqrt(periods);
  return ref_mean(adj) * periods / downside;
}

// empyrical.max_drawdown: cumulative wealth from 100, the start included.
double ref_max_drawdown(const std::vector<double>& r) {
  std::vector<double> wealth{100.0};
  for (double x : r) wealth.push_back(wealth.back() * (1.0 + x));
  double peak = wealth[0], worst = 0.0;
  for (double w : wealth) {
    peak = std::max(peak, w);
    worst = std::min(worst, (w - peak) / peak);
  }
  return worst;
}

// numpy.percentile(x, 100·q), 'linear': the piecewise-linear curve through the
// points (k/(n−1), x_(k)), found by scanning for the segment that holds q.
double ref_percentile(std::vector<double> x, double q) {
  std::sort(x.begin(), x.end());
  const double n1 = static_cast<double>(x.size() - 1);
  for (std::size_t k = 0; k + 1 < x.size(); ++k) {
    const double lo = static_cast<double>(k) / n1, hi = static_cast<double>(k + 1) / n1;
    if (q >= lo && q <= hi) return x[k] + (q - lo) / (hi - lo) * (x[k + 1] - x[k]);
  }
  return x.back();
}

// Φ⁻¹ by bisection on Φ(x) = erfc(−x/√2)/2.
double ref_inverse_normal(double p) {
  double lo = -40.0, hi = 40.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double ref_parametric_var(const std::vector<double>& r, double cutoff) {
  return ref_mean(r) + ref_inverse_normal(cutoff) * ref_std_ddof1(r);
}

// empyrical.conditional_value_at_risk: mean of np.partition(r, k)[:k+1], k = int((n−1)·cutoff).
double ref_cvar(std::vector<double> r, double cutoff) {
  const auto k = static_cast<std::size_t>((static_cast<double>(r.size()) - 1.0) * cutoff);
  std::nth_element(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(k), r.end());
  double sum = 0.0;
  for (std::size_t i = 0; i <= k; ++i) sum += r[i];  // nth_element: the k + 1 smallest come first
  return sum / static_cast<double>(k + 1);
}

std::vector<double> seeded_returns(std::uint64_t seed, std::size_t n, double mean, double sd) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> dist(mean, sd);
  std::vector<double> r(n);
  for (auto& x : r) x = dist(rng);
  return r;
}

ReturnSeries series_of(const std::vector<double>& r, SeriesConfig c) {
  ReturnSeries s(c);
  for (double x : r) REQUIRE(s.add(x));
  return s;
}

void check_close(const Figure& f, double expected) {
  REQUIRE(f.value.has_value());
  CHECK(*f.value == Approx(expected).epsilon(1e-9).margin(1e-12));
}

}  // namespace

TEST_CASE("analytics: inverse normal CDF and numpy's linear percentile", "[analytics]") {
  for (double p : {1e-10, 0.001, 0.01, 0.02425, 0.05, 0.2, 0.5, 0.8, 0.95, 0.975, 0.99, 0.999999}) {
    CAPTURE(p);
    CHECK(inverse_normal_cdf(p) == Approx(ref_inverse_normal(p)).epsilon(1e-9).margin(1e-14));
  }
  CHECK(inverse_normal_cdf(0.975) == Approx(1.959963984540054).epsilon(1e-14));
  CHECK(inverse_normal_cdf(0.05) == Approx(-1.6448536269514722).epsilon(1e-14));
  CHECK(inverse_normal_cdf(1e-10) == Approx(-6.361340902404056).epsilon(1e-13));
  // numpy.percentile([1, 2, 3, 4, 5], 5) == 1.2; ([10, 20, 40], 50) == 20; ([3, 1], 25) == 1.5
  CHECK(percentile_linear({1, 2, 3, 4, 5}, 0.05) == Approx(1.2));
  CHECK(percentile_linear({10, 20, 40}, 0.5) == Approx(20.0));
  CHECK(percentile_linear({1, 3}, 0.25) == Approx(1.5));
  auto r = seeded_returns(7, 101, 0.0, 1.0);
  std::vector<double> sorted = r;
  std::sort(sorted.begin(), sorted.end());
  for (double q : {0.0, 0.01, 0.05, 0.333, 0.5, 0.99, 1.0}) {
    CHECK(percentile_linear(sorted, q) == Approx(ref_percentile(r, q)).epsilon(1e-12));
  }
}

TEST_CASE("analytics: every figure of a seeded series equals its definition", "[analytics]") {
  struct Case {
    std::uint64_t seed;
    std::size_t n;
    double mean, sd, periods, rf, confidence;
  };
  const Case cases[] = {{1, 500, 0.0005, 0.01, 252, 0.0, 0.95},
                        {2, 37, -0.001, 0.02, 252, 0.0001, 0.99},
                        {3, 2000, 0.0, 0.001, 98'280, 0.00000002, 0.95},
                        {4, 3, 0.01, 0.05, 12, 0.002, 0.9}};
  for (const auto& c : cases) {
    CAPTURE(c.seed, c.n);
    const auto r = seeded_returns(c.seed, c.n, c.mean, c.sd);
    const ReturnSeries s = series_of(r, {c.periods, c.rf, c.confidence, 100'000});
    const SeriesSnapshot snap = s.snapshot();
    CHECK(snap.returns == c.n);
    check_close(snap.cumulative_return, ref_cumulative(r));
    check_close(snap.annual_return, ref_annual(r, c.periods));
    check_close(snap.annual_volatility, ref_std_ddof1(r) * std::sqrt(c.periods));
    check_close(snap.sharpe, ref_sharpe(r, c.rf, c.periods));
    check_close(snap.sortino, ref_sortino(r, c.rf, c.periods));
    check_close(snap.max_drawdown, ref_max_drawdown(r));
    check_close(snap.calmar, ref_annual(r, c.periods) / std::fabs(ref_max_drawdown(r)));
    const double cutoff = 1.0 - c.confidence;
    check_close(snap.var_historical, ref_percentile(r, cutoff));
    check_close(snap.var_parametric, ref_parametric_var(r, cutoff));
    check_close(snap.cvar, ref_cvar(r, cutoff));
  }
}

TEST_CASE("analytics: VaR and CVaR read only the last var_window returns", "[analytics]") {
  const auto r = seeded_returns(11, 300, 0.0, 0.02);
  const ReturnSeries s = series_of(r, {252, 0.0, 0.95, 50});
  const std::vector<double> last(r.end() - 50, r.end());
  const auto snap = s.snapshot();
  CHECK(snap.var_returns == 50);
  CHECK(snap.returns == 300);
  check_close(snap.var_historical, ref_percentile(last, 0.05));
  check_close(snap.var_parametric, ref_parametric_var(last, 0.05));
  check_close(snap.cvar, ref_cvar(last, 0.05));
  check_close(snap.sharpe, ref_sharpe(r, 0.0, 252));  // the rest over every return
}

TEST_CASE("analytics: constant returns have no Sharpe; one return has only what one return defines", "[analytics]") {
  SECTION("constant gains: zero variance, and no downside for Sortino") {
    const ReturnSeries s = series_of(std::vector<double>(20, 0.001), {252, 0.0, 0.95, 100});
    const auto snap = s.snapshot();
    REQUIRE_FALSE(snap.sharpe.value);
    CHECK(snap.sharpe.reason == "zero variance");
    REQUIRE_FALSE(snap.sortino.value);
    CHECK(snap.sortino.reason.find("downside") != std::string::npos);
    check_close(snap.annual_volatility, 0.0);
    check_close(snap.cumulative_return, std::pow(1.001, 20) - 1.0);
    check_close(snap.max_drawdown, 0.0);
    REQUIRE_FALSE(snap.calmar.value);
    CHECK(snap.calmar.reason == "no drawdown");
    check_close(snap.var_historical, 0.001);
    check_close(snap.var_parametric, 0.001);
  }
  SECTION("constant losses: Sortino is defined (−√P), Sharpe is not") {
    const ReturnSeries s = series_of(std::vector<double>(10, -0.002), {252, 0.0, 0.95, 100});
    const auto snap = s.snapshot();
    REQUIRE_FALSE(snap.sharpe.value);
    check_close(snap.sortino, -std::sqrt(252.0));
  }
  SECTION("one return") {
    const ReturnSeries s = series_of({0.03}, {252, 0.0, 0.95, 100});
    const auto snap = s.snapshot();
    check_close(snap.cumulative_return, 0.03);
    check_close(snap.annual_return, std::pow(1.03, 252.0) - 1.0);
    for (const Figure* f : {&snap.annual_volatility, &snap.sharpe, &snap.sortino, &snap.var_historical,
                            &snap.var_parametric, &snap.cvar}) {
      REQUIRE_FALSE(f->value);
      CHECK(f->reason == "fewer than two returns");
    }
  }
  SECTION("no returns") {
    const auto snap = ReturnSeries().snapshot();
    REQUIRE_FALSE(snap.cumulative_return.value);
    CHECK(snap.cumulative_return.reason == "no returns yet");
  }
}

TEST_CASE("analytics: all gains give Sharpe but no Sortino; a drawdown that never recovers stays", "[analytics]") {
  SECTION("all gains") {
    const auto r = seeded_returns(5, 100, 0.0, 0.01);
    std::vector<double> gains;
    for (double x : r) gains.push_back(std::fabs(x) + 1e-6);
    const auto snap = series_of(gains, {252, 0.0, 0.95, 1000}).snapshot();
    check_close(snap.sharpe, ref_sharpe(gains, 0.0, 252));
    REQUIRE_FALSE(snap.sortino.value);
    check_close(snap.max_drawdown, 0.0);
  }
  SECTION("a peak, then only losses") {
    std::vector<double> r = {0.05, 0.02, -0.01, -0.03, -0.02, -0.04};
    const auto snap = series_of(r, {252, 0.0, 0.95, 1000}).snapshot();
    const double peak = 1.05 * 1.02, last = peak * 0.99 * 0.97 * 0.98 * 0.96;
    check_close(snap.max_drawdown, last / peak - 1.0);
    check_close(snap.current_drawdown, last / peak - 1.0);
    CHECK(snap.periods_since_peak == 4);
    check_close(snap.max_drawdown, ref_max_drawdown(r));
    check_close(snap.calmar, ref_annual(r, 252) / std::fabs(ref_max_drawdown(r)));
  }
  SECTION("a loss from the start: the start is the peak") {
    const auto snap = series_of({-0.1, 0.05}, {252, 0.0, 0.95, 1000}).snapshot();
    check_close(snap.max_drawdown, -0.1);
    check_close(snap.current_drawdown, 0.9 * 1.05 - 1.0);
  }
  SECTION("a return of −100 % or a non-finite one is refused") {
    ReturnSeries s;
    CHECK_FALSE(s.add(-1.0));
    CHECK_FALSE(s.add(std::nan("")));
    CHECK_FALSE(s.add(INFINITY));
    CHECK(s.size() == 0);
  }
}

TEST_CASE("analytics: the equity curve gives interval returns and close-to-close daily returns", "[analytics]") {
  constexpr std::int64_t kHour = 3'600'000'000'000LL;
  const std::int64_t t0 = 1'700'000'000'000'000'000LL / kNsPerDay * kNsPerDay;  // a midnight
  EquityCurve curve({252 * 6.5, 0.0, 0.95, 1000}, {252, 0.0, 0.95, 1000});
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> move(-0.01, 0.012);
  std::vector<double> equities;
  std::vector<std::int64_t> times;
  double e = 1'000'000;
  for (int i = 0; i < 4 * 24; ++i) {  // hourly for four days, starting at 01:00
    times.push_back(t0 + (i + 1) * kHour);
    equities.push_back(e);
    curve.add_sample(times.back(), e);
    e *= 1.0 + move(rng);
  }
  std::vector<double> interval;
  for (std::size_t i = 1; i < equities.size(); ++i) interval.push_back(equities[i] / equities[i - 1] - 1.0);
  const auto is = curve.interval().snapshot();
  CHECK(is.returns == interval.size());
  check_close(is.cumulative_return, equities.back() / equities.front() - 1.0);
  check_close(is.sharpe, ref_sharpe(interval, 0.0, 252 * 6.5));

  // Days by UTC date; each day's close is its last sample; the first day's base the first sample.
  std::vector<double> closes;
  for (std::size_t i = 0; i < times.size(); ++i) {
    const bool last_of_day = i + 1 == times.size() || times[i + 1] / kNsPerDay != times[i] / kNsPerDay;
    if (last_of_day) closes.push_back(equities[i]);
  }
  std::vector<double> daily = {closes[0] / equities[0] - 1.0};
  // The last day is still open: its return is not known yet.
  for (std::size_t d = 1; d + 1 < closes.size(); ++d) daily.push_back(closes[d] / closes[d - 1] - 1.0);
  const auto ds = curve.daily().snapshot();
  REQUIRE(ds.returns == daily.size());
  check_close(ds.cumulative_return, ref_cumulative(daily));
  check_close(ds.annual_volatility, ref_std_ddof1(daily) * std::sqrt(252.0));
  CHECK(curve.mean_equity() == Approx(ref_mean(equities)).epsilon(1e-12));

  SECTION("a non-positive equity gives no return either side") {
    EquityCurve c({252, 0, 0.95, 10}, {252, 0, 0.95, 10});
    c.add_sample(t0, 100.0);
    c.add_sample(t0 + 1, 0.0);
    c.add_sample(t0 + 2, 50.0);
    c.add_sample(t0 + 3, 55.0);
    CHECK(c.interval().size() == 1);
    CHECK(c.refused_samples() == 2);
  }
}

TEST_CASE("analytics: win rate, profit factor and turnover from fills", "[analytics]") {
  TradeStats t;
  CHECK(t.win_rate().reason == "no closed trades");
  const struct {
    double notional, closed, pnl;
  } fills[] = {{10'000, 0, -1}, {5'000, 50, 120}, {5'200, 50, -40}, {8'000, 0, -1}, {8'100, 80, 75}, {1'000, 10, 0}};
  for (const auto& f : fills) t.add_fill(f.notional, f.closed, f.pnl);
  CHECK(t.fills() == 6);
  CHECK(t.closed_trades() == 4);
  check_close(t.win_rate(), 2.0 / 4.0);
  check_close(t.profit_factor(), (120.0 + 75.0) / 40.0);
  check_close(t.turnover(50'000), (10'000 + 5'000 + 5'200 + 8'000 + 8'100 + 1'000) / 50'000.0);
  CHECK_FALSE(t.turnover(0).value);
  TradeStats winners;
  winners.add_fill(100, 1, 5);
  CHECK(winners.profit_factor().reason == "no losing trades");
}

TEST_CASE("analytics: JSON of a tracker has nulls with reasons, never NaN or inf", "[analytics]") {
  PerformanceTracker t({252, 0, 0.95, 100}, {252, 0, 0.95, 100});
  t.curve.add_sample(0, 100.0);
  t.curve.add_sample(1, 100.0);  // one return of 0: little is defined
  const auto j = t.to_json();
  const std::string text = j.dump();
  CHECK(text.find("nan") == std::string::npos);
  CHECK(text.find("inf") == std::string::npos);
  CHECK(j["interval"]["sharpe"].is_null());
  CHECK(j["undefined"]["interval.sharpe"] == "fewer than two returns");
  CHECK(j["interval"]["cumulative_return"] == 0.0);
  CHECK(j["daily"]["returns"] == 0);
  CHECK(j["undefined"]["daily.cumulative_return"] == "no returns yet");
  CHECK(j["undefined"]["trades.win_rate"] == "no closed trades");
}
