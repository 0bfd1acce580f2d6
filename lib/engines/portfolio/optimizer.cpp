#include "engines/portfolio/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <stdexcept>

namespace nautilus::portfolio {
namespace {

constexpr double kRidgeFraction = 1e-8;  // of the mean variance, for a singular Σ

enum class Bound : signed char { kLower = -1, kFree = 0, kUpper = 1 };

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

double dot(const Vector& x, const Vector& y) {
  double s = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

Vector multiply(const Matrix& m, const Vector& x) {
  Vector y(m.n, 0.0);
  for (std::size_t i = 0; i < m.n; ++i) {
    double s = 0.0;
    for (std::size_t j = 0; j < m.n; ++j) s += m(i, j) * x[j];
    y[i] = s;
  }
  return y;
}

double quad(const Matrix& m, const Vector& x) { return dot(x, multiply(m, x)); }

// Solves A x = b in place (Gaussian elimination, partial pivoting); false when
// A is singular to working precision.
bool solve_linear(std::vector<double> a, std::size_t n, Vector& b) {
  double scale = 0.0;
  for (double v : a) scale = std::max(scale, std::fabs(v));
  const double tiny = scale * 1e-14 * static_cast<double>(n);
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    for (std::size_t r = col + 1; r < n; ++r) {
      if (std::fabs(a[r * n + col]) > std::fabs(a[pivot * n + col])) pivot = r;
    }
    if (std::fabs(a[pivot * n + col]) <= tiny) return false;
    if (pivot != col) {
      for (std::size_t c = 0; c < n; ++c) std::swap(a[col * n + c], a[pivot * n + c]);
      std::swap(b[col], b[pivot]);
    }
    for (std::size_t r = col + 1; r < n; ++r) {
      const double f = a[r * n + col] / a[col * n + col];
      if (f == 0.0) continue;
      for (std::size_t c = col; c < n; ++c) a[r * n + c] -= f * a[col * n + c];
      b[r] -= f * b[col];
    }
  }
  for (std::size_t i = n; i-- > 0;) {
    double s = b[i];
    for (std::size_t c = i + 1; c < n; ++c) s -= a[i * n + c] * b[c];
    b[i] = s / a[i * n + i];
  }
  return true;
}

bool positive_definite(const Matrix& m) {
  const std::size_t n = m.n;
  double mean_diag = 0.0;
  for (std::size_t i = 0; i < n; ++i) mean_diag += m(i, i);
  mean_diag /= static_cast<double>(n);
  if (!(mean_diag > 0.0)) return false;
  std::vector<double> l(n * n, 0.0);
  for (std::size_t j = 0; j < n; ++j) {
    double d = m(j, j);
    for (std::size_t k = 0; k < j; ++k) d -= l[j * n + k] * l[j * n + k];
    // A pivot this small relative to the variances is a singular Σ in all but name.
    if (d <= 1e-12 * mean_diag) return false;
    l[j * n + j] = std::sqrt(d);
    for (std::size_t i = j + 1; i < n; ++i) {
      double s = m(i, j);
      for (std::size_t k = 0; k < j; ++k) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / l[j * n + j];
    }
  }
  return true;
}

struct Bounds {
  Vector lower, upper;
};

Bounds bounds_of(const OptimizeRequest& r, std::size_t n) {
  Bounds b{r.lower.empty() ? Vector(n, 0.0) : r.lower, r.upper.empty() ? Vector(n, 1.0) : r.upper};
  if (b.lower.size() != n || b.upper.size() != n) throw std::invalid_argument("bounds: one (lower, upper) per asset");
  double lo = 0.0, hi = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(b.lower[i]) || !std::isfinite(b.upper[i]) || b.lower[i] < 0.0 || b.upper[i] > 1.0 ||
        b.lower[i] > b.upper[i]) {
      throw std::invalid_argument("bounds: need 0 <= lower <= upper <= 1 (long-only), asset " + std::to_string(i));
    }
    lo += b.lower[i];
    hi += b.upper[i];
  }
  if (lo > 1.0 + 1e-12) throw std::invalid_argument("bounds: the lower bounds sum to " + fmt(lo) + " > 1");
  if (hi < 1.0 - 1e-12) throw std::invalid_argument("bounds: the upper bounds sum to " + fmt(hi) + " < 1");
  return b;
}

