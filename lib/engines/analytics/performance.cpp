#include "engines/analytics/performance.h"

#include <algorithm>
#include <cmath>

namespace nautilus::analytics {
namespace {

constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kSqrt2Pi = 2.50662827463100050242;

// A spread this small next to the mean is rounding, not risk: a ratio over it
// would be noise amplified (a constant series computed from equities).
bool negligible_spread(double std, double mean) { return std == 0.0 || std <= 1e-12 * std::fabs(mean); }

}  // namespace

double inverse_normal_cdf(double p) {
  // Acklam (2003): relative error 1.15e-9, then one Halley step.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  // Φ(x) near 1 is 1 − tiny: work in the lower tail, where erfc keeps every digit
  // (1 − p is exact for p ≥ 1/2).
  if (p > 0.5) return -inverse_normal_cdf(1.0 - p);
  constexpr double kLow = 0.02425;
  double x = 0.0;
  if (p < kLow) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  const double e = 0.5 * std::erfc(-x / kSqrt2) - p;
  const double u = e * kSqrt2Pi * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

double percentile_linear(const std::vector<double>& sorted, double q) {
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const auto i = static_cast<std::size_t>(std::floor(h));
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + (h - static_cast<double>(i)) * (sorted[i + 1] - sorted[i]);
}

// ---- ReturnSeries ------------------------------------------------------

ReturnSeries::ReturnSeries(SeriesConfig config) : config_(config) {
  config_.var_window = std::max<std::size_t>(config_.var_window, 2);
  sorted_.reserve(config_.var_window + 1);
}

bool ReturnSeries::add(double r) {
  if (!std::isfinite(r) || r <= -1.0) return false;
  ++n_;
  const double delta = r - mean_;
  mean_ += delta / static_cast<double>(n_);
  m2_ += delta * (r - mean_);
  const double below = std::min(r - config_.risk_free_per_period, 0.0);
  downside_sq_ += below * below;
  wealth_ *= 1.0 + r;
  if (wealth_ >= peak_) {
    peak_ = wealth_;
    since_peak_ = 0;
  } else {
    ++since_peak_;
    max_drawdown_ = std::min(max_drawdown_, wealth_ / peak_ - 1.0);
  }
  last_ = r;

  if (window_.size() == config_.var_window) {
    const double old = window_.front();
    window_.pop_front();
    sorted_.erase(std::lower_bound(sorted_.begin(), sorted_.end(), old));
  }
  window_.push_back(r);
  sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), r), r);
  return true;
}

SeriesSnapshot ReturnSeries::snapshot() const {
  SeriesSnapshot s;
  s.returns = n_;
  s.var_returns = sorted_.size();
  s.periods_since_peak = since_peak_;
  const double periods = config_.periods_per_year;
  const double n = static_cast<double>(n_);
  if (n_ == 0) {
    const Figure none = Figure::undefined("no returns yet");
    s.cumulative_return = s.annual_return = s.annual_volatility = s.sharpe = s.sortino = none;
    s.max_drawdown = s.current_drawdown = s.calmar = s.var_historical = s.var_parametric = s.cvar = none;
    return s;
  }
  s.last_return = last_;
  s.cumulative_return = Figure::of(wealth_ - 1.0);
  s.annual_return = Figure::of(std::pow(wealth_, periods / n) - 1.0);
  s.max_drawdown = Figure::of(max_drawdown_);
  s.current_drawdown = Figure::of(wealth_ / peak_ - 1.0);
  if (max_drawdown_ < 0.0) {
    s.calmar = Figure::of(*s.annual_return.value / -max_drawdown_);
  } else {
    s.calmar = Figure::undefined("no drawdown");
  }

  const double excess_mean = mean_ - config_.risk_free_per_period;
  if (n_ < 2) {
    const Figure one = Figure::undefined("fewer than two returns");
    s.annual_volatility = s.sharpe = s.sortino = one;
  } else {
    const double std = std::sqrt(m2_ / (n - 1.0));
    s.annual_volatility = Figure::of(std * std::sqrt(periods));
    s.sharpe = negligible_spread(std, mean_) ? Figure::undefined("zero variance")
                                             : Figure::of(excess_mean / std * std::sqrt(periods));
    const double downside = std::sqrt(downside_sq_ / n);
    s.sortino = downside == 0.0 ? Figure::undefined("no return below the risk-free rate (downside deviation 0)")
                                : Figure::of(excess_mean / downside * std::sqrt(periods));
  }

  if (sorted_.size() < 2) {
    const Figure one = Figure::undefined("fewer than two returns");
    s.var_historical = s.var_parametric = s.cvar = one;
  } else {
    const double tail = 1.0 - config_.var_confidence;
    s.var_historical = Figure::of(percentile_linear(sorted_, tail));
    double sum = 0.0;
    for (double r : sorted_) sum += r;
    const double w = static_cast<double>(sorted_.size());
    const double mean = sum / w;
    double ss = 0.0;
    for (double r : sorted_) ss += (r - mean) * (r - mean);
    s.var_parametric = Figure::of(mean + inverse_normal_cdf(tail) * std::sqrt(ss / (w - 1.0)));
    const auto k = static_cast<std::size_t>(std::floor((w - 1.0) * tail));
    double tail_sum = 0.0;
    for (std::size_t i = 0; i <= k; ++i) tail_sum += sorted_[i];
    s.cvar = Figure::of(tail_sum / static_cast<double>(k + 1));
  }
  return s;
}

