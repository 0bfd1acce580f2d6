// VPIN calculator: hand-computed cases, an independent reference implementation
// on a long seeded series, and a synthetic crash.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "engines/vpin/vpin_calculator.h"

using nautilus::vpin::VpinBucket;
using nautilus::vpin::VpinCalculator;
using nautilus::vpin::VpinConfig;

namespace {

constexpr std::int64_t kMinute = 60'000'000'000;
constexpr std::int64_t kT0 = 1'700'000'040'000'000'000;  // a bar boundary (divisible by 60 s)

struct Bar {
  double close;
  double volume;
};

// Feeds one trade per bar at the bar's start, then a trade in the following bar
// so that the last listed bar closes too. Returns every completed bucket.
std::vector<VpinBucket> feed_bars(VpinCalculator& calc, const std::vector<Bar>& bars) {
  std::vector<VpinBucket> out;
  std::int64_t t = kT0;
  for (const auto& b : bars) {
    REQUIRE(calc.add_trade(t, b.close, b.volume, out).is_ok());
    t += kMinute;
  }
  calc.flush(t, out);
  return out;
}

VpinConfig small_config(double v, int n) {
  VpinConfig c;
  c.bucket_volume = v;
  c.window_buckets = n;
  c.min_cdf_samples = 1;
  c.cdf_window = 10;
  return c;
}

// Warm-up bars 100 → 101 → 99 fill bucket 0 exactly (50 + 30 + 20 = 100) and are
// all classified neutral: the first has no ΔP, the second no past ΔP, the third
// only one past ΔP (min_sigma_samples = 2). Afterwards the past ΔPs are {+1, −2}:
// mean −0.5, sample variance ((1.5)² + (1.5)²) / 1 = 4.5, σ = √4.5.
const std::vector<Bar> kWarmUp = {{100.0, 50.0}, {101.0, 30.0}, {99.0, 20.0}};

}  // namespace

TEST_CASE("vpin: normal_cdf matches known values", "[vpin]") {
  CHECK(nautilus::vpin::normal_cdf(0.0) == Approx(0.5).margin(1e-15));
  CHECK(nautilus::vpin::normal_cdf(1.959963984540054) == Approx(0.975).margin(1e-12));
  CHECK(nautilus::vpin::normal_cdf(-1.0) == Approx(0.15865525393145707).margin(1e-14));
}

TEST_CASE("vpin: one bucket, hand computed", "[vpin]") {
  VpinCalculator calc(small_config(100.0, 1));
  auto bars = kWarmUp;
  // ΔP = 102 − 99 = +3 = √2 · σ, so buy fraction Φ(√2) and
  // |V_S − V_B| / V = 2Φ(√2) − 1 = erf(1).
  bars.push_back({102.0, 100.0});
  auto out = feed_bars(calc, bars);
  REQUIRE(out.size() == 2);
  CHECK(out[0].buy_volume == Approx(50.0).margin(1e-12));
  CHECK(out[0].sell_volume == Approx(50.0).margin(1e-12));
  REQUIRE(out[0].vpin);
  CHECK(*out[0].vpin == Approx(0.0).margin(1e-15));
  REQUIRE(out[1].vpin);
  CHECK(out[1].buy_volume == Approx(100.0 * 0.5 * (1.0 + std::erf(1.0))).epsilon(1e-12));
  CHECK(*out[1].vpin == Approx(std::erf(1.0)).epsilon(1e-12));
  CHECK(out[1].end_ns == kT0 + 3 * kMinute);
  // History {0} and VPIN erf(1) ≥ 0: CDF = 1/1.
  REQUIRE(out[1].cdf);
  CHECK(*out[1].cdf == 1.0);
}