// A feasible start: clamp(1/n − τ) with τ chosen (bisection) so the sum is 1.
Vector feasible_start(const Vector& l, const Vector& u) {
  const std::size_t n = l.size();
  auto at = [&](double tau, Vector& w) {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      w[i] = std::clamp(1.0 / static_cast<double>(n) - tau, l[i], u[i]);
      s += w[i];
    }
    return s;
  };
  Vector w(n);
  double lo = -2.0, hi = 2.0;  // sum(lo) ≥ 1 ≥ sum(hi) since bounds are within [0, 1]
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (at(mid, w) > 1.0 ? lo : hi) = mid;
  }
  at(0.5 * (lo + hi), w);
  // Put the bisection's last rounding on a free asset so 1'w = 1 exactly.
  double s = 0.0;
  for (double v : w) s += v;
  for (std::size_t i = 0; i < n; ++i) {
    const double target = w[i] + (1.0 - s);
    if (target >= l[i] && target <= u[i]) {
      w[i] = target;
      break;
    }
  }
  return w;
}

struct QpSolution {
  Vector w;
  std::vector<Bound> state;
};

// Solves the equality-constrained step on the free set: min ½p'Qp + g'p with
// p = 0 off F and 1'p = 0. Returns (p, ν); false if the KKT system is singular.
bool free_step(const Matrix& q, const Vector& g, const std::vector<Bound>& state, Vector& p, double& nu) {
  std::vector<std::size_t> f;
  for (std::size_t i = 0; i < state.size(); ++i) {
    if (state[i] == Bound::kFree) f.push_back(i);
  }
  const std::size_t m = f.size();
  p.assign(q.n, 0.0);
  if (m == 0) return true;
  std::vector<double> k((m + 1) * (m + 1), 0.0);
  Vector rhs(m + 1, 0.0);
  for (std::size_t r = 0; r < m; ++r) {
    for (std::size_t c = 0; c < m; ++c) k[r * (m + 1) + c] = q(f[r], f[c]);
    k[r * (m + 1) + m] = -1.0;
    k[m * (m + 1) + r] = 1.0;
    rhs[r] = -g[f[r]];
  }
  if (!solve_linear(std::move(k), m + 1, rhs)) return false;
  for (std::size_t r = 0; r < m; ++r) p[f[r]] = rhs[r];
  nu = rhs[m];
  return true;
}

