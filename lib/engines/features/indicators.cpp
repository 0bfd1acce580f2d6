#include "engines/features/indicators.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nautilus::features {
namespace {

// A few units of rounding per operation, and the error in m2 tolerated before
// a window is recomputed.
constexpr double kRounding = 4.0 * std::numeric_limits<double>::epsilon();
constexpr double kMaxRelativeError = 1e-12;

}  // namespace

// ---- Ring ----

Ring::Ring(std::size_t capacity) : data_(new double[std::max<std::size_t>(capacity, 1)]()), capacity_(std::max<std::size_t>(capacity, 1)) {}

void Ring::push(double x) {
  if (size_ < capacity_) {
    std::size_t slot = head_ + size_;
    if (slot >= capacity_) slot -= capacity_;
    data_[slot] = x;
    ++size_;
    return;
  }
  data_[head_] = x;
  if (++head_ == capacity_) head_ = 0;
}

double Ring::at(std::size_t i) const {
  std::size_t slot = head_ + i;
  if (slot >= capacity_) slot -= capacity_;
  return data_[slot];
}

void Ring::clear() {
  head_ = 0;
  size_ = 0;
}

// ---- WindowMoments ----

WindowMoments::WindowMoments(std::size_t n) : ring_(n) {}

void WindowMoments::push(double x) {
  if (!ring_.full()) {
    ring_.push(x);
    const double count = static_cast<double>(ring_.size());
    const double d = x - mean_;
    mean_ += d / count;
    m2_ += d * (x - mean_);
    error_bound_ += kRounding * (std::abs(d * (x - mean_)) + std::abs(m2_));
    return;
  }
  const double old = ring_.oldest();
  ring_.push(x);
  const double n = static_cast<double>(ring_.size());
  const double old_mean = mean_;
  const double delta = x - old;
  mean_ = old_mean + delta / n;
  const double increment = delta * (x - mean_ + old - old_mean);
  m2_ += increment;
  // A bound on the rounding the sliding update has left in m2. Once it could
  // reach kMaxRelativeError of m2 (the window's variance fell far below what
  // passed through it, or to 0), recompute from the ring; otherwise this is
  // rare (about every 1e5 * n bars for a steady series), so the update stays
  // O(1) amortised.
  error_bound_ += kRounding * (std::abs(delta) * (std::abs(x - mean_) + std::abs(old - old_mean)) + std::abs(m2_));
  if (error_bound_ > kMaxRelativeError * m2_) resync();
}

void WindowMoments::resync() {
  const std::size_t n = ring_.size();
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += ring_.at(i);
  const double mean = sum / static_cast<double>(n);
  double m2 = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = ring_.at(i) - mean;
    m2 += d * d;
  }
  mean_ = mean;
  m2_ = m2;
  error_bound_ = kRounding * static_cast<double>(n) * m2;
}

void WindowMoments::clear() {
  ring_.clear();
  mean_ = m2_ = error_bound_ = 0.0;
}

// ---- WindowSum ----

WindowSum::WindowSum(std::size_t n) : ring_(n) {}

double WindowSum::push(double x) {
  if (!ring_.full()) {
    ring_.push(x);
    sum_ += x;
    return 0.0;
  }
  const double evicted = ring_.oldest();
  sum_ += x - evicted;
  ring_.push(x);
  if (++updates_ % kResyncEvery == 0) {
    double s = 0.0;
    for (std::size_t i = 0; i < ring_.size(); ++i) s += ring_.at(i);
    sum_ = s;
  }
  return evicted;
}

void WindowSum::clear() {
  ring_.clear();
  sum_ = 0.0;
  updates_ = 0;
}

// ---- Sma ----

Sma::Sma(int period) : period_(period), sum_(static_cast<std::size_t>(period)) {}

std::optional<double> Sma::update(double x) {
  sum_.push(x);
  if (sum_.full()) value_ = sum_.sum() / period_;
  return value_;
}

void Sma::clear() {
  sum_.clear();
  value_.reset();
}

// ---- Ema ----

Ema::Ema(int period) : period_(period), k_(2.0 / (period + 1.0)) {}

std::optional<double> Ema::update(double x) {
  if (seen_ < period_) {
    seed_sum_ += x;
    if (++seen_ == period_) value_ = seed_sum_ / period_;
    return value_;
  }
  value_ = (x - *value_) * k_ + *value_;
  return value_;
}

void Ema::clear() {
  seen_ = 0;
  seed_sum_ = 0.0;
  value_.reset();
}

// ---- Rsi ----

Rsi::Rsi(int period) : period_(period) {}

std::optional<double> Rsi::update(double close) {
  if (!prev_close_) {
    prev_close_ = close;
    return value_;
  }
  const double diff = close - *prev_close_;
  prev_close_ = close;
  const double gain = diff > 0.0 ? diff : 0.0;
  const double loss = diff < 0.0 ? -diff : 0.0;
  if (diffs_ < period_) {
    avg_gain_ += gain;
    avg_loss_ += loss;
    if (++diffs_ < period_) return value_;
    avg_gain_ /= period_;
    avg_loss_ /= period_;
  } else {
    avg_gain_ = (avg_gain_ * (period_ - 1) + gain) / period_;
    avg_loss_ = (avg_loss_ * (period_ - 1) + loss) / period_;
  }
  const double total = avg_gain_ + avg_loss_;
  value_ = total != 0.0 ? 100.0 * (avg_gain_ / total) : 0.0;
  return value_;
}

