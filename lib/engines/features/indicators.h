// Streaming technical indicators, one bar at a time, as TA-Lib defines them
// (seeding and lookback included), so a stream gives the same numbers, bar for
// bar, as TA-Lib run over the whole series. Pure computation: no bus, no clock,
// no I/O. Every update is O(1) and allocates nothing: windows are fixed rings
// sized at construction.
//
// Lookback (the index of the first value, counting bars from 0):
//   Sma(n) n-1, Ema(n) n-1 (seeded with the SMA of the first n values, then
//   k = 2/(n+1)), Rsi(n) n and Atr(n) n (first average = simple mean of the
//   first n gains/losses or true ranges, which start at bar 1; then Wilder's
//   avg = (avg*(n-1) + x)/n), Macd(f,s,g) s-1+g-1 (the fast EMA's seed window
//   ends on the slow one's bar; the signal line is the EMA(g) of the MACD line
//   seeded with the SMA of its first g values: 12/26/9 -> 33), Bollinger(n,k)
//   n-1 (SMA +- k * population sigma, ddof 0), RealizedVolatility(n) n (the
//   sample standard deviation, ddof 1, of the last n log returns of the close,
//   times sqrt(periods_per_year)), RollingVwap(n) n-1.
// Before its lookback an indicator has no value (std::nullopt), never 0.
//
// Sliding sums drift as values enter and leave; every kResyncEvery updates a
// window's sum is recomputed from its ring (O(n) once per kResyncEvery bars),
// and a window's variance whenever its error bound demands it (WindowMoments),
// so a long stream stays within rounding of a fresh batch computation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace nautilus::features {

inline constexpr std::uint64_t kResyncEvery = 4096;

// A fixed-capacity ring of doubles: push overwrites the oldest once full.
class Ring {
 public:
  explicit Ring(std::size_t capacity);
  void push(double x);
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool full() const { return size_ == capacity_; }
  double oldest() const { return data_[head_]; }   // the value the next push on a full ring evicts
  double at(std::size_t i) const;                 // 0 = oldest
  void clear();

 private:
  std::unique_ptr<double[]> data_;
  std::size_t capacity_;
  std::size_t head_ = 0;  // index of the oldest value
  std::size_t size_ = 0;
};

// Mean and sum of squared deviations (m2) of the last n values: Welford, with
// the sliding update for a full window, and a recomputation from the ring when
// a running bound on the update's rounding error reaches 1e-12 of m2 (so a
// window whose variance collapses, even to exactly 0, is still exact).
class WindowMoments {
 public:
  explicit WindowMoments(std::size_t n);
  void push(double x);
  bool full() const { return ring_.full(); }
  std::size_t size() const { return ring_.size(); }
  double mean() const { return mean_; }
  double m2() const { return m2_ > 0.0 ? m2_ : 0.0; }
  void clear();

 private:
  void resync();
  Ring ring_;
  double mean_ = 0.0;
  double m2_ = 0.0;
  double error_bound_ = 0.0;
};

// Sum of the last n values.
class WindowSum {
 public:
  explicit WindowSum(std::size_t n);
  // Returns the value that left the window (0 while it was filling).
  double push(double x);
  bool full() const { return ring_.full(); }
  double sum() const { return sum_; }
  void clear();

 private:
  Ring ring_;
  double sum_ = 0.0;
  std::uint64_t updates_ = 0;
};

class Sma {
 public:
  explicit Sma(int period);
  std::optional<double> update(double x);
  std::optional<double> value() const { return value_; }
  int lookback() const { return period_ - 1; }
  void clear();

 private:
  int period_;
  WindowSum sum_;
  std::optional<double> value_;
};

class Ema {
 public:
  explicit Ema(int period);
  std::optional<double> update(double x);
  std::optional<double> value() const { return value_; }
  int lookback() const { return period_ - 1; }
  void clear();

 private:
  int period_;
  double k_;
  int seen_ = 0;
  double seed_sum_ = 0.0;
  std::optional<double> value_;
};