QpSolution solve_qp(const Matrix& q, const Vector& c, const Vector& l, const Vector& u) {
  const std::size_t n = q.n;
  QpSolution s{feasible_start(l, u), std::vector<Bound>(n, Bound::kFree)};
  for (std::size_t i = 0; i < n; ++i) {
    if (s.w[i] <= l[i]) s.state[i] = Bound::kLower;
    else if (s.w[i] >= u[i]) s.state[i] = Bound::kUpper;
    if (l[i] == u[i]) s.state[i] = Bound::kLower;  // fixed asset: never free
  }
  Vector g(n), p;
  // After a full, unblocked step w minimises the QP on the working set; the
  // next step would be rounding noise, so go straight to the multipliers.
  bool at_minimum = false;
  const std::size_t max_iterations = 100 + 20 * n * n;
  for (std::size_t it = 0; it < max_iterations; ++it) {
    Vector qw = multiply(q, s.w);
    double gmax = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      g[i] = qw[i] - c[i];
      gmax = std::max(gmax, std::fabs(g[i]));
    }
    double nu = 0.0;
    const bool any_free = std::any_of(s.state.begin(), s.state.end(), [](Bound b) { return b == Bound::kFree; });
    if (!free_step(q, g, s.state, p, nu)) throw std::runtime_error("optimiser: singular KKT system");
    double pmax = 0.0;
    for (double v : p) pmax = std::max(pmax, std::fabs(v));
    if (at_minimum || pmax <= 1e-15) {
      // Stationary on the working set: check the bound multipliers.
      if (!any_free) {
        // ν is free in [max g over upper-bound assets, min g over lower ones].
        double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < n; ++i) {
          if (l[i] == u[i]) continue;
          if (s.state[i] == Bound::kUpper) lo = std::max(lo, g[i]);
          else hi = std::min(hi, g[i]);
        }
        nu = std::isfinite(lo) ? lo : (std::isfinite(hi) ? hi : 0.0);
      }
      const double tol = 1e-13 * (1.0 + gmax);
      std::size_t worst = n;
      double worst_value = -tol;
      for (std::size_t i = 0; i < n; ++i) {
        if (l[i] == u[i] || s.state[i] == Bound::kFree) continue;
        const double multiplier = s.state[i] == Bound::kLower ? g[i] - nu : nu - g[i];
        if (multiplier < worst_value) {
          worst_value = multiplier;
          worst = i;
        }
      }
      if (worst == n) return s;
      s.state[worst] = Bound::kFree;
      at_minimum = false;
      continue;
    }
    double alpha = 1.0;
    std::size_t blocking = n;
    for (std::size_t i = 0; i < n; ++i) {
      if (s.state[i] != Bound::kFree || p[i] == 0.0) continue;
      const double room = p[i] < 0.0 ? (l[i] - s.w[i]) / p[i] : (u[i] - s.w[i]) / p[i];
      if (room < alpha) {
        alpha = std::max(0.0, room);
        blocking = i;
      }
    }
    for (std::size_t i = 0; i < n; ++i) s.w[i] += alpha * p[i];
    if (blocking != n) {
      const bool down = p[blocking] < 0.0;
      s.w[blocking] = down ? l[blocking] : u[blocking];
      s.state[blocking] = down ? Bound::kLower : Bound::kUpper;
    }
    at_minimum = blocking == n;
  }
  throw std::runtime_error("optimiser: the active-set QP did not converge");
}

// The frontier point P(t) = argmin ½w'Σw − t·μ'w.
QpSolution frontier(const Matrix& cov, const Vector& mu, double t, const Bounds& b) {
  Vector c(mu.size());
  for (std::size_t i = 0; i < mu.size(); ++i) c[i] = t * mu[i];
  return solve_qp(cov, c, b.lower, b.upper);
}

// On a fixed active set the frontier is affine: w(t) = a + t·b.
struct Segment {
  Vector a, b;
};

std::optional<Segment> segment_of(const Matrix& q, const Vector& mu, const QpSolution& at) {
  const std::size_t n = q.n;
  std::vector<std::size_t> f;
  for (std::size_t i = 0; i < n; ++i) {
    if (at.state[i] == Bound::kFree) f.push_back(i);
  }
  const std::size_t m = f.size();
  Segment s{Vector(n, 0.0), Vector(n, 0.0)};
  double fixed_sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    if (at.state[i] != Bound::kFree) {
      s.a[i] = at.w[i];
      fixed_sum += at.w[i];
    }
  }
  if (m == 0) return s;
  std::vector<double> k((m + 1) * (m + 1), 0.0);
  Vector r0(m + 1, 0.0), r1(m + 1, 0.0);
  for (std::size_t r = 0; r < m; ++r) {
    double fixed_term = 0.0;
    for (std::size_t c = 0; c < m; ++c) k[r * (m + 1) + c] = q(f[r], f[c]);
    for (std::size_t j = 0; j < n; ++j) {
      if (at.state[j] != Bound::kFree) fixed_term += q(f[r], j) * at.w[j];
    }
    k[r * (m + 1) + m] = -1.0;
    k[m * (m + 1) + r] = 1.0;
    r0[r] = -fixed_term;
    r1[r] = mu[f[r]];
  }
  r0[m] = 1.0 - fixed_sum;
  if (!solve_linear(k, m + 1, r0) || !solve_linear(k, m + 1, r1)) return std::nullopt;
  for (std::size_t r = 0; r < m; ++r) {
    s.a[f[r]] = r0[r];
    s.b[f[r]] = r1[r];
  }
  return s;
}