void Rsi::clear() {
  diffs_ = 0;
  prev_close_.reset();
  avg_gain_ = avg_loss_ = 0.0;
  value_.reset();
}

// ---- Atr ----

Atr::Atr(int period) : period_(period) {}

std::optional<double> Atr::update(double high, double low, double close) {
  if (!prev_close_) {
    prev_close_ = close;
    return value_;
  }
  const double range = std::max({high - low, std::abs(high - *prev_close_), std::abs(low - *prev_close_)});
  prev_close_ = close;
  if (ranges_ < period_) {
    sum_ += range;
    if (++ranges_ == period_) value_ = sum_ / period_;
    return value_;
  }
  value_ = (*value_ * (period_ - 1) + range) / period_;
  return value_;
}

void Atr::clear() {
  ranges_ = 0;
  prev_close_.reset();
  sum_ = 0.0;
  value_.reset();
}

// ---- Macd ----

Macd::Macd(int fast, int slow, int signal)
    : fast_period_(fast), slow_(slow), signal_period_(signal), fast_(fast), slow_ema_(slow), signal_(signal) {}

std::optional<MacdValue> Macd::update(double x) {
  const std::int64_t i = index_++;
  const auto slow = slow_ema_.update(x);
  // TA-Lib aligns the seeds: the fast EMA's first window is the fast_ bars
  // ending on the slow EMA's first bar, so both start at index slow-1.
  std::optional<double> fast;
  if (i >= slow_ - fast_period_) fast = fast_.update(x);
  if (!slow || !fast) return value_;
  const double line = *fast - *slow;
  const auto signal = signal_.update(line);
  if (signal) value_ = MacdValue{line, *signal, line - *signal};
  return value_;
}

void Macd::clear() {
  index_ = 0;
  fast_.clear();
  slow_ema_.clear();
  signal_.clear();
  value_.reset();
}

// ---- Bollinger ----

Bollinger::Bollinger(int period, double k) : period_(period), k_(k), moments_(static_cast<std::size_t>(period)) {}

std::optional<BollingerValue> Bollinger::update(double x) {
  moments_.push(x);
  if (!moments_.full()) return value_;
  const double middle = moments_.mean();
  const double sigma = std::sqrt(moments_.m2() / period_);
  value_ = BollingerValue{middle + k_ * sigma, middle, middle - k_ * sigma};
  return value_;
}

void Bollinger::clear() {
  moments_.clear();
  value_.reset();
}

// ---- RealizedVolatility ----

RealizedVolatility::RealizedVolatility(int period, double periods_per_year)
    : period_(period), annualisation_(std::sqrt(periods_per_year)), moments_(static_cast<std::size_t>(period)) {}

std::optional<double> RealizedVolatility::update(double close) {
  if (!prev_close_) {
    prev_close_ = close;
    return value_;
  }
  const double r = std::log(close / *prev_close_);
  prev_close_ = close;
  moments_.push(r);
  if (moments_.full()) value_ = std::sqrt(moments_.m2() / (period_ - 1)) * annualisation_;
  return value_;
}

void RealizedVolatility::clear() {
  prev_close_.reset();
  moments_.clear();
  value_.reset();
}

// ---- SessionVwap ----

SessionVwap::SessionVwap(std::int64_t session_ns, std::int64_t offset_ns) : session_ns_(session_ns), offset_ns_(offset_ns) {}

std::int64_t SessionVwap::session_of(std::int64_t t) const {
  if (session_ns_ <= 0) return 0;
  const std::int64_t rel = t - offset_ns_;
  // Floor division, so times before the offset fall in the previous session.
  std::int64_t q = rel / session_ns_;
  if (rel % session_ns_ < 0) --q;
  return q;
}

std::optional<double> SessionVwap::update(std::int64_t bar_start_ns, double price, double volume) {
  const std::int64_t session = session_of(bar_start_ns);
  if (session_ && *session_ != session) reset();
  session_ = session;
  pv_ += price * volume;
  volume_ += volume;
  if (volume_ > 0.0) value_ = pv_ / volume_;
  return value_;
}

void SessionVwap::reset() {
  pv_ = volume_ = 0.0;
  value_.reset();
}

void SessionVwap::clear() {
  reset();
  session_.reset();
}

// ---- RollingVwap ----

RollingVwap::RollingVwap(int period)
    : period_(period), pv_(static_cast<std::size_t>(period)), volume_(static_cast<std::size_t>(period)) {}

std::optional<double> RollingVwap::update(double price, double volume) {
  pv_.push(price * volume);
  const double evicted = volume_.push(volume);
  // Counted, not read from the sliding sum: a window whose volume has all left
  // can keep a rounding residue in the sum, which must not read as volume.
  if (volume > 0.0) ++traded_bars_;
  if (evicted > 0.0) --traded_bars_;
  if (!volume_.full()) return value_;
  if (traded_bars_ > 0) {
    value_ = pv_.sum() / volume_.sum();
  } else {
    value_.reset();
  }
  return value_;
}

void RollingVwap::clear() {
  traded_bars_ = 0;
  pv_.clear();
  volume_.clear();
  value_.reset();
}

}  // namespace nautilus::features
