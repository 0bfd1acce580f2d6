#include "engines/ml/regime_detector.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace nautilus::ml {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out;
}

// True when state a is "more bullish" than b: higher mean, then lower variance, then lower index.
bool more_bullish(const MsParams& p, std::size_t a, std::size_t b) {
  if (p.mean[a] != p.mean[b]) return p.mean[a] > p.mean[b];
  if (p.variance[a] != p.variance[b]) return p.variance[a] < p.variance[b];
  return a < b;
}

// True when state a is "more high_vol" than b: higher variance, then lower mean, then lower index.
bool more_volatile(const MsParams& p, std::size_t a, std::size_t b) {
  if (p.variance[a] != p.variance[b]) return p.variance[a] > p.variance[b];
  if (p.mean[a] != p.mean[b]) return p.mean[a] < p.mean[b];
  return a < b;
}

}  // namespace

std::string_view to_string(Regime r) {
  switch (r) {
    case Regime::kBull: return "bull";
    case Regime::kBear: return "bear";
    case Regime::kHighVol: return "high_vol";
  }
  return "bull";
}

StateLabels label_states(const MsParams& p) {
  StateLabels labels{Regime::kBull, Regime::kBear, Regime::kHighVol};
  if (p.states == 2) {
    const bool first_bull = more_bullish(p, 0, 1);
    labels[0] = first_bull ? Regime::kBull : Regime::kBear;
    labels[1] = first_bull ? Regime::kBear : Regime::kBull;
    return labels;
  }
  std::size_t high_vol = 0;
  for (std::size_t i = 1; i < 3; ++i) {
    if (more_volatile(p, i, high_vol)) high_vol = i;
  }
  std::size_t others[2];
  std::size_t n = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    if (i != high_vol) others[n++] = i;
  }
  const bool first_bull = more_bullish(p, others[0], others[1]);
  labels[high_vol] = Regime::kHighVol;
  labels[others[0]] = first_bull ? Regime::kBull : Regime::kBear;
  labels[others[1]] = first_bull ? Regime::kBear : Regime::kBull;
  return labels;
}

std::vector<std::string> DetectorConfig::validate() const {
  std::vector<std::string> problems;
  if (states < 2 || states > kMaxStates) problems.push_back("states must be 2 or 3");
  if (!fit_em || has_params) {
    if (params.states != states) problems.push_back("parameters must describe exactly `states` states");
    for (auto& p : ml::validate(params)) problems.push_back("parameters: " + p);
  }
  if (fit_em) {
    if (warmup_bars < 2 * states) problems.push_back("warmup_bars must be at least 2 per state");
    if (window_bars < warmup_bars) problems.push_back("window_bars must be at least warmup_bars");
    if (refit_every_bars < 0) problems.push_back("refit_every_bars must be 0 (never) or positive");
    if (em.max_iterations < 1) problems.push_back("max_iterations must be at least 1");
    if (!(em.tolerance > 0.0)) problems.push_back("tolerance must be positive");
  }
  if (!(em.variance_floor > 0.0) || !std::isfinite(em.variance_floor)) problems.push_back("variance_floor must be positive");
  if (!(min_probability >= 0.0 && min_probability <= 1.0)) problems.push_back("min_probability must be in [0, 1]");
  if (min_bars < 1) problems.push_back("min_bars must be at least 1");
  return problems;
}

namespace {

const DetectorConfig& checked(const DetectorConfig& c) {
  auto problems = c.validate();
  if (!problems.empty()) throw std::invalid_argument(join(problems));
  return c;
}

MsParams starting_params(const DetectorConfig& c) {
  if (!c.fit_em || c.has_params) return c.params;
  // A placeholder until the first fit: the filter does not run before it.
  MsParams p;
  p.states = c.states;
  const auto k = static_cast<std::size_t>(c.states);
  for (std::size_t i = 0; i < k; ++i) {
    p.variance[i] = 1.0;
    for (std::size_t j = 0; j < k; ++j) p.transition[i][j] = 1.0 / static_cast<double>(k);
  }
  return p;
}

}  // namespace

RegimeDetector::RegimeDetector(DetectorConfig config)
    : config_(checked(config)),
      fitter_(config_.fit_em ? static_cast<std::size_t>(config_.window_bars) : 2),
      filter_(starting_params(config_), config_.em.variance_floor),
      ring_(config_.fit_em ? static_cast<std::size_t>(config_.window_bars) : 0),
      window_(ring_.size()) {
  labels_ = label_states(filter_.params());
  ready_ = !config_.fit_em;
}