// w is the QP(t) optimum on `state`: inside the bounds, free gradients equal,
// bound multipliers non-negative.
bool optimal_on(const Matrix& q, const Vector& mu, double t, const Vector& w, const std::vector<Bound>& state,
                const Bounds& b) {
  const std::size_t n = q.n;
  const double eps = 1e-10;
  for (std::size_t i = 0; i < n; ++i) {
    if (w[i] < b.lower[i] - eps || w[i] > b.upper[i] + eps) return false;
  }
  Vector g = multiply(q, w);
  double gmax = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    g[i] -= t * mu[i];
    gmax = std::max(gmax, std::fabs(g[i]));
  }
  double nu = 0.0;
  std::size_t free_count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (state[i] == Bound::kFree) {
      nu += g[i];
      ++free_count;
    }
  }
  if (free_count == 0) return false;
  nu /= static_cast<double>(free_count);
  const double tol = 1e-9 * (1.0 + gmax);
  for (std::size_t i = 0; i < n; ++i) {
    if (state[i] == Bound::kLower && g[i] - nu < -tol) return false;
    if (state[i] == Bound::kUpper && nu - g[i] < -tol) return false;
  }
  return true;
}

// argmax μ'w over the bounded simplex: lower bounds, then the rest to the
// highest returns first.
Vector max_return_portfolio(const Vector& mu, const Bounds& b) {
  const std::size_t n = mu.size();
  Vector w = b.lower;
  double left = 1.0;
  for (double v : w) left -= v;
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return mu[x] > mu[y]; });
  for (std::size_t i : order) {
    const double add = std::min(left, b.upper[i] - w[i]);
    w[i] += add;
    left -= add;
  }
  return w;
}

// Typical scale of t at which return and risk trade off.
double t_scale(const Matrix& cov, const Vector& mu) {
  double var = 0.0, m = 0.0;
  for (std::size_t i = 0; i < cov.n; ++i) {
    var += cov(i, i);
    m = std::max(m, std::fabs(mu[i]));
  }
  var /= static_cast<double>(cov.n);
  return m > 0.0 ? var / m : 1.0;
}

Vector efficient_risk(const Matrix& cov, const Vector& mu, double target, const Bounds& b) {
  if (!std::isfinite(target) || target <= 0.0) throw std::invalid_argument("target_volatility must be > 0");
  const QpSolution min_var = frontier(cov, mu, 0.0, b);
  const double sigma_min = std::sqrt(quad(cov, min_var.w));
  if (target < sigma_min * (1.0 - 1e-12)) {
    throw std::invalid_argument("target_volatility " + fmt(target) + " is below the minimum-variance volatility " +
                                fmt(sigma_min) + " within the bounds");
  }
  const Vector top = max_return_portfolio(mu, b);
  if (std::sqrt(quad(cov, top)) <= target) return top;  // the best return is already within σ*
  double lo = 0.0, hi = t_scale(cov, mu);
  for (int i = 0; i < 200 && std::sqrt(quad(cov, frontier(cov, mu, hi, b).w)) < target; ++i) hi *= 2.0;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (std::sqrt(quad(cov, frontier(cov, mu, mid, b).w)) < target ? lo : hi) = mid;
  }
  const QpSolution near = frontier(cov, mu, hi, b);
  // Exactly on the final segment: (a + t·b)'Σ(a + t·b) = σ*².
  if (auto seg = segment_of(cov, mu, near)) {
    const double gamma = quad(cov, seg->a), eps2 = quad(cov, seg->b);
    const double delta = dot(seg->a, multiply(cov, seg->b));
    const double disc = delta * delta - eps2 * (gamma - target * target);
    if (eps2 > 0.0 && disc >= 0.0) {
      const double t = (-delta + std::sqrt(disc)) / eps2;
      Vector w(cov.n);
      for (std::size_t i = 0; i < cov.n; ++i) w[i] = seg->a[i] + t * seg->b[i];
      if (t >= 0.0 && optimal_on(cov, mu, t, w, near.state, b)) return w;
    }
  }
  return near.w;
}

