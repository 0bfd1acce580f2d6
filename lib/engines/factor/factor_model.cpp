#include "engines/factor/factor_model.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace nautilus::factor {
namespace {

// Cyclic Jacobi on a symmetric k × k matrix (row-major): on return the
// diagonal of `a` holds the eigenvalues and the columns of `v` the vectors.
// k is at most a dozen or so here, where Jacobi is both simple and accurate.
void jacobi_eigen(std::vector<double>& a, std::size_t k, std::vector<double>& v) {
  v.assign(k * k, 0.0);
  for (std::size_t i = 0; i < k; ++i) v[i * k + i] = 1.0;
  auto at = [&](std::size_t r, std::size_t c) -> double& { return a[r * k + c]; };
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (std::size_t p = 0; p < k; ++p) {
      diag += at(p, p) * at(p, p);
      for (std::size_t q = p + 1; q < k; ++q) off += at(p, q) * at(p, q);
    }
    if (off == 0.0 || off < 1e-32 * diag) return;
    for (std::size_t p = 0; p < k; ++p) {
      for (std::size_t q = p + 1; q < k; ++q) {
        const double apq = at(p, q);
        if (apq == 0.0) continue;
        const double theta = (at(q, q) - at(p, p)) / (2.0 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (std::size_t r = 0; r < k; ++r) {  // A·J
          const double arp = at(r, p), arq = at(r, q);
          at(r, p) = c * arp - s * arq;
          at(r, q) = s * arp + c * arq;
        }
        for (std::size_t r = 0; r < k; ++r) {  // Jᵀ·(A·J)
          const double apr = at(p, r), aqr = at(q, r);
          at(p, r) = c * apr - s * aqr;
          at(q, r) = s * apr + c * aqr;
        }
        at(p, q) = at(q, p) = 0.0;
        for (std::size_t r = 0; r < k; ++r) {
          const double vrp = v[r * k + p], vrq = v[r * k + q];
          v[r * k + p] = c * vrp - s * vrq;
          v[r * k + q] = s * vrp + c * vrq;
        }
      }
    }
  }
}

double percentile_linear(const std::vector<double>& sorted, double p) {
  const double h = (static_cast<double>(sorted.size()) - 1.0) * p;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

std::string fmt_rank(int rank, std::size_t of) { return std::to_string(rank) + " of " + std::to_string(of); }

}  // namespace

std::vector<double> momentum_weights(const MomentumParams& params) {
  std::vector<double> w(static_cast<std::size_t>(params.trailing));
  const double decay = std::log(2.0) / params.half_life;
  for (std::size_t j = 0; j < w.size(); ++j) w[j] = std::exp(-decay * static_cast<double>(j));
  return w;
}

std::optional<double> momentum_score(std::span<const double> returns, const MomentumParams& params,
                                     std::span<const double> weights) {
  if (returns.size() < params.required() || weights.size() != static_cast<std::size_t>(params.trailing)) {
    return std::nullopt;
  }
  const std::size_t newest = returns.size() - 1 - static_cast<std::size_t>(params.lag);
  double growth = 1.0;
  // Oldest first, as toraniko's cumprod runs.
  for (std::size_t j = weights.size(); j-- > 0;) growth *= 1.0 + weights[j] * returns[newest - j];
  return growth - 1.0;
}

std::optional<double> momentum_score(std::span<const double> returns, const MomentumParams& params) {
  return momentum_score(returns, params, momentum_weights(params));
}

void winsorize(std::vector<double>& values, double p) {
  if (p <= 0.0 || values.size() < 2) return;
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const double lo = percentile_linear(sorted, p), hi = percentile_linear(sorted, 1.0 - p);
  for (double& x : values) x = std::clamp(x, lo, hi);
}

bool standardize(std::vector<double>& values) {
  const std::size_t n = values.size();
  if (n < 2) {
    std::fill(values.begin(), values.end(), 0.0);
    return false;
  }
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(n);
  double ss = 0;
  for (double x : values) ss += (x - mean) * (x - mean);
  const double sd = std::sqrt(ss / static_cast<double>(n - 1));
  // A spread at rounding level of the mean is no spread: dividing by it would
  // turn rounding noise into unit scores.
  if (!(sd > 1e-14 * std::max(1.0, std::fabs(mean)))) {
    std::fill(values.begin(), values.end(), 0.0);
    return false;
  }
  for (double& x : values) x = (x - mean) / sd;
  return true;
}

std::vector<double> solve_symmetric_pinv(std::vector<double> a, std::span<const double> b, std::size_t k, int* rank) {
  std::vector<double> v;
  jacobi_eigen(a, k, v);
  double lambda_max = 0;
  for (std::size_t i = 0; i < k; ++i) lambda_max = std::max(lambda_max, std::fabs(a[i * k + i]));
  const double tol = static_cast<double>(k) * DBL_EPSILON * lambda_max;
  std::vector<double> x(k, 0.0);
  int used = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double lambda = a[i * k + i];
    if (!(lambda > tol)) continue;
    ++used;
    double proj = 0;
    for (std::size_t r = 0; r < k; ++r) proj += v[r * k + i] * b[r];
    proj /= lambda;
    for (std::size_t r = 0; r < k; ++r) x[r] += proj * v[r * k + i];
  }
  if (rank) *rank = used;
  return x;
}

