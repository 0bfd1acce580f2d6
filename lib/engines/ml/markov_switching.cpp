#include "engines/ml/markov_switching.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>

namespace nautilus::ml {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Below this the scaled sum has lost precision (denormals start near 1e-308):
// the filter then takes the prior's logarithm too.
constexpr double kMinScaledSum = 1e-250;
constexpr double kSingularPivot = 1e-12;
constexpr int kCesaroSteps = 10'000;

std::string number_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.12g", x);
  return buf;
}

}  // namespace

double log_normal_density(double y, double mean, double variance) {
  const double d = y - mean;
  return -0.5 * std::log(2.0 * std::numbers::pi * variance) - d * d / (2.0 * variance);
}

bool stationary_distribution(const MsParams& params, StateVector& out) {
  const auto k = static_cast<std::size_t>(params.states);
  const auto& p = params.transition;
  out = {};
  // (P − I)π = 0 with the last equation replaced by Σπ = 1, by Gauss–Jordan
  // elimination with partial pivoting.
  double a[kMaxStates][kMaxStates + 1] = {};
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < k; ++j) a[i][j] = p[i][j] - (i == j ? 1.0 : 0.0);
  }
  for (std::size_t j = 0; j <= k; ++j) a[k - 1][j] = 1.0;
  bool singular = false;
  for (std::size_t col = 0; col < k; ++col) {
    std::size_t pivot = col;
    for (std::size_t r = col + 1; r < k; ++r) {
      if (std::fabs(a[r][col]) > std::fabs(a[pivot][col])) pivot = r;
    }
    if (std::fabs(a[pivot][col]) < kSingularPivot) {
      singular = true;
      break;
    }
    if (pivot != col) {
      for (std::size_t c = 0; c <= k; ++c) std::swap(a[pivot][c], a[col][c]);
    }
    for (std::size_t r = 0; r < k; ++r) {
      if (r == col) continue;
      const double f = a[r][col] / a[col][col];
      for (std::size_t c = col; c <= k; ++c) a[r][c] -= f * a[col][c];
    }
  }
  if (!singular) {
    double sum = 0.0;
    for (std::size_t i = 0; i < k; ++i) {
      // Rounding may leave −1e−17 where the answer is 0.
      out[i] = std::max(0.0, a[i][k] / a[i][i]);
      sum += out[i];
    }
    if (sum > 0.0 && std::isfinite(sum)) {
      for (std::size_t i = 0; i < k; ++i) out[i] /= sum;
      return true;
    }
  }
  // Several closed classes: the Cesàro mean of uniform·P^n converges for every
  // finite chain (periodic ones too) and is stationary.
  StateVector x{}, acc{};
  for (std::size_t i = 0; i < k; ++i) x[i] = 1.0 / static_cast<double>(k);
  for (int step = 0; step < kCesaroSteps; ++step) {
    StateVector next{};
    for (std::size_t i = 0; i < k; ++i) {
      acc[i] += x[i];
      for (std::size_t j = 0; j < k; ++j) next[i] += p[i][j] * x[j];
    }
    x = next;
  }
  double sum = 0.0;
  for (std::size_t i = 0; i < k; ++i) sum += acc[i];
  for (std::size_t i = 0; i < k; ++i) out[i] = acc[i] / sum;
  return false;
}

std::vector<std::string> validate(const MsParams& params, double tolerance) {
  std::vector<std::string> problems;
  if (params.states < 2 || params.states > kMaxStates) {
    problems.push_back("states must be 2 or 3 (got " + std::to_string(params.states) + ")");
    return problems;
  }
  const auto k = static_cast<std::size_t>(params.states);
  for (std::size_t i = 0; i < k; ++i) {
    if (!std::isfinite(params.mean[i])) problems.push_back("means[" + std::to_string(i) + "] must be finite");
    if (!std::isfinite(params.variance[i]) || params.variance[i] <= 0.0) {
      problems.push_back("variances[" + std::to_string(i) + "] must be a positive number (got " +
                         number_text(params.variance[i]) + ")");
    }
  }
  bool entries_ok = true;
  for (std::size_t j = 0; j < k; ++j) {
    double sum = 0.0;
    for (std::size_t i = 0; i < k; ++i) {
      const double p = params.transition[i][j];
      if (!std::isfinite(p) || p < 0.0 || p > 1.0) {
        problems.push_back("transition[" + std::to_string(i) + "][" + std::to_string(j) +
                           "] must be a probability in [0, 1] (got " + number_text(p) + ")");
        entries_ok = false;
      }
      sum += p;
    }
    if (std::fabs(sum - 1.0) > tolerance) {
      problems.push_back("transition column " + std::to_string(j) +
                         " must sum to 1: transition[i][j] = Pr(S_t = i | S_t-1 = j) (got " + number_text(sum) + ")");
      entries_ok = false;
    }
  }
  if (entries_ok) {
    StateVector pi{};
    if (!stationary_distribution(params, pi)) {
      problems.push_back("transition has no unique stationary distribution (the chain has more than one closed class)");
    }
  }
  return problems;
}