Vector max_sharpe(const Matrix& cov, const Vector& mu, double rf, const Bounds& b) {
  const Vector top = max_return_portfolio(mu, b);
  const double best = dot(mu, top);
  if (best <= rf) {
    throw std::invalid_argument("max_sharpe is infeasible: no portfolio within the bounds has an expected return above "
                                "the risk-free rate (best " + fmt(best) + " <= rf " + fmt(rf) + ")");
  }
  const double scale = t_scale(cov, mu);
  auto sharpe_at = [&](double x, QpSolution* out) {
    // x in [0, 1) maps onto t in [0, ∞).
    QpSolution s = frontier(cov, mu, scale * x / (1.0 - x), b);
    const double v = std::sqrt(quad(cov, s.w));
    const double sr = v > 0.0 ? (dot(mu, s.w) - rf) / v : -std::numeric_limits<double>::infinity();
    if (out) *out = std::move(s);
    return sr;
  };
  // Golden section: the Sharpe ratio is unimodal along the frontier.
  const double phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double lo = 0.0, hi = 1.0 - 1e-9;
  double x1 = hi - phi * (hi - lo), x2 = lo + phi * (hi - lo);
  double f1 = sharpe_at(x1, nullptr), f2 = sharpe_at(x2, nullptr);
  for (int i = 0; i < 200 && hi - lo > 1e-13; ++i) {
    if (f1 < f2) {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + phi * (hi - lo);
      f2 = sharpe_at(x2, nullptr);
    } else {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - phi * (hi - lo);
      f1 = sharpe_at(x1, nullptr);
    }
  }
  QpSolution near;
  double near_sharpe = sharpe_at(0.5 * (lo + hi), &near);
  // The ends too: the optimum may sit at the minimum-variance or the max-return corner.
  QpSolution at_zero = frontier(cov, mu, 0.0, b);
  const double v0 = std::sqrt(quad(cov, at_zero.w));
  if (v0 > 0.0 && (dot(mu, at_zero.w) - rf) / v0 > near_sharpe) {
    near_sharpe = (dot(mu, at_zero.w) - rf) / v0;
    near = std::move(at_zero);
  }
  const double vt = std::sqrt(quad(cov, top));
  if (vt > 0.0 && (best - rf) / vt > near_sharpe) return top;
  // Exactly on the final segment: d/dt (α + βt)/√(γ + 2δt + εt²) = 0 is linear in t.
  if (auto seg = segment_of(cov, mu, near)) {
    const double alpha = dot(mu, seg->a) - rf, beta = dot(mu, seg->b);
    const double gamma = quad(cov, seg->a), eps2 = quad(cov, seg->b);
    const double delta = dot(seg->a, multiply(cov, seg->b));
    const double denom = beta * delta - alpha * eps2;
    if (denom != 0.0) {
      const double t = (alpha * delta - beta * gamma) / denom;
      Vector w(cov.n);
      for (std::size_t i = 0; i < cov.n; ++i) w[i] = seg->a[i] + t * seg->b[i];
      if (t >= 0.0 && optimal_on(cov, mu, t, w, near.state, b)) return w;
    }
  }
  return near.w;
}

