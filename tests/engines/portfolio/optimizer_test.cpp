// The optimiser against closed forms (where no bound binds), the KKT
// conditions (where bounds bind), an independent estimator, and its errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "engines/portfolio/optimizer.h"

using namespace nautilus::portfolio;

namespace {

Matrix matrix(std::initializer_list<std::initializer_list<double>> rows) {
  Matrix m(rows.size());
  std::size_t i = 0;
  for (const auto& r : rows) {
    std::size_t j = 0;
    for (double v : r) m(i, j++) = v;
    ++i;
  }
  return m;
}

// Gauss-Jordan inverse, written separately from the library's elimination.
std::vector<std::vector<double>> inverse(const Matrix& m) {
  const std::size_t n = m.n;
  std::vector<std::vector<double>> a(n, std::vector<double>(2 * n, 0.0));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) a[i][j] = m(i, j);
    a[i][n + i] = 1.0;
  }
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t p = c;
    for (std::size_t r = c; r < n; ++r) {
      if (std::fabs(a[r][c]) > std::fabs(a[p][c])) p = r;
    }
    std::swap(a[c], a[p]);
    const double d = a[c][c];
    for (auto& v : a[c]) v /= d;
    for (std::size_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r][c];
      for (std::size_t k = 0; k < 2 * n; ++k) a[r][k] -= f * a[c][k];
    }
  }
  std::vector<std::vector<double>> inv(n, std::vector<double>(n));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) inv[i][j] = a[i][n + j];
  }
  return inv;
}

// Σ⁻¹v / (1'Σ⁻¹v): the closed form of both the minimum-variance (v = 1) and
// the tangency (v = μ − rf) portfolio.
Vector normalised_inverse_times(const Matrix& cov, const Vector& v) {
  auto inv = inverse(cov);
  Vector w(v.size(), 0.0);
  double sum = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    for (std::size_t j = 0; j < v.size(); ++j) w[i] += inv[i][j] * v[j];
    sum += w[i];
  }
  for (double& x : w) x /= sum;
  return w;
}

double variance(const Matrix& cov, const Vector& w) {
  double s = 0.0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    for (std::size_t j = 0; j < w.size(); ++j) s += w[i] * cov(i, j) * w[j];
  }
  return s;
}

double expected(const Vector& mu, const Vector& w) {
  double s = 0.0;
  for (std::size_t i = 0; i < w.size(); ++i) s += mu[i] * w[i];
  return s;
}

// Random points of the bounded simplex (rejection sampling), for "no feasible
// point does better" checks.
std::vector<Vector> feasible_points(const Vector& lower, const Vector& upper, int count) {
  std::mt19937_64 rng(5);
  std::gamma_distribution<double> g(1.0, 1.0);
  std::vector<Vector> out;
  while (static_cast<int>(out.size()) < count) {
    Vector w(lower.size());
    double s = 0.0;
    for (double& x : w) s += (x = g(rng));
    bool ok = true;
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i] /= s;
      ok = ok && w[i] >= lower[i] && w[i] <= upper[i];
    }
    if (ok) out.push_back(w);
  }
  return out;
}

const Matrix kCov = matrix({{0.040, 0.006, 0.004, 0.002},
                            {0.006, 0.090, 0.010, 0.003},
                            {0.004, 0.010, 0.060, 0.005},
                            {0.002, 0.003, 0.005, 0.050}});
const Vector kMu = {0.08, 0.12, 0.10, 0.09};

}  // namespace