FactorReturns estimate_factor_returns(const CrossSection& cs) {
  const std::size_t n = cs.returns.size();
  const std::size_t m = cs.sector_names.size();
  const std::size_t k = cs.styles.size();
  if (cs.market_caps.size() != n || cs.sectors.size() != n || cs.style_names.size() != k) {
    throw std::invalid_argument("cross section: inconsistent sizes");
  }
  if (n == 0 || m == 0) throw std::invalid_argument("cross section: no assets or no sectors");
  for (const auto& col : cs.styles) {
    if (col.size() != n) throw std::invalid_argument("cross section: a style column of the wrong length");
  }
  std::vector<double> w(n);
  std::vector<std::size_t> count(m, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (!(cs.market_caps[i] > 0) || !std::isfinite(cs.market_caps[i])) {
      throw std::invalid_argument("cross section: market caps must be positive");
    }
    if (cs.sectors[i] < 0 || static_cast<std::size_t>(cs.sectors[i]) >= m) {
      throw std::invalid_argument("cross section: sector index out of range");
    }
    w[i] = std::sqrt(cs.market_caps[i]);
    ++count[static_cast<std::size_t>(cs.sectors[i])];
  }

  FactorReturns out;
  out.sectors.assign(m, 0.0);
  out.styles.assign(k, 0.0);
  out.sector_used.assign(m, false);
  out.style_used.assign(k, false);

  // ---- 1. market + sectors, Σ sectors = 0 -------------------------------
  std::vector<std::size_t> used;  // non-empty sectors, in order
  std::vector<int> column_of(m, -1);
  for (std::size_t s = 0; s < m; ++s) {
    if (count[s] == 0) {
      out.notes.push_back("sector " + cs.sector_names[s] + " has no assets: return 0, left out of the regression");
      continue;
    }
    if (count[s] == 1) {
      out.notes.push_back("sector " + cs.sector_names[s] + " has one asset: its return fits that asset exactly");
    }
    out.sector_used[s] = true;
    used.push_back(s);
  }
  const std::size_t mu = used.size();  // columns: market + (mu − 1) free sectors
  for (std::size_t c = 0; c + 1 < mu; ++c) column_of[used[c]] = static_cast<int>(c + 1);
  const std::size_t last = used.back();
  std::vector<double> a(mu * mu, 0.0), b(mu, 0.0), x(mu);
  // The row of asset i in B·R: [1, e_c] in a free sector, [1, −1, …, −1] in the last.
  auto row = [&](std::size_t i, std::vector<double>& r) {
    const auto s = static_cast<std::size_t>(cs.sectors[i]);
    r[0] = 1.0;
    for (std::size_t c = 1; c < mu; ++c) r[c] = s == last ? -1.0 : 0.0;
    if (s != last) r[static_cast<std::size_t>(column_of[s])] = 1.0;
  };
  for (std::size_t i = 0; i < n; ++i) {
    row(i, x);
    for (std::size_t p = 0; p < mu; ++p) {
      if (x[p] == 0.0) continue;
      b[p] += w[i] * x[p] * cs.returns[i];
      for (std::size_t q = 0; q < mu; ++q) a[p * mu + q] += w[i] * x[p] * x[q];
    }
  }
  const std::vector<double> g = solve_symmetric_pinv(std::move(a), b, mu, &out.sector_rank);
  if (out.sector_rank < static_cast<int>(mu)) {
    out.notes.push_back("market + sectors have rank " + fmt_rank(out.sector_rank, mu) + ": minimum-norm solution");
  }
  out.market = g[0];
  double free_sum = 0;
  for (std::size_t c = 0; c + 1 < mu; ++c) {
    out.sectors[used[c]] = g[c + 1];
    free_sum += g[c + 1];
  }
  out.sectors[last] = -free_sum;  // the constraint, exactly
  out.sector_residuals.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    row(i, x);
    double fit = 0;
    for (std::size_t c = 0; c < mu; ++c) fit += x[c] * g[c];
    out.sector_residuals[i] = cs.returns[i] - fit;
  }

  // ---- 2. styles on the sector residuals --------------------------------
  std::vector<std::size_t> active;
  for (std::size_t j = 0; j < k; ++j) {
    double ss = 0;
    for (double v : cs.styles[j]) ss += v * v;
    if (ss == 0.0) {
      out.notes.push_back("style " + cs.style_names[j] + " has zero variance across the universe: return 0");
      continue;
    }
    out.style_used[j] = true;
    active.push_back(j);
  }
  out.residuals = out.sector_residuals;
  const std::size_t ka = active.size();
  if (ka > 0) {
    std::vector<double> as(ka * ka, 0.0), bs(ka, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t p = 0; p < ka; ++p) {
        const double xp = w[i] * cs.styles[active[p]][i];
        bs[p] += xp * out.sector_residuals[i];
        for (std::size_t q = p; q < ka; ++q) as[p * ka + q] += xp * cs.styles[active[q]][i];
      }
    }
    for (std::size_t p = 0; p < ka; ++p) {
      for (std::size_t q = 0; q < p; ++q) as[p * ka + q] = as[q * ka + p];
    }
    const std::vector<double> f = solve_symmetric_pinv(std::move(as), bs, ka, &out.style_rank);
    if (out.style_rank < static_cast<int>(ka)) {
      out.notes.push_back("styles have rank " + fmt_rank(out.style_rank, ka) + ": minimum-norm solution");
    }
    for (std::size_t p = 0; p < ka; ++p) out.styles[active[p]] = f[p];
    for (std::size_t i = 0; i < n; ++i) {
      double fit = 0;
      for (std::size_t p = 0; p < ka; ++p) fit += cs.styles[active[p]][i] * f[p];
      out.residuals[i] -= fit;
    }
  }

  // ---- weighted R² of the whole model -----------------------------------
  double sw = 0, swr = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sw += w[i];
    swr += w[i] * cs.returns[i];
  }
  const double mean = swr / sw;
  double ss_res = 0, ss_tot = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ss_res += w[i] * out.residuals[i] * out.residuals[i];
    ss_tot += w[i] * (cs.returns[i] - mean) * (cs.returns[i] - mean);
  }
  out.r_squared = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 0.0;
  return out;
}

