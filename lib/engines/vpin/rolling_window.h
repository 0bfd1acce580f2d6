// The two rolling statistics VPIN keeps per symbol, each updated in place as a
// value arrives instead of recomputed over the whole window:
//   - RollingRank: #{h ≤ v} over the last `capacity` values, the empirical CDF
//     behind a bucket's CDF(VPIN). Values are kept in arrival order (a ring, to
//     know which one leaves) and sorted (a binary search answers the count):
//     a push is O(log n) compares plus one memmove of at most n doubles, with
//     no allocation once full. The count is exact: the same integer a pass
//     over the window would give, ties included.
//   - RollingMoments: mean and sample variance of the last `window` values (0
//     = every value so far), by Welford's update and its inverse on removal.
//     Removal lets rounding accumulate, so every `window` removals the sums are
//     recomputed from the kept values by two passes (amortized O(1) a value):
//     σ stays within a few ulps of the two-pass figure at any time.
// Pure: no clock, no I/O, no locks.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace nautilus::vpin {

// Values in arrival order in a fixed-capacity ring (oldest first by index).
class ValueRing {
 public:
  explicit ValueRing(std::size_t capacity);
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return values_.size(); }
  bool full() const { return size_ == values_.size(); }
  // Appends `v`; when full, the oldest value leaves first and is returned.
  std::optional<double> push(double v);
  double at(std::size_t i) const { return values_[(head_ + i) % values_.size()]; }  // i = 0: oldest

 private:
  std::vector<double> values_;
  std::size_t head_ = 0;  // index of the oldest value
  std::size_t size_ = 0;
};

class RollingRank {
 public:
  explicit RollingRank(std::size_t capacity);  // capacity ≥ 1
  void push(double v);
  // How many kept values are ≤ v.
  std::size_t count_at_most(double v) const;
  std::size_t size() const { return sorted_.size(); }

 private:
  ValueRing arrival_;
  std::vector<double> sorted_;  // the same values, ascending
};

class RollingMoments {
 public:
  explicit RollingMoments(std::size_t window);  // 0 = unbounded (nothing kept)
  void push(double v);
  std::size_t count() const { return count_; }
  double mean() const { return mean_; }
  // Sample variance (n − 1 denominator); nullopt below 2 values.
  std::optional<double> sample_variance() const;

 private:
  void recompute();

  std::size_t window_;
  std::optional<ValueRing> kept_;  // only for a bounded window
  std::size_t count_ = 0;
  double mean_ = 0.0;
  double m2_ = 0.0;                // Σ (x − mean)²
  std::size_t removals_since_recompute_ = 0;
};

}  // namespace nautilus::vpin