TEST_CASE("optimiser: estimators are PyPortfolioOpt's sample_cov and compounded mean_historical_return", "[portfolio][optimizer]") {
  const std::vector<Vector> prices = {{100, 101, 99.5, 102, 103.5, 103}, {50, 49, 49.5, 51, 50.5, 52}};
  Estimates e = estimate_from_prices(prices, 252);
  // Independently: pct_change, the product form, and a two-pass ddof-1 covariance.
  std::vector<Vector> r(2);
  for (std::size_t k = 0; k < 2; ++k) {
    for (std::size_t t = 1; t < prices[k].size(); ++t) r[k].push_back(prices[k][t] / prices[k][t - 1] - 1.0);
  }
  const double n = static_cast<double>(r[0].size());
  for (std::size_t k = 0; k < 2; ++k) {
    double prod = 1.0;
    for (double x : r[k]) prod *= 1.0 + x;
    CHECK(e.mean[k] == Approx(std::pow(prod, 252.0 / n) - 1.0).epsilon(1e-12));
    // The compounded mean equals the annualised total growth: (p_T/p_0)^(252/n) − 1.
    CHECK(e.mean[k] == Approx(std::pow(prices[k].back() / prices[k].front(), 252.0 / n) - 1.0).epsilon(1e-12));
  }
  for (std::size_t i = 0; i < 2; ++i) {
    for (std::size_t j = 0; j < 2; ++j) {
      double mi = 0, mj = 0;
      for (std::size_t t = 0; t < r[i].size(); ++t) {
        mi += r[i][t] / n;
        mj += r[j][t] / n;
      }
      double c = 0;
      for (std::size_t t = 0; t < r[i].size(); ++t) c += (r[i][t] - mi) * (r[j][t] - mj);
      CHECK(e.cov(i, j) == Approx(c / (n - 1) * 252).epsilon(1e-12));
    }
  }
  CHECK_THROWS_AS(estimate_from_prices({{100, 101}}, 252), std::invalid_argument);  // one return
  CHECK_THROWS_AS(estimate_from_prices({{100, 101, 102}, {1, 2}}, 252), std::invalid_argument);
  CHECK_THROWS_AS(estimate_from_prices({{100, -1, 102}}, 252), std::invalid_argument);
}

TEST_CASE("optimiser: min_variance and max_sharpe match the closed forms when no bound binds", "[portfolio][optimizer]") {
  Estimates e{kMu, kCov};
  const Vector ones(4, 1.0);
  const Vector mv = normalised_inverse_times(kCov, ones);
  for (double w : mv) REQUIRE(w > 0.0);  // the case is one where bounds do not bind
  OptimizeRequest req;
  req.method = Method::kMinVariance;
  OptimizeResult r = optimize(e, req);
  CHECK_FALSE(r.regularized);
  for (std::size_t i = 0; i < 4; ++i) CHECK(std::fabs(r.weights[i] - mv[i]) < 1e-8);

  for (double rf : {0.0, 0.02, 0.05}) {
    Vector excess(4);
    for (std::size_t i = 0; i < 4; ++i) excess[i] = kMu[i] - rf;
    const Vector tangency = normalised_inverse_times(kCov, excess);
    for (double w : tangency) REQUIRE(w > 0.0);
    req.method = Method::kMaxSharpe;
    req.risk_free_rate = rf;
    r = optimize(e, req);
    double sum = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      CHECK(std::fabs(r.weights[i] - tangency[i]) < 1e-8);
      sum += r.weights[i];
    }
    CHECK(sum == Approx(1.0).margin(1e-12));
    CHECK(r.sharpe == Approx((expected(kMu, tangency) - rf) / std::sqrt(variance(kCov, tangency))).epsilon(1e-10));

    // The tangency portfolio is on the frontier: efficient_risk at its σ finds it.
    req.method = Method::kEfficientRisk;
    req.target_volatility = std::sqrt(variance(kCov, tangency));
    r = optimize(e, req);
    for (std::size_t i = 0; i < 4; ++i) CHECK(std::fabs(r.weights[i] - tangency[i]) < 1e-8);
    CHECK(r.volatility == Approx(req.target_volatility).epsilon(1e-10));
  }
}

