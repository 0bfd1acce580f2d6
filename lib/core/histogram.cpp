#include "core/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace nautilus {
namespace histogram_layout {

std::size_t bucket_of(std::uint64_t v) {
  if (v < kExactLimit) return static_cast<std::size_t>(v);
  int msb = 63 - std::countl_zero(v);  // >= kSubBits + 1
  if (msb >= kMaxBits) return kBucketCount - 1;
  int shift = msb - kSubBits;
  std::size_t sub = static_cast<std::size_t>(v >> shift) - (1u << kSubBits);  // 0..127
  return kExactLimit + static_cast<std::size_t>(msb - kSubBits - 1) * (1u << kSubBits) + sub;
}

std::uint64_t bucket_low(std::size_t b) {
  if (b < kExactLimit) return b;
  std::size_t rel = b - kExactLimit;
  int octave = static_cast<int>(rel >> kSubBits) + kSubBits + 1;  // msb
  std::uint64_t sub = rel & ((1u << kSubBits) - 1);
  return ((1ull << kSubBits) + sub) << (octave - kSubBits);
}

std::uint64_t bucket_high(std::size_t b) {
  if (b < kExactLimit) return b;
  std::size_t rel = b - kExactLimit;
  int octave = static_cast<int>(rel >> kSubBits) + kSubBits + 1;
  return bucket_low(b) + (1ull << (octave - kSubBits)) - 1;
}

}  // namespace histogram_layout

using namespace histogram_layout;

HistogramSnapshot::HistogramSnapshot() : buckets_(kBucketCount, 0) {}

void HistogramSnapshot::add(std::uint64_t value, std::uint64_t count) {
  if (count == 0) return;
  buckets_[bucket_of(value)] += count;
  count_ += count;
  sum_ += value * count;
  max_ = std::max(max_, value);
  min_ = std::min(min_, value);
}

void HistogramSnapshot::merge(const HistogramSnapshot& o) {
  for (std::size_t i = 0; i < kBucketCount; ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  max_ = std::max(max_, o.max_);
  min_ = std::min(min_, o.min_);
}

void HistogramSnapshot::clear() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = sum_ = max_ = 0;
  min_ = UINT64_MAX;
}

std::uint64_t HistogramSnapshot::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      std::uint64_t lo = bucket_low(i), hi = bucket_high(i);
      std::uint64_t mid = lo + (hi - lo) / 2;
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

LatencyHistogram::LatencyHistogram() : buckets_(new std::atomic<std::uint64_t>[kBucketCount]) {
  for (std::size_t i = 0; i < kBucketCount; ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void LatencyHistogram::record(std::uint64_t value) {
  buckets_[bucket_of(value)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  std::uint64_t cur = max_.load(std::memory_order_relaxed);
  while (value > cur && !max_.compare_exchange_weak(cur, value, std::memory_order_relaxed)) {
  }
  cur = min_.load(std::memory_order_relaxed);
  while (value < cur && !min_.compare_exchange_weak(cur, value, std::memory_order_relaxed)) {
  }
}

void LatencyHistogram::record_single_writer(std::uint64_t value) {
  auto bump = [](std::atomic<std::uint64_t>& a, std::uint64_t by) {
    a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  };
  bump(buckets_[bucket_of(value)], 1);
  bump(sum_, value);
  if (value > max_.load(std::memory_order_relaxed)) max_.store(value, std::memory_order_relaxed);
  if (value < min_.load(std::memory_order_relaxed)) min_.store(value, std::memory_order_relaxed);
}

HistogramSnapshot LatencyHistogram::snapshot() const {
  HistogramSnapshot s;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    std::uint64_t c = buckets_[i].load(std::memory_order_relaxed);
    s.buckets_[i] = c;
    s.count_ += c;
  }
  s.sum_ = sum_.load(std::memory_order_relaxed);
  s.max_ = max_.load(std::memory_order_relaxed);
  s.min_ = min_.load(std::memory_order_relaxed);
  return s;
}

void LatencyHistogram::reset() {
  for (std::size_t i = 0; i < kBucketCount; ++i) buckets_[i].store(0, std::memory_order_relaxed);
  sum_.store(0, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
  min_.store(UINT64_MAX, std::memory_order_relaxed);
}

}  // namespace nautilus
