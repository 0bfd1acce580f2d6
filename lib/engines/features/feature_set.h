// The full indicator set of one symbol at one bar interval: every indicator of
// indicators.h updated from one bar, O(1) and without allocation (the rings are
// sized at construction). This is what the `features` engine keeps per symbol
// and interval, and what a benchmark calls in a loop:
//
//   FeatureSet set(FeatureParams{});
//   for (const Bar& b : bars) { if (set.update(b).is_ok()) use(set.values()); }
//
// A bar with a NaN or infinite field, a negative volume, high < low, a price
// <= 0, or open/close/vwap outside [low, high] is refused: update() returns
// kInvalidArgument, the refusal is counted by reason, and no indicator changes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/status.h"
#include "engines/features/indicators.h"

namespace nautilus::features {

// One closed time bar [start_ns, end_ns).
struct Bar {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  double open = 0.0, high = 0.0, low = 0.0, close = 0.0;
  double volume = 0.0;
  // The bar's own volume-weighted price: sum(price*size)/sum(size) of its
  // trades; the typical price (high+low+close)/3 when the trades are unknown.
  double vwap = 0.0;
  std::uint64_t trades = 0;
};

inline double typical_price(double high, double low, double close) { return (high + low + close) / 3.0; }

enum class BarProblem : unsigned char {
  kNone,
  kNotFinite,         // a NaN or infinite price, volume or vwap
  kNegativeVolume,
  kHighBelowLow,
  kNonPositivePrice,  // low <= 0: log returns are undefined
  kOutsideRange,      // open, close or vwap outside [low, high]
};
inline constexpr std::size_t kBarProblemCount = 6;
std::string_view to_string(BarProblem p);  // "not_finite", "negative_volume", ...
BarProblem check_bar(const Bar& bar);

// Periods in bars. Defaults are TA-Lib's (and the usual chart settings).
struct FeatureParams {
  int sma_period = 20;
  int ema_period = 20;
  int rsi_period = 14;
  int macd_fast = 12;
  int macd_slow = 26;
  int macd_signal = 9;
  int bollinger_period = 20;
  double bollinger_k = 2.0;
  int atr_period = 14;
  int volatility_period = 20;          // log returns in the window (>= 2)
  double volatility_periods_per_year = 1.0;  // sqrt of this scales the per-bar std
  int vwap_period = 20;                // bars of the rolling VWAP
  std::int64_t vwap_session_ns = 86'400'000'000'000;  // 0: one endless session
  std::int64_t vwap_session_offset_ns = 0;            // session start after UTC midnight
};

// The latest value of every indicator; nullopt until its lookback is complete.
struct FeatureValues {
  std::optional<double> sma, ema, rsi;
  std::optional<double> macd, macd_signal, macd_histogram;
  std::optional<double> bollinger_upper, bollinger_middle, bollinger_lower;
  std::optional<double> atr, volatility;
  std::optional<double> vwap, vwap_rolling;
};

class FeatureSet {
 public:
  // Throws std::invalid_argument for a period < 1 (volatility < 2), macd_fast
  // >= macd_slow, a negative k or periods_per_year <= 0 (control plane).
  explicit FeatureSet(const FeatureParams& params);

  Status update(const Bar& bar);
  const FeatureValues& values() const { return values_; }
  const Bar& last_bar() const { return last_bar_; }  // the last accepted bar
  std::uint64_t bars() const { return bars_; }       // accepted
  std::uint64_t refused() const;
  std::uint64_t refused(BarProblem p) const { return refused_[static_cast<std::size_t>(p)]; }
  // Starts a new VWAP session (e.g. at a configured open, or by command).
  void reset_session_vwap();
  const FeatureParams& params() const { return params_; }

 private:
  FeatureParams params_;
  Sma sma_;
  Ema ema_;
  Rsi rsi_;
  Macd macd_;
  Bollinger bollinger_;
  Atr atr_;
  RealizedVolatility volatility_;
  SessionVwap session_vwap_;
  RollingVwap rolling_vwap_;
  FeatureValues values_;
  Bar last_bar_;
  std::uint64_t bars_ = 0;
  std::array<std::uint64_t, kBarProblemCount> refused_{};
};

}  // namespace nautilus::features
