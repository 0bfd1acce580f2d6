// A Gaussian Markov-switching model of bar returns (Hamilton 1989; 2 or 3
// states, switching mean and variance) and its Hamilton filter. Pure
// computation: no bus, no clock, no allocation after construction. The `ml`
// engine runs one filter per symbol; `nautilus bench engines` calls
// HamiltonFilter::update in a loop.
//
//   y_t | S_t = i  ~  N(μ_i, σ²_i)
//   P[i][j] = Pr(S_t = i | S_{t−1} = j)          (each column sums to 1)
//   ξ_{1|0}  = π, the chain's stationary distribution (π = P·π, Σπ = 1)
//   ξ_{t|t−1} = P · ξ_{t−1|t−1}                    (predicted)
//   ξ_{t|t}  = ξ_{t|t−1} ⊙ η_t / c_t,  η_t,i = N(y_t; μ_i, σ²_i),
//   c_t = Σ_i ξ_{t|t−1},i η_t,i = p(y_t | y_1..y_{t−1})
//   log L = Σ_t log c_t
//
// The filter normalises every step and works with log densities shifted by
// their maximum, so c_t never underflows however long the series or however
// far y_t sits in a tail (a million bars, a 40σ outlier): the recursion is the
// same one, only its scale differs. Variances below the floor are raised to it,
// so a flat price (y = 0 for ever) cannot make a density infinite.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace nautilus::ml {

inline constexpr int kMaxStates = 3;
using StateVector = std::array<double, kMaxStates>;
using TransitionMatrix = std::array<std::array<double, kMaxStates>, kMaxStates>;

struct MsParams {
  int states = 2;
  StateVector mean{};
  StateVector variance{};
  TransitionMatrix transition{};  // transition[i][j] = Pr(S_t = i | S_{t−1} = j)
};

// Every problem of `params`, empty when valid: states in 2..3, finite means,
// positive finite variances, entries in [0, 1], columns summing to 1 within
// `tolerance`, and a unique stationary distribution (the chain has a single
// closed class). Control plane.
std::vector<std::string> validate(const MsParams& params, double tolerance = 1e-9);

// π with π = P·π, Σπ = 1. Solves the linear system; returns false when it is
// singular (no unique stationary distribution), and then `out` is the Cesàro
// average of uniform·P^k over 10,000 steps, which is one stationary law.
bool stationary_distribution(const MsParams& params, StateVector& out);

// The one-step-ahead predictive law of the next return, a Gaussian mixture
// with weights p = P·ξ_{t|t}: mean Σ p_i μ_i, variance Σ p_i (σ²_i + μ_i²) − mean².
struct Predictive {
  StateVector state_probability{};  // ξ_{t+1|t}
  double mean = 0.0;
  double variance = 0.0;
};
Predictive predict_next(const MsParams& params, const StateVector& filtered);

// `params` with every variance raised to at least `floor`.
MsParams with_variance_floor(MsParams params, double floor);

class HamiltonFilter {
 public:
  // `params` must be valid (validate() empty); the floor is applied to them.
  explicit HamiltonFilter(const MsParams& params, double variance_floor = 0.0);

  // New parameters, and back to the stationary prior with log L = 0.
  void reset(const MsParams& params);
  void reset();

  // Filters one return. Returns false and changes nothing for a non-finite y.
  // O(states²), no allocation, no exceptions.
  bool update(double y);

  const StateVector& filtered() const { return filtered_; }     // ξ_{t|t}
  const StateVector& predicted() const { return predicted_; }   // ξ_{t|t−1} of the last update
  double log_likelihood() const { return log_likelihood_; }     // Σ log c_t since the reset
  double last_log_density() const { return last_log_density_; } // log c_t of the last update
  std::uint64_t updates() const { return updates_; }
  const MsParams& params() const { return params_; }
  int states() const { return params_.states; }
  Predictive predict_next() const { return ml::predict_next(params_, filtered_); }

 private:
  void prepare();

  MsParams params_;
  double variance_floor_;
  StateVector log_norm_{};         // −½ log(2π σ²_i)
  StateVector inv_two_variance_{}; // 1 / (2σ²_i)
  StateVector stationary_{};
  StateVector filtered_{};
  StateVector predicted_{};
  double log_likelihood_ = 0.0;
  double last_log_density_ = 0.0;
  std::uint64_t updates_ = 0;
};

// log N(y; mean, variance).
double log_normal_density(double y, double mean, double variance);

}  // namespace nautilus::ml
