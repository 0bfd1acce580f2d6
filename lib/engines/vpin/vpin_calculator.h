// VPIN (Volume-Synchronized Probability of Informed Trading) for one symbol, as
// defined by Easley, López de Prado and O'Hara, "Flow Toxicity and Liquidity in
// a High-frequency World", Review of Financial Studies 25(5), 2012. Pure
// computation: no bus, no clock, no I/O. The engine (vpin_engine) keeps one
// calculator per symbol.
//
// The procedure, step by step (section numbers of the paper's appendix):
//   1. Trades are aggregated into time bars of `bar_ns` (1 minute): the bar's
//      volume V_i is the sum of its trade sizes, its price P_i the last trade's.
//   2. ΔP_i = P_i − P_{i−1} (close to close of consecutive non-empty bars).
//   3. Bulk volume classification: buy volume V_i^B = V_i · Φ(ΔP_i / σ_ΔP),
//      sell volume V_i^S = V_i − V_i^B, Φ the standard normal CDF.
//   4. Bars fill equal-volume buckets of size V in time order; a bar that
//      overflows the open bucket is split, the remainder (keeping the bar's
//      buy fraction) going to the next bucket(s).
//   5. VPIN_τ = Σ_{j=τ−n+1..τ} |V_j^S − V_j^B| / (n · V), updated each bucket.
//   6. CDF(VPIN_τ) is the empirical CDF of VPIN_τ against its own history.
//
// Choices the paper leaves open, fixed here so that there is no look-ahead:
//   - σ_ΔP is the sample standard deviation (n−1 denominator) of the ΔP of the
//     last `sigma_window` bars *before* the bar being classified (0 = all past
//     bars). The paper uses the whole sample, which would look ahead.
//   - Before `min_sigma_samples` past ΔPs exist, and for the symbol's first bar
//     (no previous price), a bar is classified neutral: buy fraction 1/2. Its
//     volume still fills buckets (volume time keeps running).
//   - ΔP = 0 gives Φ(0) = 1/2: half buy, half sell, by the formula itself.
//   - σ_ΔP = 0 (every past change equal) with ΔP ≠ 0 is the limit of the
//     formula: buy fraction 1 for ΔP > 0, 0 for ΔP < 0.
//   - VPIN is reported only once n buckets are complete.
//   - CDF(VPIN_τ) = #{h in H : h ≤ VPIN_τ} / |H| where H holds the last
//     `cdf_window` VPIN values *before* τ; reported once |H| ≥ min_cdf_samples.
//   - A warning fires when the CDF reaches `cdf_threshold` while armed; it
//     re-arms when the CDF falls below `rearm_cdf` (hysteresis).
//
// Gating of the warning (not in the paper; it leaves the VPIN and CDF values
// untouched). The CDF is a rank, so a calm bucket reaches a 0.99 threshold
// with probability ~1% by construction: on its own, one bucket over the
// threshold is a coin flip, not a crash. A warning therefore also needs
//   - `warmup_buckets`: at least this many buckets completed for the symbol
//     (bucket index ≥ warmup_buckets), so the first minutes after a start,
//     whose σ_ΔP and CDF history are still forming, never warn;
//   - `min_cdf_samples`: the CDF history behind the rank (see above);
//   - `persistence_buckets` = k: the CDF ≥ cdf_threshold *and* VPIN ≥
//     vpin_floor on k consecutive buckets (a bucket failing either resets the
//     count); the warning fires on the k-th;
//   - `vpin_floor`: an absolute VPIN level. Calm order flow classified by BVC
//     has VPIN near E|2U − 1| = 1/2; a crash's one-sided buckets push it
//     towards 1. The floor keeps a rank-only alarm out of a calm market.
// With warmup_buckets = 0, persistence_buckets = 1 and vpin_floor = 0 (the
// defaults of this struct) the rule is the plain CDF threshold above. The
// engine's defaults (vpin_engine.h) gate, chosen by `nautilus bench
// vpin-detector` (docs/benchmarks.md, "VPIN as a detector").
//   - A trade older than the open bar (out of order), or of a bar already
//     closed by flush(), joins the open (or next) bar and is counted as late;
//     a closed bar is never reopened.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "engines/config_reader.h"
#include "engines/vpin/rolling_window.h"

namespace nautilus::vpin {

struct VpinConfig {
  std::int64_t bar_ns = 60'000'000'000;  // time bar length (1 minute)
  // Bucket size V: `bucket_volume` when > 0, else adv / buckets_per_day.
  double bucket_volume = 0.0;
  double adv = 0.0;                  // average daily volume (shares)
  int buckets_per_day = 50;
  int window_buckets = 50;           // n
  int sigma_window = 0;              // bars of past ΔP for σ_ΔP; 0 = all past bars
  int min_sigma_samples = 2;         // past ΔPs needed before classifying (≥ 2)
  int cdf_window = 1000;             // VPIN history kept for the CDF
  int min_cdf_samples = 50;          // history needed before a CDF is reported
  double cdf_threshold = 0.99;       // warning when CDF ≥ this
  double rearm_cdf = 0.99;           // re-armed when CDF < this (≤ threshold)
  int warmup_buckets = 0;            // no warning before this many buckets
  int persistence_buckets = 1;       // k consecutive buckets over threshold and floor
  double vpin_floor = 0.0;           // a warning also needs VPIN ≥ this