// ---- EquityCurve --------------------------------------------------------

EquityCurve::EquityCurve(SeriesConfig interval, SeriesConfig daily) : interval_(interval), daily_(daily) {}

void EquityCurve::add_sample(std::int64_t time_ns, double equity) {
  if (!std::isfinite(equity)) {
    ++refused_;
    return;
  }
  // Floor division: a time before the epoch still falls in its own day.
  const std::int64_t day = time_ns >= 0 ? time_ns / kNsPerDay : -((-time_ns + kNsPerDay - 1) / kNsPerDay);
  if (!last_) {
    first_ = day_base_ = equity;
    day_ = day;
  } else {
    if (*last_ > 0.0 && equity > 0.0) {
      interval_.add(equity / *last_ - 1.0);
    } else {
      ++refused_;  // a return from or to a non-positive equity is undefined
    }
    if (day != *day_) {
      // The first sample of a new day: the previous sample was the old day's close.
      if (*day_base_ > 0.0 && *last_ > 0.0) daily_.add(*last_ / *day_base_ - 1.0);
      day_base_ = *last_;
      day_ = day;
    }
  }
  ++samples_;
  equity_sum_ += equity;
  last_ = equity;
}

// ---- TradeStats ----------------------------------------------------------

void TradeStats::add_fill(double notional, double closed_quantity, double realized_pnl) {
  if (!std::isfinite(notional) || !std::isfinite(closed_quantity) || !std::isfinite(realized_pnl)) return;
  ++fills_;
  notional_ += std::fabs(notional);
  realized_ += realized_pnl;
  if (closed_quantity <= 0.0) return;  // an opening fill closes no trade
  ++closed_;
  if (realized_pnl > 0.0) {
    ++wins_;
    gains_ += realized_pnl;
  } else if (realized_pnl < 0.0) {
    ++losses_;
    loss_sum_ += realized_pnl;
  }
}

Figure TradeStats::win_rate() const {
  if (closed_ == 0) return Figure::undefined("no closed trades");
  return Figure::of(static_cast<double>(wins_) / static_cast<double>(closed_));
}

Figure TradeStats::profit_factor() const {
  if (closed_ == 0) return Figure::undefined("no closed trades");
  if (losses_ == 0) return Figure::undefined("no losing trades");
  return Figure::of(gains_ / -loss_sum_);
}

Figure TradeStats::turnover(double mean_equity) const {
  if (!(mean_equity > 0.0)) return Figure::undefined("no positive equity sampled");
  return Figure::of(notional_ / mean_equity);
}

// ---- JSON ----------------------------------------------------------------

void put_figure(nlohmann::json& out, nlohmann::json& undefined, const std::string& key, const std::string& undefined_key,
                const Figure& f) {
  if (f.value && std::isfinite(*f.value)) {
    out[key] = *f.value;
  } else {
    out[key] = nullptr;
    undefined[undefined_key] = f.value ? "not finite" : f.reason;
  }
}

void put_series(nlohmann::json& out, nlohmann::json& undefined, const std::string& prefix, const SeriesSnapshot& s) {
  out["returns"] = s.returns;
  out["var_returns"] = s.var_returns;
  out["last_return"] = s.last_return && std::isfinite(*s.last_return) ? nlohmann::json(*s.last_return) : nlohmann::json();
  out["periods_since_peak"] = s.periods_since_peak;
  const std::pair<const char*, const Figure*> figures[] = {
      {"cumulative_return", &s.cumulative_return}, {"annual_return", &s.annual_return},
      {"annual_volatility", &s.annual_volatility}, {"sharpe", &s.sharpe},
      {"sortino", &s.sortino},                     {"max_drawdown", &s.max_drawdown},
      {"current_drawdown", &s.current_drawdown},   {"calmar", &s.calmar},
      {"var_historical", &s.var_historical},       {"var_parametric", &s.var_parametric},
      {"cvar", &s.cvar}};
  for (const auto& [key, f] : figures) put_figure(out, undefined, key, prefix + key, *f);
}

nlohmann::json PerformanceTracker::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  nlohmann::json undefined = nlohmann::json::object();
  const auto last = curve.last_equity();
  j["equity"] = last ? nlohmann::json(*last) : nlohmann::json();
  j["samples"] = curve.samples();
  j["refused_samples"] = curve.refused_samples();
  nlohmann::json interval = nlohmann::json::object(), daily = nlohmann::json::object();
  put_series(interval, undefined, "interval.", curve.interval().snapshot());
  put_series(daily, undefined, "daily.", curve.daily().snapshot());
  j["interval"] = std::move(interval);
  j["daily"] = std::move(daily);
  nlohmann::json t = {{"fills", trades.fills()},
                      {"closed_trades", trades.closed_trades()},
                      {"traded_notional", trades.traded_notional()},
                      {"realized_pnl", trades.realized_pnl()}};
  put_figure(t, undefined, "win_rate", "trades.win_rate", trades.win_rate());
  put_figure(t, undefined, "profit_factor", "trades.profit_factor", trades.profit_factor());
  put_figure(t, undefined, "turnover", "trades.turnover", trades.turnover(curve.mean_equity()));
  j["trades"] = std::move(t);
  j["undefined"] = std::move(undefined);
  return j;
}

}  // namespace nautilus::analytics
