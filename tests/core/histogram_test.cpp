#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/histogram.h"

using namespace nautilus;

namespace {

std::uint64_t exact_percentile(std::vector<std::uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  if (rank == 0) rank = 1;
  return v[rank - 1];
}

}  // namespace

TEST_CASE("bucket layout: contiguous, monotonic, at most 1/128 wide", "[histogram]") {
  using namespace histogram_layout;
  for (std::size_t b = 0; b + 1 < kBucketCount; ++b) {
    REQUIRE(bucket_high(b) + 1 == bucket_low(b + 1));
    REQUIRE(bucket_of(bucket_low(b)) == b);
    REQUIRE(bucket_of(bucket_high(b)) == b);
    double width = static_cast<double>(bucket_high(b) - bucket_low(b) + 1);
    if (b < kExactLimit) REQUIRE(width == 1);  // small values are exact
    else REQUIRE(width / static_cast<double>(bucket_low(b)) <= 1.0 / 128 + 1e-12);
  }
}

TEST_CASE("percentiles are within 1% of the exact ones", "[histogram]") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> lognormal(9.0, 1.5);  // ~8 us median, long tail
  std::uniform_int_distribution<std::uint64_t> uniform(0, 5'000'000);
  for (int dist = 0; dist < 3; ++dist) {
    std::vector<std::uint64_t> samples;
    LatencyHistogram h;
    for (int i = 0; i < 100000; ++i) {
      std::uint64_t v = dist == 0   ? static_cast<std::uint64_t>(lognormal(rng))
                        : dist == 1 ? uniform(rng)
                                    : static_cast<std::uint64_t>(i % 300);  // small exact values
      samples.push_back(v);
      h.record(v);
    }
    auto snap = h.snapshot();
    REQUIRE(snap.count() == samples.size());
    CHECK(snap.max() == *std::max_element(samples.begin(), samples.end()));
    for (double q : {0.5, 0.9, 0.99, 0.999, 1.0}) {
      auto exact = static_cast<double>(exact_percentile(samples, q));
      auto got = static_cast<double>(snap.percentile(q));
      INFO("dist " << dist << " q " << q << " exact " << exact << " got " << got);
      CHECK(std::abs(got - exact) <= 0.01 * exact + 0.5);
    }
  }
}

TEST_CASE("snapshots merge into the histogram of the union", "[histogram]") {
  LatencyHistogram a, b, both;
  for (std::uint64_t v = 1; v < 50000; v += 7) {
    (v % 2 ? a : b).record(v);
    both.record(v);
  }
  auto merged = a.snapshot();
  merged.merge(b.snapshot());
  auto whole = both.snapshot();
  CHECK(merged.count() == whole.count());
  CHECK(merged.sum() == whole.sum());
  CHECK(merged.max() == whole.max());
  CHECK(merged.min() == whole.min());
  CHECK(merged.buckets() == whole.buckets());
  for (double q : {0.5, 0.99}) CHECK(merged.percentile(q) == whole.percentile(q));
}

TEST_CASE("single-writer recording matches concurrent recording", "[histogram]") {
  LatencyHistogram a, b;
  for (std::uint64_t v = 0; v < 100000; v += 3) {
    a.record(v);
    b.record_single_writer(v);
  }
  CHECK(a.snapshot().buckets() == b.snapshot().buckets());
  CHECK(b.snapshot().min() == 0);
}

TEST_CASE("an empty histogram reports zeros", "[histogram]") {
  HistogramSnapshot s;
  CHECK(s.count() == 0);
  CHECK(s.percentile(0.99) == 0);
  CHECK(s.max() == 0);
  CHECK(s.min() == 0);
  CHECK(s.mean() == 0);
}