Vector risk_parity(const Matrix& cov, const Bounds& b) {
  const std::size_t n = cov.n;
  const double budget = 1.0 / static_cast<double>(n);
  Vector x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = 1.0 / std::sqrt(cov(i, i));
  auto objective = [&](const Vector& v) {
    double f = 0.5 * quad(cov, v);
    for (double xi : v) f -= budget * std::log(xi);
    return f;
  };
  double f = objective(x);
  for (int it = 0; it < 200; ++it) {
    Vector sx = multiply(cov, x);
    Vector g(n);
    double gmax = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      g[i] = sx[i] - budget / x[i];
      gmax = std::max(gmax, std::fabs(g[i] * x[i]));  // scale-free: x_i(Σx)_i − b_i
    }
    if (gmax < 1e-15) break;
    std::vector<double> h(cov.a);
    Vector d(n);
    for (std::size_t i = 0; i < n; ++i) {
      h[i * n + i] += budget / (x[i] * x[i]);
      d[i] = -g[i];
    }
    if (!solve_linear(std::move(h), n, d)) throw std::runtime_error("risk_parity: singular Newton system");
    double step = 1.0;
    const double slope = dot(g, d);
    Vector trial(n);
    for (int k = 0; k < 60; ++k, step *= 0.5) {
      bool positive = true;
      for (std::size_t i = 0; i < n; ++i) {
        trial[i] = x[i] + step * d[i];
        positive = positive && trial[i] > 0.0;
      }
      if (!positive) continue;
      const double ft = objective(trial);
      if (ft <= f + 1e-4 * step * slope || std::fabs(ft - f) <= 1e-15 * std::fabs(f)) break;
    }
    x = trial;
    f = objective(x);
  }
  double sum = 0.0;
  for (double v : x) sum += v;
  Vector w(n);
  for (std::size_t i = 0; i < n; ++i) {
    w[i] = x[i] / sum;
    if (w[i] < b.lower[i] - 1e-12 || w[i] > b.upper[i] + 1e-12) {
      throw std::invalid_argument("risk_parity: the equal-risk weight of asset " + std::to_string(i) + " (" +
                                  fmt(w[i]) + ") is outside its bounds [" + fmt(b.lower[i]) + ", " + fmt(b.upper[i]) +
                                  "]; risk parity is solved without bounds");
    }
  }
  return w;
}

void require_finite(const Estimates& e) {
  const std::size_t n = e.mean.size();
  if (n == 0) throw std::invalid_argument("optimise: no assets");
  if (e.cov.n != n) throw std::invalid_argument("optimise: covariance and mean sizes differ");
  for (double v : e.mean) {
    if (!std::isfinite(v)) throw std::invalid_argument("optimise: non-finite expected return");
  }
  for (double v : e.cov.a) {
    if (!std::isfinite(v)) throw std::invalid_argument("optimise: non-finite covariance");
  }
}

}  // namespace

Estimates estimate_from_returns(const std::vector<Vector>& returns, int periods_per_year) {
  if (returns.empty()) throw std::invalid_argument("estimates: no assets");
  if (periods_per_year <= 0) throw std::invalid_argument("estimates: periods_per_year must be > 0");
  const std::size_t n = returns.size(), m = returns.front().size();
  if (m < 2) throw std::invalid_argument("estimates: need at least 2 returns per asset (got " + std::to_string(m) + ")");
  Estimates e{Vector(n), Matrix(n)};
  Vector avg(n, 0.0);
  for (std::size_t k = 0; k < n; ++k) {
    if (returns[k].size() != m) throw std::invalid_argument("estimates: the return series have different lengths");
    // Compounded in logs so a long series does not overflow the product.
    double log_growth = 0.0;
    for (double r : returns[k]) {
      if (!std::isfinite(r) || r <= -1.0) throw std::invalid_argument("estimates: a return is non-finite or <= -100%");
      log_growth += std::log1p(r);
      avg[k] += r;
    }
    avg[k] /= static_cast<double>(m);
    e.mean[k] = std::expm1(log_growth * static_cast<double>(periods_per_year) / static_cast<double>(m));
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i; j < n; ++j) {
      double s = 0.0;
      for (std::size_t t = 0; t < m; ++t) s += (returns[i][t] - avg[i]) * (returns[j][t] - avg[j]);
      const double c = s / static_cast<double>(m - 1) * periods_per_year;
      e.cov(i, j) = e.cov(j, i) = c;
    }
  }
  return e;
}