  double effective_bucket_volume() const;
  // Every problem found, empty when valid.
  std::vector<std::string> validate() const;
  // Reads the keys (bar_seconds, bucket_volume, adv, buckets_per_day,
  // window_buckets, sigma_window, min_sigma_samples, cdf_window,
  // min_cdf_samples, cdf_threshold, rearm_cdf, warmup_buckets,
  // persistence_buckets, vpin_floor) of `r`'s table over `c`: an absent key
  // keeps c's value. `adv` without `bucket_volume` sets V = adv /
  // buckets_per_day; `cdf_threshold` without `rearm_cdf` lowers the re-arm
  // level to the threshold if it was above. Types, ranges and the relations
  // between keys are reported to `r` by key; the caller calls finish().
  static void read(ConfigReader& r, VpinConfig& c);
  // read() over `base` on a table of its own, unknown keys included. Throws
  // std::invalid_argument listing every problem (control plane).
  static VpinConfig from_json(const nlohmann::json& j, const VpinConfig& base);
  static VpinConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

// One completed bucket.
struct VpinBucket {
  std::uint64_t index = 0;        // 0-based bucket number for the symbol
  double buy_volume = 0.0;
  double sell_volume = 0.0;
  std::int64_t end_ns = 0;        // time of the bar that completed it
  std::optional<double> vpin;     // once window_buckets are complete
  std::optional<double> cdf;      // once min_cdf_samples VPINs precede it
  bool warning = false;           // a warning fired at this bucket (gating above)
  int hot_run = 0;                // consecutive buckets, this one included, over threshold and floor
};

struct VpinSnapshot {
  std::uint64_t trades = 0;
  std::uint64_t late_trades = 0;
  std::uint64_t bars = 0;
  std::uint64_t buckets = 0;
  double bucket_volume = 0.0;
  double bucket_fill = 0.0;        // volume in the open bucket / V, in [0, 1)
  std::optional<double> vpin;
  std::optional<double> cdf;
  std::optional<double> sigma;     // σ_ΔP the next bar would use
  bool armed = true;
  int hot_run = 0;                 // of the last bucket
};

class VpinCalculator {
 public:
  // Throws std::invalid_argument if the config is invalid.
  explicit VpinCalculator(VpinConfig config);

  // Adds a trade. Closes the open bar first if the trade falls in a later bar;
  // the buckets that closing it completed are appended to `out`. Returns
  // kInvalidArgument (and changes nothing) for a non-finite or non-positive
  // price or size.
  Status add_trade(std::int64_t ts_ns, double price, double size, std::vector<VpinBucket>& out);
  // Closes the open bar if it ended at or before `now_ns` (a timer calls this so
  // that a quiet symbol's last bar is not held back).
  void flush(std::int64_t now_ns, std::vector<VpinBucket>& out);

  VpinSnapshot snapshot() const;
  const VpinConfig& config() const { return config_; }

 private:
  void close_bar(std::vector<VpinBucket>& out);
  std::optional<double> sigma() const;
  double buy_fraction(double dp) const;
  void fill_buckets(double volume, double buy_fraction, std::vector<VpinBucket>& out);
  void complete_bucket(std::vector<VpinBucket>& out);

  VpinConfig config_;
  double bucket_volume_;
  // open bar
  bool bar_open_ = false;
  std::int64_t bar_index_ = 0;
  std::int64_t last_closed_index_ = std::numeric_limits<std::int64_t>::min() + 1;
  double bar_volume_ = 0.0;
  double bar_close_ = 0.0;
  std::int64_t bar_last_ns_ = 0;
  std::optional<double> prev_close_;
  RollingMoments price_changes_;  // past ΔPs (the last sigma_window if > 0), for σ_ΔP
  // open bucket
  double fill_ = 0.0;
  double buy_ = 0.0;
  double sell_ = 0.0;
  std::deque<double> imbalances_;  // |V_S − V_B| of the last n buckets
  RollingRank vpin_history_;  // the last cdf_window VPINs, for CDF(VPIN)
  std::optional<double> last_vpin_;
  std::optional<double> last_cdf_;
  bool armed_ = true;
  int hot_run_ = 0;
  std::uint64_t trades_ = 0, late_trades_ = 0, bars_ = 0, buckets_ = 0;
};

// Φ, the standard normal CDF.
double normal_cdf(double x);

}  // namespace nautilus::vpin
