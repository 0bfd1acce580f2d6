// Log-linear latency histogram (HDR-style): values below 256 are exact, above
// that each power of two is split into 128 buckets, so any reported value is
// within 1/256 (< 0.4%) of the truth. Recording is lock-free and allocation
// free; snapshots are plain, mergeable and answer percentiles.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace nautilus {

namespace histogram_layout {
inline constexpr int kSubBits = 7;                          // 128 buckets per octave
inline constexpr std::uint64_t kExactLimit = 1u << (kSubBits + 1);  // 256
inline constexpr int kMaxBits = 42;                         // values up to ~73 minutes in ns
inline constexpr std::size_t kBucketCount =
    kExactLimit + static_cast<std::size_t>(kMaxBits - kSubBits - 1) * (1u << kSubBits);
std::size_t bucket_of(std::uint64_t v);
std::uint64_t bucket_low(std::size_t b);
std::uint64_t bucket_high(std::size_t b);  // inclusive
}  // namespace histogram_layout

class HistogramSnapshot {
 public:
  HistogramSnapshot();
  void add(std::uint64_t value, std::uint64_t count = 1);
  void merge(const HistogramSnapshot& other);
  void clear();

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  std::uint64_t sum() const { return sum_; }
  // q in [0,1]; the smallest recorded value v with at least q of the samples <= v,
  // reported as the midpoint of its bucket and clamped to [min, max].
  std::uint64_t percentile(double q) const;
  const std::vector<std::uint64_t>& buckets() const { return buckets_; }

 private:
  friend class LatencyHistogram;
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0, sum_ = 0, max_ = 0, min_ = UINT64_MAX;
};

// Safe for concurrent record() and snapshot(); each record is two relaxed
// atomic adds and, rarely, a max update.
class LatencyHistogram {
 public:
  LatencyHistogram();
  void record(std::uint64_t value);
  // Cheaper (no locked instructions) when only one thread ever records into
  // this histogram, e.g. a subscriber's own delivery thread.
  void record_single_writer(std::uint64_t value);
  void record_signed(std::int64_t value) { record(value < 0 ? 0 : static_cast<std::uint64_t>(value)); }
  HistogramSnapshot snapshot() const;
  void reset();

 private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> sum_{0};
  std::atomic<std::uint64_t> max_{0};
  std::atomic<std::uint64_t> min_{UINT64_MAX};
};

}  // namespace nautilus