Predictive predict_next(const MsParams& params, const StateVector& filtered) {
  Predictive out;
  const auto k = static_cast<std::size_t>(params.states);
  for (std::size_t i = 0; i < k; ++i) {
    double s = 0.0;
    for (std::size_t j = 0; j < k; ++j) s += params.transition[i][j] * filtered[j];
    out.state_probability[i] = s;
    out.mean += s * params.mean[i];
  }
  // Σ p_i σ²_i + Σ p_i (μ_i − mean)², which is Σ p_i (σ²_i + μ_i²) − mean²
  // without the cancellation of two nearly equal terms.
  for (std::size_t i = 0; i < k; ++i) {
    const double d = params.mean[i] - out.mean;
    out.variance += out.state_probability[i] * (params.variance[i] + d * d);
  }
  return out;
}

MsParams with_variance_floor(MsParams params, double floor) {
  for (int i = 0; i < params.states; ++i) {
    auto& v = params.variance[static_cast<std::size_t>(i)];
    v = std::max(v, floor);
  }
  return params;
}

HamiltonFilter::HamiltonFilter(const MsParams& params, double variance_floor) : variance_floor_(variance_floor) {
  reset(params);
}

void HamiltonFilter::reset(const MsParams& params) {
  params_ = with_variance_floor(params, variance_floor_);
  prepare();
  reset();
}

void HamiltonFilter::prepare() {
  for (int i = 0; i < params_.states; ++i) {
    const auto u = static_cast<std::size_t>(i);
    log_norm_[u] = -0.5 * std::log(2.0 * std::numbers::pi * params_.variance[u]);
    inv_two_variance_[u] = 1.0 / (2.0 * params_.variance[u]);
  }
  (void)stationary_distribution(params_, stationary_);
}

void HamiltonFilter::reset() {
  filtered_ = stationary_;
  predicted_ = stationary_;
  log_likelihood_ = 0.0;
  last_log_density_ = 0.0;
  updates_ = 0;
}

bool HamiltonFilter::update(double y) {
  if (!std::isfinite(y)) return false;
  const std::size_t k = static_cast<std::size_t>(params_.states);
  StateVector pred{}, log_eta{}, w{};
  double max_log_eta = -kInf;
  for (std::size_t i = 0; i < k; ++i) {
    if (updates_ == 0) {
      pred[i] = stationary_[i];
    } else {
      double s = 0.0;
      for (std::size_t j = 0; j < k; ++j) s += params_.transition[i][j] * filtered_[j];
      pred[i] = s;
    }
    const double d = y - params_.mean[i];
    log_eta[i] = log_norm_[i] - d * d * inv_two_variance_[i];
    max_log_eta = std::max(max_log_eta, log_eta[i]);
  }
  // |y| so large that (y − μ)² overflows: no density to speak of.
  if (!std::isfinite(max_log_eta)) return false;
  // Densities scaled by the largest one: c_t·e^{−max} is at least the prior
  // mass of the best-fitting state, so it only underflows when the prior puts
  // (almost) none there; then the prior goes into the logarithm too.
  double c = 0.0;
  for (std::size_t i = 0; i < k; ++i) {
    w[i] = pred[i] * std::exp(log_eta[i] - max_log_eta);
    c += w[i];
  }
  double log_c;
  if (c >= kMinScaledSum) {
    log_c = max_log_eta + std::log(c);
  } else {
    StateVector log_w{};
    double max_log_w = -kInf;
    for (std::size_t i = 0; i < k; ++i) {
      log_w[i] = (pred[i] > 0.0 ? std::log(pred[i]) : -kInf) + log_eta[i];
      max_log_w = std::max(max_log_w, log_w[i]);
    }
    c = 0.0;
    for (std::size_t i = 0; i < k; ++i) {
      w[i] = std::exp(log_w[i] - max_log_w);
      c += w[i];
    }
    log_c = max_log_w + std::log(c);
  }
  const double inv_c = 1.0 / c;
  for (std::size_t i = 0; i < k; ++i) filtered_[i] = w[i] * inv_c;
  predicted_ = pred;
  last_log_density_ = log_c;
  log_likelihood_ += log_c;
  ++updates_;
  return true;
}

}  // namespace nautilus::ml
