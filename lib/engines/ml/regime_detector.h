// Online regime detection for one symbol: bar closes → log returns → the
// Hamilton filter of a Gaussian Markov-switching model (markov_switching.h)
// whose parameters are fixed or fitted by EM (em_fit.h) → regime labels, the
// next return's predictive law, and a regime held with hysteresis. Pure
// computation (no bus, no clock); the `ml` engine keeps one per symbol.
//
// Causality: the output of return t is a function of returns 1..t only. EM
// fits on the last `window_bars` returns up to and including t, then the
// filter is rerun over that same window with the new parameters (from the
// stationary prior), so a refit never looks ahead and never rewrites an output
// already given. Outputs are filtered probabilities ξ_{t|t}, never smoothed.
//
// Labels, from the parameters in use (each label names one state):
//   3 states: high_vol = the highest variance; of the other two, bull = the
//     higher mean and bear = the lower. Variance decides first, so a state that
//     has both the highest variance and the lowest (or highest) mean is
//     high_vol. Ties: high_vol goes to the lower mean, then the lower index;
//     bull to the lower variance, then the lower index.
//   2 states: bull = the higher mean, bear = the lower (high_vol is not used;
//     the turbulent state of a 2-state fit is the one with the lower mean in
//     practice, and its variance is published with it). Ties: bull goes to the
//     lower variance, then the lower index.
//
// Hysteresis: the held regime starts as the first most likely one; it moves to
// a new most likely regime r at return t only when Pr(r) ≥ min_probability and
// the held regime has been held for at least min_bars returns (t − t_entered ≥
// min_bars). The most likely regime itself is the arg max of ξ_{t|t} (ties to
// the lower state index).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engines/ml/em_fit.h"
#include "engines/ml/markov_switching.h"

namespace nautilus::ml {

enum class Regime : std::uint8_t { kBull, kBear, kHighVol };
inline constexpr std::size_t kRegimeCount = 3;
std::string_view to_string(Regime r);  // "bull", "bear", "high_vol"

using StateLabels = std::array<Regime, kMaxStates>;
StateLabels label_states(const MsParams& params);

struct DetectorConfig {
  int states = 2;
  bool fit_em = true;          // false: `params` are used as given
  bool has_params = false;     // with fit_em: EM starts from `params` instead of the data-driven guess
  MsParams params;
  int warmup_bars = 100;       // returns before the first fit (fit_em)
  int window_bars = 500;       // most recent returns each fit uses (≥ warmup_bars)
  int refit_every_bars = 100;  // returns between fits; 0 = fit once
  EmOptions em;                // em.variance_floor also floors fixed params
  double min_probability = 0.6;
  int min_bars = 5;

  // Every problem, empty when valid (params are checked when !fit_em or has_params).
  std::vector<std::string> validate() const;
};

struct RegimeOutput {
  std::uint64_t bar = 0;            // returns seen so far (1 = the first return)
  MsParams params;                  // in use, variance floor applied
  StateLabels labels{};
  StateVector probability{};        // ξ_{t|t} by state
  // Pr(regime) by Regime (index = the enum's value); NaN for a label not in use.
  std::array<double, kRegimeCount> regime_probability{};
  Regime most_likely = Regime::kBull;
  Regime regime = Regime::kBull;    // held, with hysteresis
  bool changed = false;             // `regime` changed at this return
  Regime previous = Regime::kBull;  // the regime before, when changed
  std::uint64_t bars_in_previous = 0;
  Predictive next;                  // law of the next return
  double log_likelihood = 0.0;      // Σ log c_t since the last fit window's start (or the first return)
  bool refitted = false;            // parameters were (re)estimated at this return
  std::uint64_t fits = 0;

  double probability_of(Regime r) const { return regime_probability[static_cast<std::size_t>(r)]; }
};

enum class StepResult : std::uint8_t {
  kOutput,      // `out` holds this return's output
  kFirstPrice,  // the first close: no return yet
  kWarmingUp,   // fewer than warmup_bars returns: no model yet
  kRefused,     // a non-finite or non-positive close, or a non-finite return; nothing changed
};

struct DetectorCounters {
  std::uint64_t closes = 0;
  std::uint64_t returns = 0;
  std::uint64_t refused = 0;
  std::uint64_t fits = 0;
  std::uint64_t failed_fits = 0;  // a non-finite E-step: the previous parameters stay
};

class RegimeDetector {
 public:
  // Throws std::invalid_argument when config.validate() finds problems.
  explicit RegimeDetector(DetectorConfig config);

  // A bar's close. No allocation, no exceptions.
  StepResult on_close(double close, RegimeOutput& out);
  // A return directly (benches, tests).
  StepResult on_return(double y, RegimeOutput& out);

  bool ready() const { return ready_; }
  const RegimeOutput& last() const { return last_; }  // meaningful once ready()
  const DetectorCounters& counters() const { return counters_; }
  const DetectorConfig& config() const { return config_; }

 private:
  void fit();
  void fill(RegimeOutput& out);

  DetectorConfig config_;
  EmFitter fitter_;
  HamiltonFilter filter_;
  std::vector<double> ring_;    // last window_bars returns
  std::vector<double> window_;  // the ring in time order, for a fit
  std::size_t ring_next_ = 0;
  std::size_t ring_size_ = 0;
  double last_close_ = 0.0;
  bool have_close_ = false;
  bool ready_ = false;
  std::uint64_t since_fit_ = 0;
  bool refitted_ = false;
  StateLabels labels_{};
  Regime held_ = Regime::kBull;
  std::uint64_t held_since_ = 0;
  RegimeOutput last_;
  DetectorCounters counters_;
};

}  // namespace nautilus::ml
