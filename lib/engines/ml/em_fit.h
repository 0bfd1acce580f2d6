// Baum–Welch (EM) estimation of the Gaussian Markov-switching model of
// markov_switching.h on a window of returns. Pure computation; the workspace
// is allocated once for `capacity` returns, so a refit allocates nothing.
//
// E-step: the scaled forward–backward recursions (each step's densities are
// shifted by their maximum and the forward variables normalised, so a long
// window cannot underflow). M-step, with γ_t = Pr(S_t | y_1..y_n) and
// ξ_t(i, j) = Pr(S_t = i, S_{t−1} = j | y_1..y_n):
//   π_i    = γ_1(i)                        (the initial law, estimated freely)
//   P[i][j] = Σ_t ξ_t(i, j) / Σ_t Σ_k ξ_t(k, j)
//   μ_i    = Σ_t γ_t(i) y_t / Σ_t γ_t(i)
//   σ²_i   = max(floor, Σ_t γ_t(i) (y_t − μ_i)² / Σ_t γ_t(i))
// Each is the maximiser of the expected complete-data log-likelihood over its
// constraint set (Q is unimodal in σ²_i, so the floored value is the
// constrained maximiser), hence no iteration lowers the likelihood
// log p(y_1..y_n | π, P, μ, σ²). A state (or a column of P) with no posterior
// mass keeps its previous values: Q does not depend on them.
//
// The window's likelihood uses the estimated initial law π; the filter that
// runs afterwards starts from P's stationary law (markov_switching.h), as the
// model defines. Smoothed probabilities exist only inside the fit: they are
// never published.
#pragma once

#include <cstddef>
#include <vector>

#include "engines/ml/markov_switching.h"

namespace nautilus::ml {

struct EmOptions {
  int max_iterations = 100;
  double tolerance = 1e-6;        // stop when an iteration gains less log-likelihood (nats)
  double variance_floor = 1e-12;  // squared log return
};

struct EmResult {
  bool ok = false;                // false: the first E-step was not finite; params = start
  MsParams params;
  StateVector initial{};          // the estimated Pr(S_1)
  double log_likelihood = 0.0;    // of params and initial on the window
  int iterations = 0;             // M-steps done
  bool converged = false;         // stopped by the tolerance, not by max_iterations
};

class EmFitter {
 public:
  explicit EmFitter(std::size_t capacity);
  std::size_t capacity() const { return capacity_; }

  // Fits on y[0..n) (2 ≤ n ≤ capacity) from `start`. `trace`, when given,
  // receives the log-likelihood of every parameter set visited, the start's
  // first and the result's last (it may allocate; tests use it).
  EmResult fit(const double* y, std::size_t n, const MsParams& start, const EmOptions& options,
               std::vector<double>* trace = nullptr);

  // A start from the data alone (n ≥ 2), in the spirit of the labels: returns
  // are split at the median of |y − median(y)| into calm and turbulent; with 3
  // states the calm ones are split again at the median into a rising and a
  // falling group. Each state starts at its group's mean and variance (the
  // floor applied), staying with probability 0.95.
  MsParams initial_guess(const double* y, std::size_t n, int states, double variance_floor);

 private:
  double e_step(const double* y, std::size_t n, const MsParams& params, const StateVector& initial);
  void m_step(const double* y, std::size_t n, MsParams& params, StateVector& initial, double variance_floor);

  std::size_t capacity_;
  std::vector<double> eta_;     // n × K scaled densities exp(log η_t,i − max_i log η_t,i)
  std::vector<double> alpha_;   // n × K normalised forward variables
  std::vector<double> gamma_;   // n × K smoothed state probabilities
  std::vector<double> scale_;   // n normalising sums c_t of the scaled densities
  std::vector<double> scratch_; // n, for the medians of initial_guess
  TransitionMatrix xi_sum_{};   // Σ_t ξ_t(i, j) of the last E-step
};

}  // namespace nautilus::ml
