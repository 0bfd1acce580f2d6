// Performance figures of an equity curve and of closed trades, as empyrical
// (Quantopian) defines them, so that the numbers match what quants already
// trust. Pure computation: no bus, no clock, no I/O; the analytics engine
// (analytics_engine.h) keeps one PerformanceTracker per portfolio and strategy.
//
// Definitions, r_t the period returns (t = 1..N), rf the risk-free rate per
// period, P the periods per year:
//   cumulative  Π(1 + r_t) − 1
//   annual      (1 + cumulative)^(P/N) − 1                       (CAGR)
//   volatility  std(r, ddof 1)·√P
//   Sharpe      mean(r − rf) / std(r − rf, ddof 1)·√P
//   Sortino     mean(r − rf)·P / (√(Σ min(r_t − rf, 0)² / N)·√P): the downside
//               deviation over ALL N observations, as empyrical (not only the
//               negative ones)
//   drawdown    min over t of W_t / max_{s≤t} W_s − 1, W the wealth Π(1 + r),
//               the start (W_0 = 1) included: ≤ 0
//   Calmar      annual / |max drawdown|
//   VaR         historical: the (1 − confidence) percentile of r with linear
//               interpolation (numpy's default); parametric: mean + z·std
//               (normal, ddof 1, z = Φ⁻¹(1 − confidence)); both returns, so a
//               loss is negative, as empyrical's value_at_risk
//   CVaR        mean of the k + 1 smallest returns, k = ⌊(n − 1)(1 − confidence)⌋
//               (empyrical's conditional_value_at_risk)
// VaR and CVaR read the last `var_window` returns (a bounded sorted window);
// the rest uses running sums over every return. An undefined figure (fewer than
// two returns, zero variance, no downside, no drawdown) is absent from the
// snapshot's value and carries a reason instead: JSON null, never NaN or inf.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nautilus::analytics {

inline constexpr std::int64_t kNsPerDay = 86'400'000'000'000LL;

// A figure or the reason it is undefined.
struct Figure {
  std::optional<double> value;
  std::string reason;  // set when value is empty

  static Figure of(double v) { return {v, {}}; }
  static Figure undefined(std::string why) { return {std::nullopt, std::move(why)}; }
};

// Φ⁻¹(p) for 0 < p < 1 (Acklam's rational approximation and one Halley step on
// erfc: full double precision).
double inverse_normal_cdf(double p);
// numpy.percentile(sorted, 100·q) with linear interpolation; `sorted` ascending, non-empty.
double percentile_linear(const std::vector<double>& sorted, double q);

struct SeriesConfig {
  double periods_per_year = 252.0;
  double risk_free_per_period = 0.0;
  double var_confidence = 0.95;  // VaR at 95 %: the 5th percentile
  std::size_t var_window = 1000;  // returns kept for VaR / CVaR (≥ 2)
};

struct SeriesSnapshot {
  std::size_t returns = 0;
  std::size_t var_returns = 0;  // returns in the VaR window
  Figure cumulative_return, annual_return, annual_volatility, sharpe, sortino;
  Figure max_drawdown, current_drawdown, calmar;
  Figure var_historical, var_parametric, cvar;
  std::optional<double> last_return;
  // Samples since the wealth last made a new high (0 at a peak); a drawdown that
  // never recovers shows here as a count that keeps growing.
  std::size_t periods_since_peak = 0;
};

// Period returns with running sums (Welford mean and M2, downside sum of
// squares, wealth and its peak) and a bounded sorted window for VaR. add() is
// O(log W + W/8) (a memmove in the sorted window), no allocation once the
// window is full.
class ReturnSeries {
 public:
  explicit ReturnSeries(SeriesConfig config = {});

  // A return of the period; a non-finite or ≤ −1 return is refused (false).
  bool add(double r);
  SeriesSnapshot snapshot() const;
  std::size_t size() const { return n_; }
  const SeriesConfig& config() const { return config_; }

 private:
  SeriesConfig config_;
  std::size_t n_ = 0;
  double mean_ = 0.0, m2_ = 0.0;   // of r (r − rf has the same spread)
  double downside_sq_ = 0.0;      // Σ min(r − rf, 0)²
  double wealth_ = 1.0, peak_ = 1.0, max_drawdown_ = 0.0;
  std::size_t since_peak_ = 0;
  double last_ = 0.0;
  std::deque<double> window_;     // arrival order, for eviction
  std::vector<double> sorted_;    // the same values ascending
};

// An equity curve sampled at a fixed interval, and per UTC day of the sample
// clock. Each sample after the first gives an interval return E_t / E_{t−1} − 1;
// a day's return is its last sample over the previous day's last (the first
// sample of the curve for the first day), known when the next day's first
// sample arrives. A return from or to an equity at or below zero is undefined:
// skipped and counted.
class EquityCurve {
 public:
  EquityCurve(SeriesConfig interval, SeriesConfig daily);

  void add_sample(std::int64_t time_ns, double equity);
  const ReturnSeries& interval() const { return interval_; }
  const ReturnSeries& daily() const { return daily_; }
  std::optional<double> last_equity() const { return last_; }
  std::optional<double> first_equity() const { return first_; }
  double mean_equity() const { return samples_ == 0 ? 0.0 : equity_sum_ / static_cast<double>(samples_); }
  std::size_t samples() const { return samples_; }
  std::size_t refused_samples() const { return refused_; }

 private:
  ReturnSeries interval_, daily_;
  std::optional<double> last_, first_, day_base_;
  std::optional<std::int64_t> day_;
  double equity_sum_ = 0.0;
  std::size_t samples_ = 0, refused_ = 0;
};

// Closed trades (fills that reduced a position: their realised P&L) and traded
// notional. win rate = wins / closed trades; profit factor = Σ gains / |Σ losses|;
// turnover = traded notional / mean equity.
class TradeStats {
 public:
  void add_fill(double notional, double closed_quantity, double realized_pnl);
  Figure win_rate() const;
  Figure profit_factor() const;
  Figure turnover(double mean_equity) const;
  std::size_t closed_trades() const { return closed_; }
  std::size_t fills() const { return fills_; }
  double traded_notional() const { return notional_; }
  double realized_pnl() const { return realized_; }

 private:
  std::size_t fills_ = 0, closed_ = 0, wins_ = 0, losses_ = 0;
  double gains_ = 0.0, loss_sum_ = 0.0, notional_ = 0.0, realized_ = 0.0;
};

// One subject's (the portfolio's or a strategy's) curve and trades.
struct PerformanceTracker {
  PerformanceTracker(SeriesConfig interval, SeriesConfig daily) : curve(interval, daily) {}
  EquityCurve curve;
  TradeStats trades;

  // {equity, interval: {...}, daily: {...}, trades: {...}, undefined: {figure: reason}}
  nlohmann::json to_json() const;
};

// The series' figures as JSON (null for undefined ones, reasons under
// `undefined` keyed "<prefix><figure>").
void put_series(nlohmann::json& out, nlohmann::json& undefined, const std::string& prefix, const SeriesSnapshot& s);
void put_figure(nlohmann::json& out, nlohmann::json& undefined, const std::string& key, const std::string& undefined_key,
                const Figure& f);

}  // namespace nautilus::analytics
