#include "engines/ml/em_fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace nautilus::ml {
namespace {

constexpr double kStayProbability = 0.95;
// A state (or column of P) with less posterior mass than this keeps its values.
constexpr double kNoMass = 1e-300;

double median_in_place(std::vector<double>& v, std::size_t n) {
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(v.begin(), mid, v.begin() + static_cast<std::ptrdiff_t>(n));
  return *mid;
}

struct Moments {
  double count = 0.0, sum = 0.0;
  double mean() const { return sum / count; }
};

}  // namespace

EmFitter::EmFitter(std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 2)),
      eta_(capacity_ * kMaxStates),
      alpha_(capacity_ * kMaxStates),
      gamma_(capacity_ * kMaxStates),
      scale_(capacity_),
      scratch_(capacity_) {}

MsParams EmFitter::initial_guess(const double* y, std::size_t n, int states, double variance_floor) {
  n = std::min(n, capacity_);
  const auto k = static_cast<std::size_t>(std::clamp(states, 2, kMaxStates));
  std::copy(y, y + n, scratch_.begin());
  const double median = median_in_place(scratch_, n);
  for (std::size_t t = 0; t < n; ++t) scratch_[t] = std::fabs(y[t] - median);
  const double median_deviation = median_in_place(scratch_, n);

  // Group of each return: 0 calm (rising when 3 states), 1 calm falling (3 states), last turbulent.
  auto group_of = [&](double v) -> std::size_t {
    if (std::fabs(v - median) > median_deviation) return k - 1;
    return (k == 3 && v < median) ? 1 : 0;
  };
  Moments all, group[kMaxStates];
  for (std::size_t t = 0; t < n; ++t) {
    all.count += 1;
    all.sum += y[t];
    Moments& g = group[group_of(y[t])];
    g.count += 1;
    g.sum += y[t];
  }
  double all_ss = 0.0, group_ss[kMaxStates] = {};
  for (std::size_t t = 0; t < n; ++t) {
    const double d = y[t] - all.mean();
    all_ss += d * d;
    const std::size_t g = group_of(y[t]);
    const double dg = y[t] - group[g].mean();
    group_ss[g] += dg * dg;
  }
  const double all_variance = all_ss / all.count;

  MsParams p;
  p.states = static_cast<int>(k);
  for (std::size_t i = 0; i < k; ++i) {
    if (group[i].count >= 2) {
      p.mean[i] = group[i].mean();
      p.variance[i] = group_ss[i] / group[i].count;
    } else {
      // An empty group (every return equally far from the median): spread the
      // states around the whole window so that EM can tell them apart.
      p.mean[i] = all.mean();
      p.variance[i] = all_variance * (i == k - 1 ? 4.0 : 0.25);
    }
    p.variance[i] = std::max(p.variance[i], variance_floor);
    if (!(p.variance[i] > 0.0)) p.variance[i] = std::numeric_limits<double>::min();
    for (std::size_t j = 0; j < k; ++j) {
      p.transition[i][j] = i == j ? kStayProbability : (1.0 - kStayProbability) / static_cast<double>(k - 1);
    }
  }
  return p;
}