TEST_CASE("optimiser: risk_parity gives equal risk contributions", "[portfolio][optimizer]") {
  for (const Matrix& cov : {kCov, matrix({{0.1, 0.05}, {0.05, 0.4}}),
                            matrix({{0.04, -0.01, 0.0}, {-0.01, 0.25, 0.02}, {0.0, 0.02, 0.01}})}) {
    Estimates e{Vector(cov.n, 0.05), cov};
    OptimizeRequest req;
    req.method = Method::kRiskParity;
    OptimizeResult r = optimize(e, req);
    // RC_i = w_i (Σw)_i / √(w'Σw), computed here from the weights alone.
    const double sigma = std::sqrt(variance(cov, r.weights));
    double sum = 0.0;
    for (std::size_t i = 0; i < cov.n; ++i) {
      double sw = 0.0;
      for (std::size_t j = 0; j < cov.n; ++j) sw += cov(i, j) * r.weights[j];
      const double rc = r.weights[i] * sw / sigma;
      CHECK(std::fabs(rc - sigma / static_cast<double>(cov.n)) < 1e-8);
      CHECK(r.risk_contributions[i] == Approx(rc).epsilon(1e-10));
      CHECK(r.weights[i] > 0.0);
      sum += r.weights[i];
    }
    CHECK(sum == Approx(1.0).margin(1e-12));
  }
  // Two uncorrelated assets: weights ∝ 1/σ_i, by hand.
  Estimates e{{0.1, 0.1}, matrix({{0.04, 0.0}, {0.0, 0.16}})};
  OptimizeRequest req;
  req.method = Method::kRiskParity;
  auto r = optimize(e, req);
  CHECK(r.weights[0] == Approx(2.0 / 3.0).margin(1e-12));
  CHECK(r.weights[1] == Approx(1.0 / 3.0).margin(1e-12));
  // Bounds the equal-risk weights break are an error, not clipped weights.
  req.upper = {0.5, 1.0};
  CHECK_THROWS_WITH(optimize(e, req), Catch::Contains("outside its bounds"));
}

