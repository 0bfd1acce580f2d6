// VPIN's rolling statistics against brute force written here: the rank (the
// CDF's count) must be the very same integer a pass over the window gives,
// ties included; the running moments must stay within rounding of a two-pass
// computation over the same window after thousands of values in and out. And
// the calculator's CDF, end to end, equals a brute-force count over its own
// VPIN history for window sizes at the edges (1, 2, min_cdf_samples = window).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "engines/vpin/rolling_window.h"
#include "engines/vpin/vpin_calculator.h"

using nautilus::vpin::RollingMoments;
using nautilus::vpin::RollingRank;
using nautilus::vpin::ValueRing;
using nautilus::vpin::VpinBucket;
using nautilus::vpin::VpinCalculator;
using nautilus::vpin::VpinConfig;

namespace {

// Values drawn as the case says: `distinct` > 0 draws from that many levels
// (ties on almost every draw), 0 draws continuous values.
std::vector<double> draw_values(std::uint64_t seed, std::size_t count, int distinct, double offset, double scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int> level(0, std::max(0, distinct - 1));
  std::vector<double> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(offset + scale * (distinct > 0 ? static_cast<double>(level(rng)) : normal(rng)));
  }
  return out;
}

std::size_t brute_count_at_most(const std::deque<double>& window, double v) {
  std::size_t n = 0;
  for (double h : window) n += h <= v ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("value ring: oldest first, the oldest leaves when full", "[vpin][rolling]") {
  ValueRing ring(3);
  CHECK_FALSE(ring.push(1.0));
  CHECK_FALSE(ring.push(2.0));
  CHECK_FALSE(ring.push(3.0));
  CHECK(ring.full());
  CHECK(ring.push(4.0) == 1.0);
  CHECK(ring.push(5.0) == 2.0);
  REQUIRE(ring.size() == 3);
  CHECK(ring.at(0) == 3.0);
  CHECK(ring.at(1) == 4.0);
  CHECK(ring.at(2) == 5.0);
  CHECK_THROWS_AS(ValueRing(0), std::invalid_argument);
}

TEST_CASE("rolling rank: the count equals a pass over the window, ties included", "[vpin][rolling]") {
  struct Case {
    const char* name;
    std::size_t capacity;
    int distinct;  // 0: continuous values
  };
  const Case cases[] = {
      {"window 1", 1, 0},           {"window 2", 2, 0},          {"window 2, ties", 2, 3},
      {"window 7, ties", 7, 4},     {"window 50", 50, 0},        {"window 2000", 2000, 0},
      {"window 2000, ties", 2000, 20}, {"every value equal", 64, 1},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      const auto values = draw_values(1000 + c.capacity, 5000, c.distinct, 0.5, 0.1);
      RollingRank rank(c.capacity);
      std::deque<double> window;
      std::size_t ties_seen = 0;
      for (std::size_t i = 0; i < values.size(); ++i) {
        const double v = values[i];
        // Asked before v joins, as the calculator asks, and for a neighbour value too.
        INFO("value " << i);
        REQUIRE(rank.size() == window.size());
        REQUIRE(rank.count_at_most(v) == brute_count_at_most(window, v));
        REQUIRE(rank.count_at_most(std::nextafter(v, -1.0)) == brute_count_at_most(window, std::nextafter(v, -1.0)));
        for (double h : window) ties_seen += h == v ? 1 : 0;
        rank.push(v);
        window.push_back(v);
        if (window.size() > c.capacity) window.pop_front();
      }
      REQUIRE(rank.count_at_most(1e300) == window.size());
      if (c.distinct > 0 && c.capacity > 1) CHECK(ties_seen > 100);  // the case did exercise ties
    }
  }
}