double EmFitter::e_step(const double* y, std::size_t n, const MsParams& params, const StateVector& initial) {
  const auto k = static_cast<std::size_t>(params.states);
  const auto& p = params.transition;
  StateVector log_norm{}, inv_two_variance{};
  for (std::size_t i = 0; i < k; ++i) {
    log_norm[i] = -0.5 * std::log(2.0 * std::numbers::pi * params.variance[i]);
    inv_two_variance[i] = 1.0 / (2.0 * params.variance[i]);
  }
  double log_likelihood = 0.0;
  // Forward.
  for (std::size_t t = 0; t < n; ++t) {
    double* eta = &eta_[t * kMaxStates];
    double max_log = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < k; ++i) {
      const double d = y[t] - params.mean[i];
      eta[i] = log_norm[i] - d * d * inv_two_variance[i];
      max_log = std::max(max_log, eta[i]);
    }
    if (!std::isfinite(max_log)) return std::numeric_limits<double>::quiet_NaN();
    double* alpha = &alpha_[t * kMaxStates];
    double c = 0.0;
    for (std::size_t i = 0; i < k; ++i) {
      eta[i] = std::exp(eta[i] - max_log);
      double prior = 0.0;
      if (t == 0) {
        prior = initial[i];
      } else {
        const double* prev = &alpha_[(t - 1) * kMaxStates];
        for (std::size_t j = 0; j < k; ++j) prior += p[i][j] * prev[j];
      }
      alpha[i] = prior * eta[i];
      c += alpha[i];
    }
    if (!(c > 0.0) || !std::isfinite(c)) return std::numeric_limits<double>::quiet_NaN();
    for (std::size_t i = 0; i < k; ++i) alpha[i] /= c;
    scale_[t] = c;
    log_likelihood += max_log + std::log(c);
  }
  // Backward, with β̂ rolled in `beta`: β̂_{t−1}(j) = Σ_i P[i][j] η_t(i) β̂_t(i) / c_t.
  xi_sum_ = {};
  StateVector beta{};
  for (std::size_t i = 0; i < k; ++i) {
    beta[i] = 1.0;
    gamma_[(n - 1) * kMaxStates + i] = alpha_[(n - 1) * kMaxStates + i];
  }
  for (std::size_t t = n - 1; t >= 1; --t) {
    const double* eta = &eta_[t * kMaxStates];
    const double* prev_alpha = &alpha_[(t - 1) * kMaxStates];
    StateVector w{}, next{};
    for (std::size_t i = 0; i < k; ++i) w[i] = eta[i] * beta[i] / scale_[t];
    for (std::size_t j = 0; j < k; ++j) {
      for (std::size_t i = 0; i < k; ++i) {
        const double pw = p[i][j] * w[i];
        xi_sum_[i][j] += prev_alpha[j] * pw;
        next[j] += pw;
      }
    }
    double total = 0.0;
    double* g = &gamma_[(t - 1) * kMaxStates];
    for (std::size_t j = 0; j < k; ++j) {
      if (!std::isfinite(next[j])) return std::numeric_limits<double>::quiet_NaN();
      beta[j] = next[j];
      g[j] = prev_alpha[j] * beta[j];
      total += g[j];
    }
    // Σ_j γ_t(j) is 1 up to rounding; renormalise so the M-step sums stay exact.
    if (!(total > 0.0)) return std::numeric_limits<double>::quiet_NaN();
    for (std::size_t j = 0; j < k; ++j) g[j] /= total;
  }
  return log_likelihood;
}

void EmFitter::m_step(const double* y, std::size_t n, MsParams& params, StateVector& initial, double variance_floor) {
  const auto k = static_cast<std::size_t>(params.states);
  for (std::size_t i = 0; i < k; ++i) initial[i] = gamma_[i];
  for (std::size_t j = 0; j < k; ++j) {
    double column = 0.0;
    for (std::size_t i = 0; i < k; ++i) column += xi_sum_[i][j];
    if (column < kNoMass) continue;
    for (std::size_t i = 0; i < k; ++i) params.transition[i][j] = xi_sum_[i][j] / column;
  }
  for (std::size_t i = 0; i < k; ++i) {
    double mass = 0.0, weighted = 0.0;
    for (std::size_t t = 0; t < n; ++t) {
      const double g = gamma_[t * kMaxStates + i];
      mass += g;
      weighted += g * y[t];
    }
    if (mass < kNoMass) continue;
    const double mean = weighted / mass;
    double ss = 0.0;
    for (std::size_t t = 0; t < n; ++t) {
      const double d = y[t] - mean;
      ss += gamma_[t * kMaxStates + i] * d * d;
    }
    params.mean[i] = mean;
    params.variance[i] = std::max(ss / mass, variance_floor);
  }
}

EmResult EmFitter::fit(const double* y, std::size_t n, const MsParams& start, const EmOptions& options,
                       std::vector<double>* trace) {
  EmResult result;
  result.params = with_variance_floor(start, options.variance_floor);
  (void)stationary_distribution(result.params, result.initial);
  n = std::min(n, capacity_);
  if (n < 2) return result;

  MsParams params = result.params;
  StateVector initial = result.initial;
  double previous = e_step(y, n, params, initial);
  if (!std::isfinite(previous)) return result;
  if (trace) trace->push_back(previous);
  result.ok = true;
  result.log_likelihood = previous;
  for (int iteration = 1; iteration <= options.max_iterations; ++iteration) {
    m_step(y, n, params, initial, options.variance_floor);
    const double current = e_step(y, n, params, initial);
    // A non-finite E-step (an overflow in an extreme window) keeps the last good fit.
    if (!std::isfinite(current)) break;
    if (trace) trace->push_back(current);
    result.params = params;
    result.initial = initial;
    result.log_likelihood = current;
    result.iterations = iteration;
    if (current - previous < options.tolerance) {
      result.converged = true;
      break;
    }
    previous = current;
  }
  return result;
}

}  // namespace nautilus::ml
