#include "engines/features/feature_set.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace nautilus::features {
namespace {

const FeatureParams& validated(const FeatureParams& p) {
  auto at_least = [](int v, int min, const char* name) {
    if (v < min) throw std::invalid_argument(std::string(name) + " must be at least " + std::to_string(min));
  };
  at_least(p.sma_period, 1, "sma_period");
  at_least(p.ema_period, 1, "ema_period");
  at_least(p.rsi_period, 1, "rsi_period");
  at_least(p.macd_fast, 1, "macd_fast");
  at_least(p.macd_signal, 1, "macd_signal");
  at_least(p.bollinger_period, 1, "bollinger_period");
  at_least(p.atr_period, 1, "atr_period");
  at_least(p.volatility_period, 2, "volatility_period");
  at_least(p.vwap_period, 1, "vwap_period");
  if (p.macd_fast >= p.macd_slow) throw std::invalid_argument("macd_fast must be below macd_slow");
  if (!(p.bollinger_k >= 0.0) || !std::isfinite(p.bollinger_k)) throw std::invalid_argument("bollinger_k must be >= 0");
  if (!(p.volatility_periods_per_year > 0.0) || !std::isfinite(p.volatility_periods_per_year)) {
    throw std::invalid_argument("volatility_periods_per_year must be > 0");
  }
  if (p.vwap_session_ns < 0) throw std::invalid_argument("vwap_session_ns must be >= 0");
  return p;
}

bool finite(double x) { return std::isfinite(x); }

}  // namespace

std::string_view to_string(BarProblem p) {
  switch (p) {
    case BarProblem::kNone: return "none";
    case BarProblem::kNotFinite: return "not_finite";
    case BarProblem::kNegativeVolume: return "negative_volume";
    case BarProblem::kHighBelowLow: return "high_below_low";
    case BarProblem::kNonPositivePrice: return "non_positive_price";
    case BarProblem::kOutsideRange: return "outside_range";
  }
  return "unknown";
}

BarProblem check_bar(const Bar& b) {
  if (!finite(b.open) || !finite(b.high) || !finite(b.low) || !finite(b.close) || !finite(b.volume) ||
      !finite(b.vwap)) {
    return BarProblem::kNotFinite;
  }
  if (b.volume < 0.0) return BarProblem::kNegativeVolume;
  if (b.high < b.low) return BarProblem::kHighBelowLow;
  if (b.low <= 0.0) return BarProblem::kNonPositivePrice;
  auto inside = [&](double x) { return x >= b.low && x <= b.high; };
  if (!inside(b.open) || !inside(b.close) || !inside(b.vwap)) return BarProblem::kOutsideRange;
  return BarProblem::kNone;
}

FeatureSet::FeatureSet(const FeatureParams& params)
    : params_(validated(params)),
      sma_(params.sma_period),
      ema_(params.ema_period),
      rsi_(params.rsi_period),
      macd_(params.macd_fast, params.macd_slow, params.macd_signal),
      bollinger_(params.bollinger_period, params.bollinger_k),
      atr_(params.atr_period),
      volatility_(params.volatility_period, params.volatility_periods_per_year),
      session_vwap_(params.vwap_session_ns, params.vwap_session_offset_ns),
      rolling_vwap_(params.vwap_period) {}

Status FeatureSet::update(const Bar& bar) {
  const BarProblem problem = check_bar(bar);
  if (problem != BarProblem::kNone) {
    ++refused_[static_cast<std::size_t>(problem)];
    return Status(StatusCode::kInvalidArgument, std::string(to_string(problem)));
  }
  const double c = bar.close;
  values_.sma = sma_.update(c);
  values_.ema = ema_.update(c);
  values_.rsi = rsi_.update(c);
  if (auto m = macd_.update(c)) {
    values_.macd = m->macd;
    values_.macd_signal = m->signal;
    values_.macd_histogram = m->histogram;
  }
  if (auto b = bollinger_.update(c)) {
    values_.bollinger_upper = b->upper;
    values_.bollinger_middle = b->middle;
    values_.bollinger_lower = b->lower;
  }
  values_.atr = atr_.update(bar.high, bar.low, c);
  values_.volatility = volatility_.update(c);
  values_.vwap = session_vwap_.update(bar.start_ns, bar.vwap, bar.volume);
  values_.vwap_rolling = rolling_vwap_.update(bar.vwap, bar.volume);
  last_bar_ = bar;
  ++bars_;
  return Status::ok();
}

std::uint64_t FeatureSet::refused() const {
  std::uint64_t n = 0;
  for (auto r : refused_) n += r;
  return n;
}

void FeatureSet::reset_session_vwap() {
  session_vwap_.reset();
  values_.vwap.reset();
}

}  // namespace nautilus::features
