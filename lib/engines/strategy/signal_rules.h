// The signal rules behind the `strategy` engine's built-in kinds: each turns
// one symbol's closed bars (the `features` engine's payload) into a desired
// direction: long, short or flat. Pure and per symbol: no bus, no clock, no
// sizing; the instance (strategy_instance.h) gates, sizes and orders.
//
//   ma_crossover    long while the fast average is above the slow one, short
//                   while below. Averages of the bar close computed here (SMA or
//                   EMA of `fast`/`slow` bars), or two fields of the payload
//                   (`fast_field`/`slow_field`, e.g. the features engine's
//                   "ema" over "sma").
//   mean_reversion  Bollinger and/or RSI thresholds: long below the lower band
//                   (RSI below `oversold`), short above the upper band (RSI above
//                   `overbought`); back to flat when the close returns to the
//                   middle band (RSI crosses `exit_rsi`). mode "both" needs both
//                   to enter and either to exit.
//   momentum        n-bar return r = close_t / close_{t−n} − 1: long when
//                   r > threshold, short when r < −threshold, flat otherwise.
//
// update() returns nullopt while the rule's inputs are not complete (warm-up,
// or a payload indicator still null): the caller holds its position then.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engines/config_reader.h"

namespace nautilus::strategy {

enum class Direction : signed char { kShort = -1, kFlat = 0, kLong = 1 };
std::string_view to_string(Direction d);  // "short", "flat", "long"

// The fields of one `feature_update` a rule may read (features_engine.h).
struct BarFeatures {
  std::string symbol;
  std::string interval;
  std::int64_t bar_index = -1;
  std::int64_t close_ns = 0;
  double close = 0.0;
  std::optional<double> sma, ema, rsi;
  std::optional<double> bollinger_upper, bollinger_middle, bollinger_lower;

  // From the payload; nullopt (with the reason) when symbol or a positive,
  // finite close is missing. Null or absent indicators stay nullopt.
  static std::optional<BarFeatures> from_json(const nlohmann::json& j, std::string* error);
};

class SignalRule {
 public:
  virtual ~SignalRule() = default;
  virtual std::optional<Direction> update(const BarFeatures& bar) = 0;
};

enum class Average : unsigned char { kSma, kEma };

struct MaCrossoverParams {
  Average average = Average::kSma;
  int fast = 10;
  int slow = 30;
  // Both set: read the payload's fields instead of averaging the close.
  std::string fast_field;  // "sma" | "ema" | "bollinger_middle"
  std::string slow_field;
};

enum class ReversionMode : unsigned char { kBollinger, kRsi, kBoth };

struct MeanReversionParams {
  ReversionMode mode = ReversionMode::kBollinger;
  double oversold = 30.0;
  double overbought = 70.0;
  double exit_rsi = 50.0;
};

struct MomentumParams {
  int lookback = 20;       // n bars
  double threshold = 0.0;  // a fraction: 0.01 is 1 %
};

// One kind's parameters, read from an instance's `params` table.
struct RuleSpec {
  std::string kind;  // "ma_crossover" | "mean_reversion" | "momentum"
  MaCrossoverParams ma;
  MeanReversionParams reversion;
  MomentumParams momentum;

  // Reads `params` for `kind` (problems go to the reader, by key path).
  static RuleSpec read(const std::string& kind, ConfigReader& params);
  // A fresh rule for one symbol.
  std::unique_ptr<SignalRule> make() const;
};

inline constexpr std::string_view kKinds[] = {"ma_crossover", "mean_reversion", "momentum"};

// Simple moving average of the last `period` values (a ring: O(1), sized once).
class RollingMean {
 public:
  explicit RollingMean(int period);
  void add(double x);
  bool ready() const { return count_ >= values_.size(); }
  double value() const { return sum_ / static_cast<double>(values_.size()); }

 private:
  std::vector<double> values_;
  std::size_t next_ = 0, count_ = 0;
  double sum_ = 0.0;
};

// EMA with α = 2/(period+1), seeded by the SMA of the first `period` values
// (TA-Lib's convention, as the features engine).
class ExponentialMean {
 public:
  explicit ExponentialMean(int period);
  void add(double x);
  bool ready() const { return seen_ >= period_; }
  double value() const { return value_; }

 private:
  int period_;
  int seen_ = 0;
  double alpha_;
  double value_ = 0.0;
};

}  // namespace nautilus::strategy