TEST_CASE("rolling moments: mean and sample variance within rounding of two passes", "[vpin][rolling]") {
  struct Case {
    const char* name;
    std::size_t window;  // 0: every value so far
    int distinct;
    double offset, scale;
  };
  const Case cases[] = {
      {"unbounded", 0, 0, 0.0, 0.05},
      {"window 2", 2, 0, 0.0, 1.0},
      {"window 3", 3, 0, 0.0, 1.0},
      {"window 100, a cent grid (zeros and ties)", 100, 5, -0.02, 0.01},
      {"window 600, far from zero (cancellation)", 600, 0, 1e6, 0.01},
      {"window 20, every value equal", 20, 1, 0.01, 0.0},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      const auto values = draw_values(77 + c.window, 6000, c.distinct, c.offset, c.scale);
      RollingMoments m(c.window);
      std::deque<double> window;
      for (std::size_t i = 0; i < values.size(); ++i) {
        m.push(values[i]);
        window.push_back(values[i]);
        if (c.window > 0 && window.size() > c.window) window.pop_front();
        INFO("value " << i);
        REQUIRE(m.count() == window.size());
        double mean = 0.0;
        for (double x : window) mean += x;
        mean /= static_cast<double>(window.size());
        double ss = 0.0;
        for (double x : window) ss += (x - mean) * (x - mean);
        // Rounding of either computation is relative to the values' magnitude.
        const double magnitude = std::fabs(c.offset) + c.scale;
        REQUIRE(m.mean() == Approx(mean).margin(1e-12 * magnitude));
        if (window.size() < 2) {
          REQUIRE_FALSE(m.sample_variance());
          continue;
        }
        const double var = ss / static_cast<double>(window.size() - 1);
        REQUIRE(m.sample_variance());
        REQUIRE(*m.sample_variance() >= 0.0);
        REQUIRE(*m.sample_variance() == Approx(var).epsilon(1e-9).margin(1e-12 * magnitude * magnitude));
      }
    }
  }
}

TEST_CASE("vpin: the CDF of every bucket is a brute-force count over the VPIN history", "[vpin][rolling]") {
  // n = 1 bucket per VPIN and one bucket per bar: VPIN = |2Φ(ΔP/σ) − 1|, and a
  // price on a coarse grid makes ΔP = 0 (VPIN exactly 0) common: ties.
  struct Case {
    const char* name;
    int cdf_window;
    int min_cdf_samples;
  };
  const Case cases[] = {
      {"window 1", 1, 1},
      {"window 2", 2, 1},
      {"window 2, needs both", 2, 2},
      {"min samples = window", 50, 50},
      {"min samples 1 of 50", 50, 1},
      {"window 2000, min 1000", 2000, 1000},
  };
  std::mt19937_64 rng(18);
  std::uniform_int_distribution<int> move(-2, 2);
  std::uniform_int_distribution<int> volume(1, 3);
  constexpr std::int64_t kBar = 1'000'000'000;
  constexpr std::size_t kBars = 4000;
  std::vector<std::pair<double, double>> bars;  // (close, volume)
  double p = 100.0;
  for (std::size_t i = 0; i < kBars; ++i) {
    p = std::max(1.0, p + 0.5 * move(rng));
    bars.push_back({p, 100.0 * volume(rng)});
  }
  for (const Case& c : cases) {
    SECTION(c.name) {
      VpinConfig cfg;
      cfg.bar_ns = kBar;
      cfg.bucket_volume = 100.0;
      cfg.window_buckets = 1;
      cfg.sigma_window = 30;
      cfg.cdf_window = c.cdf_window;
      cfg.min_cdf_samples = c.min_cdf_samples;
      VpinCalculator calc(cfg);
      std::vector<VpinBucket> got;
      for (std::size_t i = 0; i < bars.size(); ++i) {
        REQUIRE(calc.add_trade(static_cast<std::int64_t>(i) * kBar, bars[i].first, bars[i].second, got).is_ok());
      }
      REQUIRE(got.size() > 3000);
      std::vector<double> history;
      std::size_t with_cdf = 0, tied = 0;
      for (std::size_t k = 0; k < got.size(); ++k) {
        INFO("bucket " << k);
        REQUIRE(got[k].vpin);
        const double v = *got[k].vpin;
        const std::size_t from = history.size() > static_cast<std::size_t>(c.cdf_window)
                                     ? history.size() - static_cast<std::size_t>(c.cdf_window)
                                     : 0;
        const std::size_t n = history.size() - from;
        if (n < static_cast<std::size_t>(c.min_cdf_samples)) {
          REQUIRE_FALSE(got[k].cdf);
        } else {
          std::size_t at_most = 0;
          for (std::size_t j = from; j < history.size(); ++j) {
            at_most += history[j] <= v ? 1 : 0;
            tied += history[j] == v ? 1 : 0;
          }
          REQUIRE(got[k].cdf);
          REQUIRE(*got[k].cdf == static_cast<double>(at_most) / static_cast<double>(n));
          ++with_cdf;
        }
        history.push_back(v);
      }
      CHECK(with_cdf > 2000);
      if (c.cdf_window > 1) CHECK(tied > 100);
    }
  }
}
