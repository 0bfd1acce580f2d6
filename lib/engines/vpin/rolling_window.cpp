#include "engines/vpin/rolling_window.h"

#include <algorithm>
#include <stdexcept>

namespace nautilus::vpin {

ValueRing::ValueRing(std::size_t capacity) : values_(capacity) {
  if (capacity == 0) throw std::invalid_argument("a value ring needs a capacity of at least 1");
}

std::optional<double> ValueRing::push(double v) {
  if (full()) {
    const double oldest = values_[head_];
    values_[head_] = v;
    head_ = (head_ + 1) % values_.size();
    return oldest;
  }
  values_[(head_ + size_) % values_.size()] = v;
  ++size_;
  return std::nullopt;
}

RollingRank::RollingRank(std::size_t capacity) : arrival_(capacity) { sorted_.reserve(capacity + 1); }

void RollingRank::push(double v) {
  const std::optional<double> leaving = arrival_.push(v);
  if (leaving) {
    // Any copy of an equal value will do: the sorted multiset is the same.
    sorted_.erase(std::lower_bound(sorted_.begin(), sorted_.end(), *leaving));
  }
  sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), v), v);
}

std::size_t RollingRank::count_at_most(double v) const {
  return static_cast<std::size_t>(std::upper_bound(sorted_.begin(), sorted_.end(), v) - sorted_.begin());
}

RollingMoments::RollingMoments(std::size_t window) : window_(window) {
  if (window_ > 0) kept_.emplace(window_);
}

void RollingMoments::push(double v) {
  const std::optional<double> leaving = kept_ ? kept_->push(v) : std::nullopt;
  if (leaving) {
    if (++removals_since_recompute_ >= window_) {
      recompute();
      return;
    }
    // Welford's update backwards for the value that left, then forwards for v.
    const double x = *leaving;
    if (count_ == 1) {
      mean_ = m2_ = 0.0;
    } else {
      const double n_before = static_cast<double>(count_);
      const double mean_without = (n_before * mean_ - x) / (n_before - 1.0);
      m2_ -= (x - mean_) * (x - mean_without);
      mean_ = mean_without;
    }
    --count_;
    if (count_ <= 1) m2_ = 0.0;  // one value has no spread; drop what rounding left
  }
  ++count_;
  const double delta = v - mean_;
  mean_ += delta / static_cast<double>(count_);
  m2_ += delta * (v - mean_);
  if (m2_ < 0.0) m2_ = 0.0;  // rounding after removals; a variance is never negative
}

// Two passes over the kept values, as a direct computation would do them.
void RollingMoments::recompute() {
  removals_since_recompute_ = 0;
  count_ = kept_->size();
  double sum = 0.0;
  for (std::size_t i = 0; i < count_; ++i) sum += kept_->at(i);
  mean_ = sum / static_cast<double>(count_);
  m2_ = 0.0;
  for (std::size_t i = 0; i < count_; ++i) {
    const double d = kept_->at(i) - mean_;
    m2_ += d * d;
  }
}

std::optional<double> RollingMoments::sample_variance() const {
  if (count_ < 2) return std::nullopt;
  return m2_ / static_cast<double>(count_ - 1);
}

}  // namespace nautilus::vpin