Estimates estimate_from_prices(const std::vector<Vector>& prices, int periods_per_year) {
  std::vector<Vector> returns;
  returns.reserve(prices.size());
  for (const auto& p : prices) {
    Vector r;
    for (std::size_t t = 0; t < p.size(); ++t) {
      if (!std::isfinite(p[t]) || p[t] <= 0.0) throw std::invalid_argument("estimates: prices must be finite and > 0");
      if (t > 0) r.push_back(p[t] / p[t - 1] - 1.0);
    }
    returns.push_back(std::move(r));
  }
  return estimate_from_returns(returns, periods_per_year);
}

std::string_view to_string(Method m) {
  switch (m) {
    case Method::kMinVariance: return "min_variance";
    case Method::kMaxSharpe: return "max_sharpe";
    case Method::kEfficientRisk: return "efficient_risk";
    case Method::kRiskParity: return "risk_parity";
  }
  return "?";
}

Method parse_method(std::string_view text) {
  for (Method m : {Method::kMinVariance, Method::kMaxSharpe, Method::kEfficientRisk, Method::kRiskParity}) {
    if (text == to_string(m)) return m;
  }
  throw std::invalid_argument("method: one of min_variance, max_sharpe, efficient_risk, risk_parity (got '" +
                              std::string(text) + "')");
}

Vector solve_bounded_simplex_qp(const Matrix& q, const Vector& c, const Vector& lower, const Vector& upper) {
  OptimizeRequest r;
  r.lower = lower;
  r.upper = upper;
  Bounds b = bounds_of(r, q.n);
  return solve_qp(q, c, b.lower, b.upper).w;
}

OptimizeResult optimize(const Estimates& estimates, const OptimizeRequest& request) {
  require_finite(estimates);
  const std::size_t n = estimates.mean.size();
  const Bounds b = bounds_of(request, n);
  OptimizeResult out;
  Matrix cov = estimates.cov;
  if (!positive_definite(cov)) {
    double mean_var = 0.0;
    for (std::size_t i = 0; i < n; ++i) mean_var += cov(i, i);
    mean_var /= static_cast<double>(n);
    if (!(mean_var > 0.0)) throw std::invalid_argument("optimise: every asset has zero variance");
    out.regularized = true;
    out.ridge = kRidgeFraction * mean_var;
    for (std::size_t i = 0; i < n; ++i) cov(i, i) += out.ridge;
  }
  const Vector& mu = estimates.mean;
  switch (request.method) {
    case Method::kMinVariance: out.weights = frontier(cov, mu, 0.0, b).w; break;
    case Method::kEfficientRisk: out.weights = efficient_risk(cov, mu, request.target_volatility, b); break;
    case Method::kMaxSharpe: out.weights = max_sharpe(cov, mu, request.risk_free_rate, b); break;
    case Method::kRiskParity: out.weights = risk_parity(cov, b); break;
  }
  for (double w : out.weights) {
    if (!std::isfinite(w)) throw std::runtime_error("optimise: the solver produced a non-finite weight");
  }
  const Vector sw = multiply(cov, out.weights);
  out.expected_return = dot(mu, out.weights);
  out.volatility = std::sqrt(std::max(0.0, dot(out.weights, sw)));
  out.sharpe = out.volatility > 0.0 ? (out.expected_return - request.risk_free_rate) / out.volatility : 0.0;
  out.risk_contributions.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    out.risk_contributions[i] = out.volatility > 0.0 ? out.weights[i] * sw[i] / out.volatility : 0.0;
  }
  return out;
}

}  // namespace nautilus::portfolio