TEST_CASE("optimiser: binding bounds satisfy the KKT conditions", "[portfolio][optimizer]") {
  Estimates e{kMu, kCov};
  struct Case {
    Method method;
    Vector lower, upper;
    double rf = 0.0, target = 0.0;
  };
  const std::vector<Case> cases = {
      {Method::kMinVariance, {0, 0, 0, 0}, {0.25, 1, 1, 1}},      // asset 0 wants ~0.38
      {Method::kMinVariance, {0, 0.2, 0, 0}, {1, 1, 1, 1}},       // asset 1 forced up
      {Method::kMinVariance, {0.1, 0.1, 0.1, 0.1}, {0.3, 0.3, 0.3, 0.3}},
      {Method::kMaxSharpe, {0, 0, 0, 0}, {0.2, 0.2, 1, 1}, 0.02},
      {Method::kMaxSharpe, {0, 0, 0, 0.3}, {1, 0.2, 1, 1}, 0.0},
      {Method::kEfficientRisk, {0, 0, 0, 0}, {0.3, 1, 0.3, 1}, 0.0, 0.17},
      {Method::kEfficientRisk, {0.05, 0.05, 0.05, 0.05}, {1, 0.5, 1, 1}, 0.0, 0.18},
  };
  for (const auto& c : cases) {
    CAPTURE(to_string(c.method), c.upper, c.lower);
    OptimizeRequest req;
    req.method = c.method;
    req.lower = c.lower;
    req.upper = c.upper;
    req.risk_free_rate = c.rf;
    req.target_volatility = c.target;
    OptimizeResult r = optimize(e, req);
    double sum = 0.0;
    bool some_bound_binds = false;
    for (std::size_t i = 0; i < 4; ++i) {
      CHECK(r.weights[i] >= c.lower[i] - 1e-12);
      CHECK(r.weights[i] <= c.upper[i] + 1e-12);
      some_bound_binds = some_bound_binds || std::fabs(r.weights[i] - c.upper[i]) < 1e-10 ||
                         (c.lower[i] > 0 && std::fabs(r.weights[i] - c.lower[i]) < 1e-10);
      sum += r.weights[i];
    }
    CHECK(some_bound_binds);
    CHECK(sum == Approx(1.0).margin(1e-12));
    // KKT of each objective's gradient d: equal on the free assets (= ν),
    // ≥ ν at a lower bound, ≤ ν at an upper bound (for a minimisation).
    Vector d(4);
    const double var = variance(kCov, r.weights), ret = expected(kMu, r.weights);
    for (std::size_t i = 0; i < 4; ++i) {
      double sw = 0;
      for (std::size_t j = 0; j < 4; ++j) sw += kCov(i, j) * r.weights[j];
      if (c.method == Method::kMinVariance) d[i] = 2 * sw;
      // −Sharpe: −(μ_i σ² − (ret − rf)(Σw)_i) / σ³
      if (c.method == Method::kMaxSharpe) d[i] = -(kMu[i] * var - (ret - c.rf) * sw) / std::pow(var, 1.5);
      // −μ'w + λ(w'Σw − σ*²), λ from the free assets below.
      if (c.method == Method::kEfficientRisk) d[i] = sw;
    }
    if (c.method == Method::kEfficientRisk) {
      CHECK(std::sqrt(var) == Approx(c.target).epsilon(1e-10));
      // −μ_i + 2λ(Σw)_i = ν on free assets: solve λ, ν from two free assets.
      std::vector<std::size_t> f;
      for (std::size_t i = 0; i < 4; ++i) {
        if (r.weights[i] > c.lower[i] + 1e-9 && r.weights[i] < c.upper[i] - 1e-9) f.push_back(i);
      }
      REQUIRE(f.size() >= 2);
      const double lambda2 = (kMu[f[0]] - kMu[f[1]]) / (d[f[0]] - d[f[1]]);
      CHECK(lambda2 > 0.0);  // the risk constraint is active
      for (std::size_t i = 0; i < 4; ++i) d[i] = -kMu[i] + lambda2 * d[i];
    }
    double nu = 0;
    int free_count = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      if (r.weights[i] > c.lower[i] + 1e-9 && r.weights[i] < c.upper[i] - 1e-9) {
        nu += d[i];
        ++free_count;
      }
    }
    REQUIRE(free_count > 0);
    nu /= free_count;
    for (std::size_t i = 0; i < 4; ++i) {
      if (r.weights[i] > c.lower[i] + 1e-9 && r.weights[i] < c.upper[i] - 1e-9) CHECK(d[i] == Approx(nu).margin(1e-8));
      else if (std::fabs(r.weights[i] - c.lower[i]) <= 1e-9) CHECK(d[i] >= nu - 1e-8);
      else CHECK(d[i] <= nu + 1e-8);
    }
    // And no feasible point does better.
    for (const auto& w : feasible_points(c.lower, c.upper, 1000)) {
      const double v = variance(kCov, w), m = expected(kMu, w);
      if (c.method == Method::kMinVariance) CHECK(v >= var - 1e-12);
      if (c.method == Method::kMaxSharpe) CHECK((m - c.rf) / std::sqrt(v) <= (ret - c.rf) / std::sqrt(var) + 1e-12);
      if (c.method == Method::kEfficientRisk && std::sqrt(v) <= c.target) CHECK(m <= ret + 1e-12);
    }
  }
}