StepResult RegimeDetector::on_close(double close, RegimeOutput& out) {
  if (!std::isfinite(close) || close <= 0.0) {
    ++counters_.refused;
    return StepResult::kRefused;
  }
  const double previous = last_close_;
  const bool had_close = have_close_;
  ++counters_.closes;
  last_close_ = close;
  have_close_ = true;
  if (!had_close) return StepResult::kFirstPrice;
  return on_return(std::log(close / previous), out);
}

StepResult RegimeDetector::on_return(double y, RegimeOutput& out) {
  if (!std::isfinite(y)) {
    ++counters_.refused;
    return StepResult::kRefused;
  }
  ++counters_.returns;
  refitted_ = false;
  if (config_.fit_em) {
    ring_[ring_next_] = y;
    ring_next_ = (ring_next_ + 1) % ring_.size();
    if (ring_size_ < ring_.size()) ++ring_size_;
    ++since_fit_;
    const bool first_fit = !ready_ && ring_size_ >= static_cast<std::size_t>(config_.warmup_bars);
    const bool refit = ready_ && config_.refit_every_bars > 0 &&
                       since_fit_ >= static_cast<std::uint64_t>(config_.refit_every_bars);
    if (first_fit || refit) {
      fit();  // filters the window, this return included
    } else if (!ready_) {
      return StepResult::kWarmingUp;
    } else if (!filter_.update(y)) {
      --counters_.returns;
      ++counters_.refused;
      return StepResult::kRefused;
    }
  } else if (!filter_.update(y)) {
    --counters_.returns;
    ++counters_.refused;
    return StepResult::kRefused;
  }
  fill(out);
  return StepResult::kOutput;
}

void RegimeDetector::fit() {
  // The ring in time order: the oldest return is at ring_next_ once it is full.
  const std::size_t n = ring_size_;
  const std::size_t oldest = ring_size_ < ring_.size() ? 0 : ring_next_;
  for (std::size_t t = 0; t < n; ++t) window_[t] = ring_[(oldest + t) % ring_.size()];
  const MsParams start = ready_ ? filter_.params()
                         : config_.has_params
                             ? config_.params
                             : fitter_.initial_guess(window_.data(), n, config_.states, config_.em.variance_floor);
  EmResult r = fitter_.fit(window_.data(), n, start, config_.em);
  ++counters_.fits;
  if (!r.ok) ++counters_.failed_fits;
  // A failed fit keeps the start (floored), so the filter still has a model.
  filter_.reset(r.params);
  for (std::size_t t = 0; t < n; ++t) (void)filter_.update(window_[t]);
  labels_ = label_states(filter_.params());
  since_fit_ = 0;
  ready_ = true;
  refitted_ = true;
}

void RegimeDetector::fill(RegimeOutput& out) {
  const auto k = static_cast<std::size_t>(filter_.states());
  out.bar = counters_.returns;
  out.params = filter_.params();
  out.labels = labels_;
  out.probability = filter_.filtered();
  out.regime_probability = {kNaN, kNaN, kNaN};
  std::size_t best = 0;
  for (std::size_t i = 0; i < k; ++i) {
    out.regime_probability[static_cast<std::size_t>(labels_[i])] = out.probability[i];
    if (out.probability[i] > out.probability[best]) best = i;
  }
  out.most_likely = labels_[best];
  out.changed = false;
  out.bars_in_previous = 0;
  if (!last_.bar) {
    held_ = out.most_likely;
    held_since_ = out.bar;
  } else if (out.most_likely != held_ && out.probability[best] >= config_.min_probability &&
             out.bar - held_since_ >= static_cast<std::uint64_t>(config_.min_bars)) {
    out.changed = true;
    out.previous = held_;
    out.bars_in_previous = out.bar - held_since_;
    held_ = out.most_likely;
    held_since_ = out.bar;
  }
  out.regime = held_;
  out.next = filter_.predict_next();
  out.log_likelihood = filter_.log_likelihood();
  out.refitted = refitted_;
  out.fits = counters_.fits;
  last_ = out;
}

}  // namespace nautilus::ml