TEST_CASE("vpin: a bar that overflows its bucket is split, and ΔP = 0 is neutral", "[vpin]") {
  VpinCalculator calc(small_config(100.0, 2));
  auto bars = kWarmUp;
  bars.push_back({102.0, 150.0});  // ΔP = +3: 100 to bucket 1, 50 carried to bucket 2
  bars.push_back({102.0, 50.0});   // ΔP = 0: 25 buy, 25 sell into bucket 2
  auto out = feed_bars(calc, bars);
  REQUIRE(out.size() == 3);
  const double f = 0.5 * (1.0 + std::erf(1.0));  // Φ(√2)
  CHECK(out[1].buy_volume == Approx(100.0 * f).epsilon(1e-12));
  CHECK(out[2].buy_volume == Approx(50.0 * f + 25.0).epsilon(1e-12));
  CHECK(out[2].sell_volume == Approx(50.0 * (1.0 - f) + 25.0).epsilon(1e-12));
  CHECK(out[2].end_ns == kT0 + 4 * kMinute);
  CHECK_FALSE(out[0].vpin);  // n = 2 buckets needed
  REQUIRE(out[1].vpin);
  CHECK(*out[1].vpin == Approx((0.0 + 100.0 * std::erf(1.0)) / 200.0).epsilon(1e-12));
  REQUIRE(out[2].vpin);
  CHECK(*out[2].vpin == Approx((100.0 * std::erf(1.0) + 50.0 * std::erf(1.0)) / 200.0).epsilon(1e-12));
  // One bar can complete several buckets.
  VpinCalculator big(small_config(100.0, 1));
  auto many = kWarmUp;
  many.push_back({98.0, 350.0});
  auto out2 = feed_bars(big, many);
  REQUIRE(out2.size() == 4);  // bucket 0, then 3 full buckets from the big bar
  CHECK(big.snapshot().bucket_fill == Approx(0.5).margin(1e-12));
}

TEST_CASE("vpin: edge cases of the classification", "[vpin]") {
  struct Case {
    const char* name;
    std::vector<Bar> bars;
    double expected_last_vpin;
  };
  const std::vector<Case> cases = {
      // ΔP = 0 after σ is known: half buy, half sell.
      {"zero price change", {{100, 50}, {101, 30}, {99, 20}, {99, 100}}, 0.0},
      // Every past ΔP equal (σ = 0): the limit of Φ(ΔP/σ) is 1 for a rise.
      {"zero sigma, price rise", {{100, 50}, {100, 30}, {100, 20}, {101, 100}}, 1.0},
      {"zero sigma, price fall", {{100, 50}, {100, 30}, {100, 20}, {99, 100}}, 1.0},
      {"zero sigma, no change", {{100, 50}, {100, 30}, {100, 20}, {100, 100}}, 0.0},
      // Not enough past ΔPs for σ (warm-up): neutral, even for a big move.
      {"warm-up is neutral", {{100, 50}, {90, 50}, {80, 100}}, 0.0},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      VpinCalculator calc(small_config(100.0, 1));
      auto out = feed_bars(calc, c.bars);
      REQUIRE(!out.empty());
      REQUIRE(out.back().vpin);
      CHECK(*out.back().vpin == Approx(c.expected_last_vpin).margin(1e-12));
    }
  }
}