TEST_CASE("optimiser: a singular covariance is regularised with a small ridge, and says so", "[portfolio][optimizer]") {
  // Assets 0 and 2 are the same series: Σ is singular.
  const std::vector<Vector> prices = {{100, 101, 99, 102, 104, 103}, {50, 50.5, 50.2, 50.1, 51, 52}, {100, 101, 99, 102, 104, 103}};
  Estimates e = estimate_from_prices(prices);
  for (Method m : {Method::kMinVariance, Method::kMaxSharpe, Method::kRiskParity, Method::kEfficientRisk}) {
    CAPTURE(to_string(m));
    OptimizeRequest req;
    req.method = m;
    req.target_volatility = 0.2;
    if (m == Method::kEfficientRisk) req.target_volatility = optimize(e, OptimizeRequest{}).volatility * 1.5;
    OptimizeResult r = optimize(e, req);
    CHECK(r.regularized);
    CHECK(r.ridge > 0.0);
    CHECK(r.ridge < 1e-6 * e.cov(1, 1));
    double sum = 0;
    for (double w : r.weights) {
      CHECK(std::isfinite(w));
      sum += w;
    }
    CHECK(sum == Approx(1.0).margin(1e-10));
    CHECK(r.weights[0] == Approx(r.weights[2]).margin(1e-6));  // the twins share alike
  }
}

TEST_CASE("optimiser: infeasible requests are errors, never NaN weights", "[portfolio][optimizer]") {
  Estimates e{kMu, kCov};
  OptimizeRequest req;
  req.method = Method::kMaxSharpe;
  req.risk_free_rate = 0.13;  // above every expected return
  CHECK_THROWS_WITH(optimize(e, req), Catch::Contains("risk-free"));
  req.risk_free_rate = 0.11;  // only asset 1 beats it, and the bounds cap it at 0.2 (0.2·0.12 + 0.8·0.10 < 0.11)
  req.upper = {1, 0.2, 1, 1};
  CHECK_THROWS_WITH(optimize(e, req), Catch::Contains("risk-free"));

  req = {};
  req.method = Method::kEfficientRisk;
  const double sigma_min = optimize(e, OptimizeRequest{}).volatility;
  req.target_volatility = sigma_min * 0.9;
  CHECK_THROWS_WITH(optimize(e, req), Catch::Contains("minimum-variance"));
  req.target_volatility = 10.0;  // more than any portfolio: the max-return one
  CHECK(optimize(e, req).weights[1] == Approx(1.0));

  req = {};
  req.lower = {0.3, 0.3, 0.3, 0.3};
  CHECK_THROWS_WITH(optimize(e, req), Catch::Contains("lower bounds sum"));
  req.lower = {};
  req.upper = {0.2, 0.2, 0.2, 0.2};
  CHECK_THROWS_WITH(optimize(e, req), Catch::Contains("upper bounds sum"));
  CHECK_THROWS_AS(parse_method("max_return"), std::invalid_argument);
  Estimates bad{{0.1, NAN}, matrix({{0.1, 0}, {0, 0.1}})};
  CHECK_THROWS_AS(optimize(bad, OptimizeRequest{}), std::invalid_argument);
}

TEST_CASE("optimiser: the QP over the bounded simplex, small cases by hand", "[portfolio][optimizer]") {
  // min ½(w0² + w1²) with w0 + w1 = 1: (0.5, 0.5); with w0 ≤ 0.2: (0.2, 0.8).
  Matrix id = matrix({{1, 0}, {0, 1}});
  auto w = solve_bounded_simplex_qp(id, {0, 0}, {0, 0}, {1, 1});
  CHECK(w[0] == Approx(0.5).margin(1e-15));
  w = solve_bounded_simplex_qp(id, {0, 0}, {0, 0}, {0.2, 1});
  CHECK(w[0] == Approx(0.2).margin(1e-15));
  CHECK(w[1] == Approx(0.8).margin(1e-15));
  // A strong linear pull: c = (0, 3) → unconstrained w = (−1, 2), clipped to (0, 1).
  w = solve_bounded_simplex_qp(id, {0, 3}, {0, 0}, {1, 1});
  CHECK(w[0] == Approx(0.0).margin(1e-15));
  CHECK(w[1] == Approx(1.0).margin(1e-15));
}