// Relative strength index (Wilder). TA-Lib's rule for a window with no gain
// and no loss: 0.
class Rsi {
 public:
  explicit Rsi(int period);
  std::optional<double> update(double close);
  std::optional<double> value() const { return value_; }
  int lookback() const { return period_; }
  void clear();

 private:
  int period_;
  int diffs_ = 0;
  std::optional<double> prev_close_;
  double avg_gain_ = 0.0, avg_loss_ = 0.0;
  std::optional<double> value_;
};

// Average true range (Wilder). The true range of bar i >= 1 is
// max(high-low, |high-close[i-1]|, |low-close[i-1]|).
class Atr {
 public:
  explicit Atr(int period);
  std::optional<double> update(double high, double low, double close);
  std::optional<double> value() const { return value_; }
  int lookback() const { return period_; }
  void clear();

 private:
  int period_;
  int ranges_ = 0;
  std::optional<double> prev_close_;
  double sum_ = 0.0;
  std::optional<double> value_;
};

struct MacdValue {
  double macd = 0.0;       // fast EMA - slow EMA
  double signal = 0.0;     // EMA(signal) of macd
  double histogram = 0.0;  // macd - signal
};

class Macd {
 public:
  // Requires 1 <= fast < slow and signal >= 1.
  Macd(int fast, int slow, int signal);
  std::optional<MacdValue> update(double x);
  std::optional<MacdValue> value() const { return value_; }
  int lookback() const { return slow_ - 1 + signal_period_ - 1; }
  void clear();

 private:
  int fast_period_, slow_, signal_period_;
  std::int64_t index_ = 0;
  Ema fast_, slow_ema_, signal_;
  std::optional<MacdValue> value_;
};

struct BollingerValue {
  double upper = 0.0;
  double middle = 0.0;
  double lower = 0.0;
};

class Bollinger {
 public:
  Bollinger(int period, double k);
  std::optional<BollingerValue> update(double x);
  std::optional<BollingerValue> value() const { return value_; }
  int lookback() const { return period_ - 1; }
  void clear();

 private:
  int period_;
  double k_;
  WindowMoments moments_;
  std::optional<BollingerValue> value_;
};

// Annualised realized volatility: sqrt(sum((r - mean r)^2) / (n - 1)) *
// sqrt(periods_per_year) over the last n log returns r = ln(close/prev close).
// periods_per_year = 1 gives the per-bar standard deviation. Requires n >= 2.
class RealizedVolatility {
 public:
  RealizedVolatility(int period, double periods_per_year);
  std::optional<double> update(double close);
  std::optional<double> value() const { return value_; }
  int lookback() const { return period_; }
  void clear();

 private:
  int period_;
  double annualisation_;  // sqrt(periods_per_year)
  std::optional<double> prev_close_;
  WindowMoments moments_;
  std::optional<double> value_;
};

// VWAP since the session start: sum(price * volume) / sum(volume) over the
// session's bars, `price` being each bar's own VWAP. Sessions are
// [offset + k*length, offset + (k+1)*length) on the bar start time (UTC epoch);
// length 0 means one endless session. reset() starts a new session now. No
// value while the session has no volume.
class SessionVwap {
 public:
  SessionVwap(std::int64_t session_ns, std::int64_t offset_ns);
  std::optional<double> update(std::int64_t bar_start_ns, double price, double volume);
  std::optional<double> value() const { return value_; }
  void reset();
  void clear();

 private:
  std::int64_t session_of(std::int64_t t) const;
  std::int64_t session_ns_, offset_ns_;
  std::optional<std::int64_t> session_;
  double pv_ = 0.0, volume_ = 0.0;
  std::optional<double> value_;
};

// VWAP over the last n bars; no value while they have no volume.
class RollingVwap {
 public:
  explicit RollingVwap(int period);
  std::optional<double> update(double price, double volume);
  std::optional<double> value() const { return value_; }
  int lookback() const { return period_ - 1; }
  void clear();

 private:
  int period_;
  WindowSum pv_, volume_;
  int traded_bars_ = 0;  // bars with volume > 0 in the window
  std::optional<double> value_;
};

}  // namespace nautilus::features