TEST_CASE("vpin: bars aggregate trades; malformed trades change nothing", "[vpin]") {
  VpinCalculator calc(small_config(100.0, 1));
  std::vector<VpinBucket> out;
  CHECK(calc.add_trade(kT0, 100.0, 30.0, out).is_ok());
  CHECK(calc.add_trade(kT0 + 10'000'000'000, 100.5, 30.0, out).is_ok());
  CHECK(calc.add_trade(kT0 + 59'000'000'000, 100.0, 40.0, out).is_ok());  // same bar, closes at 100
  CHECK(calc.add_trade(kT0, 0.0, 10.0, out).code() == nautilus::StatusCode::kInvalidArgument);
  CHECK(calc.add_trade(kT0, 100.0, -1.0, out).code() == nautilus::StatusCode::kInvalidArgument);
  CHECK(calc.add_trade(kT0, std::nan(""), 1.0, out).code() == nautilus::StatusCode::kInvalidArgument);
  CHECK(calc.add_trade(kT0, 100.0, INFINITY, out).code() == nautilus::StatusCode::kInvalidArgument);
  CHECK(out.empty());
  calc.flush(kT0 + kMinute - 1, out);  // the bar has not ended yet
  CHECK(out.empty());
  calc.flush(kT0 + kMinute, out);
  REQUIRE(out.size() == 1);  // one bar of 100 = one bucket
  auto s = calc.snapshot();
  CHECK(s.trades == 3);
  CHECK(s.bars == 1);
  CHECK(s.buckets == 1);
}

TEST_CASE("vpin: config from json, with every error listed", "[vpin]") {
  auto c = VpinConfig::from_json({{"adv", 1'000'000}, {"bar_seconds", 30}, {"cdf_threshold", 0.95}});
  CHECK(c.effective_bucket_volume() == Approx(20'000.0));
  CHECK(c.bar_ns == 30'000'000'000);
  CHECK(c.rearm_cdf == 0.95);
  CHECK_THROWS_AS(VpinConfig::from_json({{"window_buckets", 0}}), std::invalid_argument);  // and no V
  try {
    (void)VpinConfig::from_json({{"bucket_volume", 10}, {"window_buckets", -1}, {"cdf_threshold", 2.0}});
    FAIL("expected invalid_argument");
  } catch (const std::invalid_argument& e) {
    std::string what = e.what();
    CHECK(what.find("window_buckets") != std::string::npos);
    CHECK(what.find("cdf_threshold") != std::string::npos);
  }
  CHECK_THROWS_AS(VpinConfig::from_json({{"bucket_volume", "ten"}}), std::invalid_argument);
  // The gating keys, and a threshold alone lowering a higher re-arm level only.
  auto g = VpinConfig::from_json({{"bucket_volume", 10}, {"warmup_buckets", 7}, {"persistence_buckets", 3},
                                  {"vpin_floor", 0.6}, {"cdf_threshold", 0.999}});
  CHECK(g.warmup_buckets == 7);
  CHECK(g.persistence_buckets == 3);
  CHECK(g.vpin_floor == 0.6);
  CHECK(g.rearm_cdf == 0.99);  // the base's 0.99 is already below 0.999
}

// ---------------------------------------------------------------------------
// An independent, deliberately straightforward implementation: all bars first,
// then buckets by intersecting each bar's cumulative-volume interval with each
// bucket's, then VPIN and its CDF by brute force.
namespace {

struct Trade {
  std::int64_t ts;
  double price;
  double size;
};

struct RefBucket {
  double buy = 0, sell = 0;
  std::optional<double> vpin, cdf;
  bool warning = false;
};

std::vector<RefBucket> reference_vpin(const std::vector<Trade>& trades, const VpinConfig& c) {
  // 1. Time bars (trades are in time order here). The last bar is still open.
  std::vector<std::pair<double, double>> bars;  // (volume, close)
  std::int64_t current = -1;
  for (const auto& t : trades) {
    std::int64_t idx = t.ts / c.bar_ns;
    if (idx != current) {
      bars.push_back({0.0, 0.0});
      current = idx;
    }
    bars.back().first += t.size;
    bars.back().second = t.price;
  }
  bars.pop_back();
  // 2-3. Buy fraction per bar; σ over the ΔPs of earlier bars only.
  std::vector<double> frac(bars.size(), 0.5);
  for (std::size_t i = 1; i < bars.size(); ++i) {
    double dp = bars[i].second - bars[i - 1].second;
    std::size_t first = 1;  // ΔP_j exists for j ≥ 1; past means j < i
    if (c.sigma_window > 0 && i > static_cast<std::size_t>(c.sigma_window)) first = i - static_cast<std::size_t>(c.sigma_window);
    std::size_t count = i - first;
    if (count < static_cast<std::size_t>(c.min_sigma_samples)) continue;
    double mean = 0;
    for (std::size_t j = first; j < i; ++j) mean += bars[j].second - bars[j - 1].second;
    mean /= static_cast<double>(count);
    double ss = 0;
    for (std::size_t j = first; j < i; ++j) {
      double d = bars[j].second - bars[j - 1].second - mean;
      ss += d * d;
    }
    double sigma = std::sqrt(ss / static_cast<double>(count - 1));
    if (dp == 0) frac[i] = 0.5;
    else if (sigma == 0) frac[i] = dp > 0 ? 1.0 : 0.0;
    else frac[i] = 0.5 * std::erfc(-(dp / sigma) / std::sqrt(2.0));
  }
  // 4. Buckets: overlap of [C_{i-1}, C_i) with [kV, (k+1)V).
  const double V = c.effective_bucket_volume();
  double total = 0;
  for (auto& b : bars) total += b.first;
  auto nbuckets = static_cast<std::size_t>(std::floor(total / V));
  std::vector<RefBucket> out(nbuckets);
  double cum = 0;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    double lo = cum, hi = cum + bars[i].first;
    cum = hi;
    for (std::size_t k = static_cast<std::size_t>(lo / V); k < nbuckets && k * V < hi; ++k) {
      double overlap = std::min(hi, (k + 1) * V) - std::max(lo, k * V);
      if (overlap <= 0) continue;
      out[k].buy += overlap * frac[i];
      out[k].sell += overlap * (1 - frac[i]);
    }
  }
  // 5-6. VPIN over the last n buckets; empirical CDF over earlier VPINs.
  const auto n = static_cast<std::size_t>(c.window_buckets);
  std::vector<double> vpins;
  bool armed = true;
  std::vector<bool> hot(out.size(), false);  // CDF over the threshold and VPIN over the floor
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (k + 1 < n) continue;
    double sum = 0;
    for (std::size_t j = k + 1 - n; j <= k; ++j) sum += std::fabs(out[j].sell - out[j].buy);
    double v = sum / (static_cast<double>(n) * V);
    out[k].vpin = v;
    std::size_t hist_from = vpins.size() > static_cast<std::size_t>(c.cdf_window) ? vpins.size() - static_cast<std::size_t>(c.cdf_window) : 0;
    std::size_t hist = vpins.size() - hist_from;
    if (hist >= static_cast<std::size_t>(c.min_cdf_samples)) {
      std::size_t le = 0;
      for (std::size_t j = hist_from; j < vpins.size(); ++j) le += vpins[j] <= v ? 1 : 0;
      double cdf = static_cast<double>(le) / static_cast<double>(hist);
      out[k].cdf = cdf;
      hot[k] = cdf >= c.cdf_threshold && v >= c.vpin_floor;
      // Gating: the last k buckets all hot (looked back, not counted forward),
      // and the bucket number past the warm-up.
      bool persisted = k + 1 >= static_cast<std::size_t>(c.persistence_buckets);
      for (std::size_t j = 0; persisted && j < static_cast<std::size_t>(c.persistence_buckets); ++j) {
        persisted = hot[k - j];
      }
      const bool warmed = k >= static_cast<std::size_t>(c.warmup_buckets);
      if (armed && persisted && warmed) {
        out[k].warning = true;
        armed = false;
      } else if (!armed && cdf < c.rearm_cdf) {
        armed = true;
      }
    }
    vpins.push_back(v);
  }
  return out;
}

std::vector<Trade> seeded_trades(std::uint64_t seed, std::size_t count) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0, 0.05);
  std::uniform_int_distribution<int> size(1, 500);
  std::exponential_distribution<double> gap(1.0 / 4.0);  // mean 4 s: some bars empty
  std::vector<Trade> out;
  std::int64_t t = kT0;
  double p = 100.0;
  for (std::size_t i = 0; i < count; ++i) {
    t += static_cast<std::int64_t>(gap(rng) * 1e9) + 1;
    // Prices on a cent grid, so ΔP = 0 happens too.
    p = std::max(1.0, std::round((p + step(rng)) * 100.0) / 100.0);
    out.push_back({t, p, static_cast<double>(size(rng))});
  }
  return out;
}

}  // namespace

TEST_CASE("vpin: equals an independent implementation on a long seeded series", "[vpin]") {
  struct Case {
    const char* name;
    int sigma_window;
    int window_buckets;
    double bucket_volume;
    int warmup_buckets = 0;
    int persistence_buckets = 1;
    double vpin_floor = 0.0;
    double rearm_cdf = 0.8;
  };
  const std::vector<Case> cases = {
      {"expanding sigma, n=50", 0, 50, 1000.0},
      {"rolling sigma 30, n=50", 30, 50, 1000.0},
      {"rolling sigma 5, n=10, big buckets", 5, 10, 7919.0},
      {"warm-up of 2000 buckets", 30, 10, 1000.0, 2000},
      {"persistence over 3 buckets", 30, 10, 1000.0, 0, 3},
      {"VPIN floor (the median VPIN of the ungated warnings)", 30, 10, 1000.0, 0, 1, -1.0},
      {"re-arm at the threshold", 30, 10, 1000.0, 0, 1, 0.0, 0.97},
      {"all gates together", 30, 10, 1000.0, 500, 2, 0.5, 0.9},
  };
  const auto trades = seeded_trades(20120501, 30000);
  for (const auto& cs : cases) {
    SECTION(cs.name) {
      VpinConfig c;
      c.bucket_volume = cs.bucket_volume;
      c.window_buckets = cs.window_buckets;
      c.sigma_window = cs.sigma_window;
      c.cdf_window = 200;
      c.min_cdf_samples = 20;
      c.cdf_threshold = 0.97;
      c.rearm_cdf = cs.rearm_cdf;
      c.warmup_buckets = cs.warmup_buckets;
      c.persistence_buckets = cs.persistence_buckets;
      c.vpin_floor = cs.vpin_floor;
      if (cs.vpin_floor < 0) {
        // A floor that bites on this series wherever its VPINs lie.
        VpinConfig plain = c;
        plain.vpin_floor = 0.0;
        std::vector<double> at_warning;
        for (const auto& b : reference_vpin(trades, plain)) {
          if (b.warning) at_warning.push_back(*b.vpin);
        }
        REQUIRE(at_warning.size() > 4);
        std::sort(at_warning.begin(), at_warning.end());
        c.vpin_floor = at_warning[at_warning.size() / 2];
      }
      VpinCalculator calc(c);
      std::vector<VpinBucket> got;
      for (const auto& t : trades) REQUIRE(calc.add_trade(t.ts, t.price, t.size, got).is_ok());
      auto want = reference_vpin(trades, c);
      REQUIRE(got.size() == want.size());
      REQUIRE(got.size() > static_cast<std::size_t>(c.window_buckets + c.min_cdf_samples + 50));
      std::size_t warnings = 0;
      for (std::size_t k = 0; k < got.size(); ++k) {
        INFO("bucket " << k);
        CHECK(got[k].buy_volume == Approx(want[k].buy).margin(1e-9));
        CHECK(got[k].sell_volume == Approx(want[k].sell).margin(1e-9));
        REQUIRE(got[k].vpin.has_value() == want[k].vpin.has_value());
        if (got[k].vpin) CHECK(*got[k].vpin == Approx(*want[k].vpin).margin(1e-9));
        REQUIRE(got[k].cdf.has_value() == want[k].cdf.has_value());
        if (got[k].cdf) CHECK(*got[k].cdf == *want[k].cdf);  // a rank over the same values: exact
        CHECK(got[k].warning == want[k].warning);
        warnings += got[k].warning ? 1 : 0;
      }
      CHECK(warnings > 0);  // the comparison covered the warning logic too
      // A gate that is set changes the warnings (the reference without it differs).
      VpinConfig plain = c;
      plain.warmup_buckets = 0;
      plain.persistence_buckets = 1;
      plain.vpin_floor = 0.0;
      const bool gated = c.warmup_buckets > 0 || c.persistence_buckets > 1 || c.vpin_floor > 0.0;
      if (gated) {
        auto ungated = reference_vpin(trades, plain);
        std::size_t ungated_warnings = 0;
        for (const auto& b : ungated) ungated_warnings += b.warning ? 1 : 0;
        CHECK(ungated_warnings > warnings);
      }
    }
  }
}

TEST_CASE("vpin: a synthetic crash raises the CDF past the threshold", "[vpin]") {
  // Calm: a random walk, ~1000 shares a minute. Crash (from minute 600): the
  // price falls 0.5% a minute for 30 minutes on ten times the volume.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::uniform_int_distribution<int> size(50, 150);
  VpinConfig c;
  c.bucket_volume = 2000.0;
  c.window_buckets = 50;
  c.cdf_window = 500;
  c.min_cdf_samples = 50;
  VpinCalculator calc(c);
  std::vector<VpinBucket> out;
  double p = 100.0;
  constexpr int kCrashMinute = 600;
  std::optional<std::uint64_t> crash_bucket;
  std::optional<VpinBucket> first_warning_after;
  double calm_max_vpin = 0.0;
  for (int minute = 0; minute < 660; ++minute) {
    const bool crash = minute >= kCrashMinute && minute < kCrashMinute + 30;
    if (minute == kCrashMinute) crash_bucket = calc.snapshot().buckets;
    for (int k = 0; k < 10; ++k) {
      std::int64_t t = kT0 + minute * kMinute + k * 5'000'000'000;
      p = crash ? p * (1.0 - 0.005 / 10.0) : std::max(1.0, p + noise(rng));
      out.clear();
      REQUIRE(calc.add_trade(t, p, size(rng) * (crash ? 10.0 : 1.0), out).is_ok());
      for (const auto& b : out) {
        if (!crash_bucket && b.vpin) calm_max_vpin = std::max(calm_max_vpin, *b.vpin);
        if (crash_bucket && b.warning && !first_warning_after) first_warning_after = b;
      }
    }
  }
  REQUIRE(first_warning_after);
  REQUIRE(first_warning_after->cdf);
  CHECK(*first_warning_after->cdf >= 0.99);
  // The warning comes within the first 30 buckets of the crash (the crash has
  // ~150 buckets), and the crash drives VPIN far above anything calm.
  CHECK(first_warning_after->index - *crash_bucket < 30);
  auto s = calc.snapshot();
  REQUIRE(s.vpin);
  CHECK(*s.vpin > calm_max_vpin);
}

TEST_CASE("vpin: a trade of a bar already closed joins the next bar, never reopens it", "[vpin]") {
  VpinCalculator calc(small_config(100.0, 1));
  std::vector<VpinBucket> out;
  REQUIRE(calc.add_trade(kT0, 100.0, 60.0, out).is_ok());
  calc.flush(kT0 + kMinute, out);  // bar 0 closed: 60 in the open bucket
  CHECK(calc.snapshot().bars == 1);
  REQUIRE(calc.add_trade(kT0 + 30'000'000'000, 100.0, 40.0, out).is_ok());  // bar 0's time, late
  CHECK(calc.snapshot().late_trades == 1);
  CHECK(out.empty());
  REQUIRE(calc.add_trade(kT0 + kMinute + 1, 100.0, 10.0, out).is_ok());  // same (next) bar as the late one
  CHECK(calc.snapshot().bars == 1);
  calc.flush(kT0 + 2 * kMinute, out);
  CHECK(calc.snapshot().bars == 2);
  REQUIRE(out.size() == 1);  // 60 + 50 → one bucket of 100, 10 left over
  CHECK(calc.snapshot().bucket_fill == Approx(0.1).margin(1e-12));
}

// ---------------------------------------------------------------------------
// Gating by hand: n = 1 and one bucket per bar, so each bucket's VPIN is its
// bar's |2·Φ(ΔP/σ) − 1|. A history of 21 bars whose moves shrink (29, 28, …
// 10, alternating in sign) gives VPINs that never set a record (no CDF of 1),
// then a script of bars:
//   'x'  a rise of 1000·10^j (the j-th x): z > 40, VPIN = 1.0 exactly, CDF 1
//   'm'  a rise of 60 (≈ 3σ): VPIN ≈ 0.997, above all history (CDF 1), below 0.9999
//   '.'  no move: VPIN 0, CDF = share of zeros in the history (< 0.5 here)
namespace {

struct GateCase {
  const char* name;
  int warmup_buckets;
  int persistence_buckets;
  double vpin_floor;
  double rearm_cdf;
  std::string script;
  std::string want;  // per script bucket: 'W' warning, '.' none
};

}  // namespace

TEST_CASE("vpin: warnings gated by warm-up, persistence, floor; re-armed below rearm_cdf", "[vpin]") {
  const std::vector<GateCase> cases = {
      {"ungated: each hot bucket warns when armed, a calm one re-arms", 0, 1, 0.0, 0.9, "x.x.xx", "W.W.W."},
      {"ungated: 'm' (CDF 1) warns like a crash", 0, 1, 0.0, 0.9, "m.x", "W.W"},
      {"persistence 2: the second consecutive hot bucket", 0, 2, 0.0, 0.9, "x.xx.xxx", "...W..W."},
      {"persistence 3: a run of two never warns", 0, 3, 0.0, 0.9, "xx.xxx", ".....W"},
      {"floor 0.9999: 'm' stays below it, 'x' does not", 0, 1, 0.9999, 0.9, "m.x", "..W"},
      {"persistence 2 without a floor: m then x is a run", 0, 2, 0.0, 0.9, "mx.xx", ".W..W"},
      {"persistence 2 with the floor: m under it starts no run", 0, 2, 0.9999, 0.9, "mx.xx", "....W"},
      {"warm-up to bucket 24: the hot buckets before it never warn", 24, 1, 0.0, 0.9, "x.x.x", "....W"},
      {"no re-arm while the CDF stays at or above rearm_cdf", 0, 1, 0.0, 0.1, "x.x", "W.."},
  };
  for (const auto& cs : cases) {
    SECTION(cs.name) {
      VpinConfig c;
      c.bucket_volume = 100.0;
      c.window_buckets = 1;
      c.cdf_window = 1000;
      c.min_cdf_samples = 10;
      c.cdf_threshold = 0.99;
      c.rearm_cdf = cs.rearm_cdf;
      c.warmup_buckets = cs.warmup_buckets;
      c.persistence_buckets = cs.persistence_buckets;
      c.vpin_floor = cs.vpin_floor;
      VpinCalculator calc(c);
      std::vector<Bar> bars;
      double p = 1000.0;
      bars.push_back({p, 100.0});
      for (int i = 1; i <= 20; ++i) {
        p += (i % 2 == 0 ? 1.0 : -1.0) * (30 - i);
        bars.push_back({p, 100.0});
      }
      double rise = 1000.0;
      for (char ch : cs.script) {
        if (ch == 'x') {
          p += rise;
          rise *= 10.0;
        } else if (ch == 'm') {
          p += 60.0;
        }
        bars.push_back({p, 100.0});
      }
      auto got = feed_bars(calc, bars);
      REQUIRE(got.size() == bars.size());
      const std::size_t first = bars.size() - cs.script.size();
      std::string warned, hot;
      for (std::size_t k = first; k < got.size(); ++k) {
        warned += got[k].warning ? 'W' : '.';
        REQUIRE(got[k].cdf);
        // The script does what it says: x and m at CDF 1, '.' well below.
        if (cs.script[k - first] == '.') CHECK(*got[k].cdf < 0.5);
        else CHECK(*got[k].cdf == 1.0);
        if (cs.script[k - first] == 'x') CHECK(*got[k].vpin == 1.0);
        if (cs.script[k - first] == 'm') CHECK(*got[k].vpin < 0.9999);
      }
      CHECK(warned == cs.want);
      for (std::size_t k = 0; k < first; ++k) CHECK_FALSE(got[k].warning);
    }
  }
}