ScoredPeriod factor_step(std::span<const AssetInput> assets, const std::vector<std::string>& sector_names,
                         const ModelOptions& options) {
  const std::size_t n = assets.size();
  ScoredPeriod out;
  CrossSection& cs = out.cross_section;
  cs.sector_names = sector_names;
  cs.returns.resize(n);
  cs.market_caps.resize(n);
  cs.sectors.resize(n);
  std::vector<double> value(n), size(n);
  std::size_t with_momentum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const AssetInput& a = assets[i];
    cs.returns[i] = a.period_return;
    cs.market_caps[i] = a.market_cap;
    cs.sectors[i] = a.sector;
    value[i] = a.market_cap > 0 ? a.book_value / a.market_cap : 0.0;
    size[i] = a.market_cap > 0 ? std::log(a.market_cap) : 0.0;
    with_momentum += a.momentum ? 1 : 0;
  }
  winsorize(cs.returns, options.return_winsor);
  std::vector<std::string> notes;
  // Momentum over the assets that have it; the others sit at the mean (0).
  if (with_momentum * 2 >= n && with_momentum >= 2) {
    std::vector<double> scored;
    scored.reserve(with_momentum);
    for (const auto& a : assets) {
      if (a.momentum) scored.push_back(*a.momentum);
    }
    winsorize(scored, options.style_winsor);
    standardize(scored);
    std::vector<double> momentum(n, 0.0);
    for (std::size_t i = 0, j = 0; i < n; ++i) {
      if (assets[i].momentum) momentum[i] = scored[j++];
    }
    if (with_momentum < n) {
      notes.push_back("momentum: " + std::to_string(n - with_momentum) +
                      " assets without enough history scored 0 (the mean)");
    }
    cs.styles.push_back(std::move(momentum));
    cs.style_names.emplace_back("momentum");
  } else {
    notes.push_back("momentum left out: " + std::to_string(with_momentum) + " of " + std::to_string(n) +
                    " assets have enough history");
  }
  for (auto* col : {&value, &size}) {
    winsorize(*col, options.style_winsor);
    standardize(*col);
  }
  cs.styles.push_back(std::move(value));
  cs.style_names.emplace_back("value");
  cs.styles.push_back(std::move(size));
  cs.style_names.emplace_back("size");
  out.factors = estimate_factor_returns(cs);
  out.factors.notes.insert(out.factors.notes.begin(), notes.begin(), notes.end());
  return out;
}

}  // namespace nautilus::factor
