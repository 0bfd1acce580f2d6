// Long-only portfolio optimisation for the portfolio engine's "optimize"
// command: the estimators and objectives users know from PyPortfolioOpt, with
// the solvers written here (no LP/QP library).
//
// Estimators, from prices p_t (one series per asset, aligned):
//   r_t = p_t / p_{t−1} − 1
//   μ   = (Π (1 + r_t))^(F/n) − 1          (mean_historical_return, compounding)
//   Σ   = sample covariance (ddof 1) · F   (sample_cov), F = periods per year (252)
// Objectives, every one with 1'w = 1 and per-asset bounds l ≤ w ≤ u (default [0, 1]):
//   min_variance     min w'Σw
//   efficient_risk   max μ'w subject to √(w'Σw) ≤ σ*   (the max-return portfolio
//                    when it is already within σ*)
//   max_sharpe       max (μ'w − rf) / √(w'Σw)
//   risk_parity      RC_i = w_i(Σw)_i / √(w'Σw) equal for every asset
// Solvers: a primal active-set method for the QP min ½w'Σw − t·μ'w over the
// bounded simplex (exact on each active set); efficient_risk and max_sharpe
// walk that frontier in t (bisection, golden section; both unimodal in t) and
// then solve exactly on the final active set, where w(t) is affine in t
// (σ(t)² = σ* is a quadratic, the Sharpe optimum a linear equation in t).
// risk_parity is Newton's method on Spinu's convex form
// min ½x'Σx − Σ ln(x_i)/n, w = x / 1'x, which has no bounds: equal-risk
// weights outside the bounds are an error.
// Errors (std::invalid_argument, never NaN weights): fewer than 2 returns,
// non-finite or non-positive prices, bounds with Σl > 1 or Σu < 1, every
// feasible expected return ≤ rf (max_sharpe), σ* below the minimum-variance σ
// (efficient_risk). A covariance that is not positive definite (a duplicated
// or constant asset) is regularised with a ridge of 1e-8 · mean variance on the
// diagonal, and the result says so (regularized, ridge).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nautilus::portfolio {

using Vector = std::vector<double>;

// A dense symmetric n×n matrix, row-major.
struct Matrix {
  std::size_t n = 0;
  std::vector<double> a;
  Matrix() = default;
  explicit Matrix(std::size_t size) : n(size), a(size * size, 0.0) {}
  double& operator()(std::size_t i, std::size_t j) { return a[i * n + j]; }
  double operator()(std::size_t i, std::size_t j) const { return a[i * n + j]; }
};

struct Estimates {
  Vector mean;  // expected annual return per asset
  Matrix cov;   // annualised covariance
};

// `prices[k]` is asset k's series; all the same length (≥ 3).
Estimates estimate_from_prices(const std::vector<Vector>& prices, int periods_per_year = 252);
Estimates estimate_from_returns(const std::vector<Vector>& returns, int periods_per_year = 252);

enum class Method : unsigned char { kMinVariance, kMaxSharpe, kEfficientRisk, kRiskParity };
std::string_view to_string(Method m);
// Throws std::invalid_argument naming the four methods.
Method parse_method(std::string_view text);

struct OptimizeRequest {
  Method method = Method::kMinVariance;
  double risk_free_rate = 0.0;     // max_sharpe (annual, as μ)
  double target_volatility = 0.0;  // efficient_risk (annual σ)
  Vector lower, upper;             // per asset; empty = 0 and 1
};

struct OptimizeResult {
  Vector weights;
  double expected_return = 0.0;
  double volatility = 0.0;
  double sharpe = 0.0;              // (return − rf) / volatility
  Vector risk_contributions;        // RC_i, Σ RC_i = volatility
  bool regularized = false;
  double ridge = 0.0;
};

OptimizeResult optimize(const Estimates& estimates, const OptimizeRequest& request);

// The QP at the heart of it, exposed for tests: argmin ½w'Qw − c'w over
// 1'w = 1, l ≤ w ≤ u (Q positive definite). Throws for infeasible bounds.
Vector solve_bounded_simplex_qp(const Matrix& q, const Vector& c, const Vector& lower, const Vector& upper);

}  // namespace nautilus::portfolio
