// The factor model against implementations written here from the
// definitions: the regression by Householder QR on the weighted design (the
// model solves normal equations with an eigendecomposition), toraniko's
// momentum by its shift / rolling window / cumprod steps, numpy's percentile.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "engines/factor/factor_model.h"

using namespace nautilus::factor;

namespace {

// Deterministic draws without std distributions (they differ by library).
struct Rng {
  std::uint64_t s;
  double uniform() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(s >> 11) * 0x1.0p-53;
  }
  double normal() {
    const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

// min ||diag(√w)(X b − y)|| by Householder QR; X is n × k, row-major.
std::vector<double> weighted_qr_solve(std::vector<double> x, std::vector<double> y, const std::vector<double>& w,
                                      std::size_t n, std::size_t k) {
  for (std::size_t i = 0; i < n; ++i) {
    const double sw = std::sqrt(w[i]);
    for (std::size_t j = 0; j < k; ++j) x[i * k + j] *= sw;
    y[i] *= sw;
  }
  for (std::size_t j = 0; j < k; ++j) {
    double norm = 0;
    for (std::size_t i = j; i < n; ++i) norm += x[i * k + j] * x[i * k + j];
    norm = std::sqrt(norm);
    const double alpha = x[j * k + j] > 0 ? -norm : norm;
    std::vector<double> v(n, 0.0);
    for (std::size_t i = j; i < n; ++i) v[i] = x[i * k + j];
    v[j] -= alpha;
    double vv = 0;
    for (std::size_t i = j; i < n; ++i) vv += v[i] * v[i];
    if (vv == 0) continue;
    for (std::size_t c = j; c < k; ++c) {
      double d = 0;
      for (std::size_t i = j; i < n; ++i) d += v[i] * x[i * k + c];
      for (std::size_t i = j; i < n; ++i) x[i * k + c] -= 2 * d / vv * v[i];
    }
    double d = 0;
    for (std::size_t i = j; i < n; ++i) d += v[i] * y[i];
    for (std::size_t i = j; i < n; ++i) y[i] -= 2 * d / vv * v[i];
  }
  std::vector<double> b(k);
  for (std::size_t j = k; j-- > 0;) {
    double s = y[j];
    for (std::size_t c = j + 1; c < k; ++c) s -= x[j * k + c] * b[c];
    b[j] = s / x[j * k + j];
  }
  return b;
}

struct Reference {
  double market;
  std::vector<double> sectors, styles, residuals;
};

// toraniko's _factor_returns written out on the dense design, for the sectors
// that have assets (`sector_on`) and the styles `style_on`.
Reference reference_solve(const CrossSection& cs, const std::vector<bool>& sector_on,
                          const std::vector<bool>& style_on) {
  const std::size_t n = cs.returns.size(), m = cs.sector_names.size();
  std::vector<std::size_t> used;
  for (std::size_t s = 0; s < m; ++s) {
    if (sector_on[s]) used.push_back(s);
  }
  const std::size_t mu = used.size();
  std::vector<double> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = std::sqrt(cs.market_caps[i]);
  // B (n × (1+mu)) and R ((1+mu) × mu) multiplied out by hand.
  std::vector<double> b(n * (1 + mu), 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    b[i * (1 + mu)] = 1;
    for (std::size_t c = 0; c < mu; ++c) b[i * (1 + mu) + 1 + c] = cs.sectors[i] == static_cast<int>(used[c]) ? 1 : 0;
  }
  std::vector<double> r((1 + mu) * mu, 0.0);
  for (std::size_t c = 0; c < mu; ++c) r[c * mu + c] = 1;  // I_mu on top
  for (std::size_t c = 1; c < mu; ++c) r[mu * mu + c] = -1;  // a = (0, −1, …, −1)
  std::vector<double> br(n * mu, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < mu; ++c) {
      for (std::size_t t = 0; t < 1 + mu; ++t) br[i * mu + c] += b[i * (1 + mu) + t] * r[t * mu + c];
    }
  }
  const auto g = weighted_qr_solve(br, cs.returns, w, n, mu);
  Reference out;
  std::vector<double> full(1 + mu, 0.0);
  for (std::size_t t = 0; t < 1 + mu; ++t) {
    for (std::size_t c = 0; c < mu; ++c) full[t] += r[t * mu + c] * g[c];
  }
  out.market = full[0];
  out.sectors.assign(m, 0.0);
  for (std::size_t c = 0; c < mu; ++c) out.sectors[used[c]] = full[1 + c];
  std::vector<double> e(n);
  for (std::size_t i = 0; i < n; ++i) {
    double fit = 0;
    for (std::size_t c = 0; c < mu; ++c) fit += br[i * mu + c] * g[c];
    e[i] = cs.returns[i] - fit;
  }
  std::vector<std::size_t> st;
  for (std::size_t j = 0; j < cs.styles.size(); ++j) {
    if (style_on[j]) st.push_back(j);
  }
  std::vector<double> x(n * st.size());
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t p = 0; p < st.size(); ++p) x[i * st.size() + p] = cs.styles[st[p]][i];
  }
  const auto f = weighted_qr_solve(x, e, w, n, st.size());
  out.styles.assign(cs.styles.size(), 0.0);
  for (std::size_t p = 0; p < st.size(); ++p) out.styles[st[p]] = f[p];
  out.residuals = e;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t p = 0; p < st.size(); ++p) out.residuals[i] -= x[i * st.size() + p] * f[p];
  }
  return out;
}

CrossSection random_cross_section(std::size_t n, std::size_t m, std::size_t k, std::uint64_t seed) {
  Rng rng{seed};
  CrossSection cs;
  for (std::size_t s = 0; s < m; ++s) cs.sector_names.push_back("sector_" + std::to_string(s));
  cs.styles.assign(k, std::vector<double>(n));
  for (std::size_t j = 0; j < k; ++j) cs.style_names.push_back("style_" + std::to_string(j));
  for (std::size_t i = 0; i < n; ++i) {
    cs.sectors.push_back(static_cast<int>(i % m));
    cs.market_caps.push_back(1e8 * std::pow(100.0, rng.uniform()));
    for (std::size_t j = 0; j < k; ++j) cs.styles[j][i] = rng.normal();
  }
  for (std::size_t i = 0; i < n; ++i) {
    double r = 0.001 + 0.002 * static_cast<double>(cs.sectors[i] % 3) + 0.01 * rng.normal();
    for (std::size_t j = 0; j < k; ++j) r += 0.003 * cs.styles[j][i];
    cs.returns.push_back(r);
  }
  return cs;
}

void check_against_reference(const CrossSection& cs, const FactorReturns& f, const Reference& ref) {
  CHECK(f.market == Approx(ref.market).margin(1e-9));
  for (std::size_t s = 0; s < cs.sector_names.size(); ++s) {
    INFO(cs.sector_names[s]);
    CHECK(f.sectors[s] == Approx(ref.sectors[s]).margin(1e-9));
  }
  for (std::size_t j = 0; j < cs.style_names.size(); ++j) {
    INFO(cs.style_names[j]);
    CHECK(f.styles[j] == Approx(ref.styles[j]).margin(1e-9));
  }
  double worst = 0;
  for (std::size_t i = 0; i < cs.returns.size(); ++i) worst = std::max(worst, std::fabs(f.residuals[i] - ref.residuals[i]));
  CHECK(worst < 1e-9);
}

double sector_sum(const FactorReturns& f) {
  double s = 0;
  for (double x : f.sectors) s += x;
  return s;
}

}  // namespace

TEST_CASE("factor model: WLS factor returns equal a QR solve of the weighted design", "[factor]") {
  struct Case {
    std::size_t n, m, k;
    std::uint64_t seed;
  };
  for (const Case c : {Case{200, 8, 3, 1}, Case{500, 11, 3, 2}, Case{60, 3, 2, 3}, Case{31, 11, 1, 4}}) {
    INFO("n " << c.n << " sectors " << c.m << " styles " << c.k);
    const CrossSection cs = random_cross_section(c.n, c.m, c.k, c.seed);
    const FactorReturns f = estimate_factor_returns(cs);
    CHECK(f.notes.empty());
    CHECK(f.sector_rank == static_cast<int>(c.m));
    CHECK(f.style_rank == static_cast<int>(c.k));
    check_against_reference(cs, f, reference_solve(cs, std::vector<bool>(c.m, true), std::vector<bool>(c.k, true)));
    CHECK(sector_sum(f) == 0.0);  // the constraint, exactly
    CHECK(f.r_squared > 0.0);
    CHECK(f.r_squared < 1.0);
  }
}

TEST_CASE("factor model: the weighted residuals are orthogonal to every exposure", "[factor]") {
  const CrossSection cs = random_cross_section(300, 6, 3, 9);
  const FactorReturns f = estimate_factor_returns(cs);
  // Normal equations of each step: Σ w x e = 0 for the market, each sector
  // difference column, and (on the final residuals) each style.
  double market = 0;
  for (std::size_t i = 0; i < 300; ++i) market += std::sqrt(cs.market_caps[i]) * f.sector_residuals[i];
  CHECK(std::fabs(market) < 1e-9);
  for (std::size_t j = 0; j < 3; ++j) {
    double d = 0;
    for (std::size_t i = 0; i < 300; ++i) d += std::sqrt(cs.market_caps[i]) * cs.styles[j][i] * f.residuals[i];
    CHECK(std::fabs(d) < 1e-9);
  }
}

TEST_CASE("factor model: rank-deficient input has a defined answer and says so", "[factor]") {
  SECTION("a sector with one asset fits it exactly") {
    CrossSection cs = random_cross_section(100, 5, 3, 5);
    cs.sector_names.push_back("lonely");
    cs.sectors[17] = 5;
    const FactorReturns f = estimate_factor_returns(cs);
    CHECK(std::fabs(f.sector_residuals[17]) < 1e-12);
    REQUIRE(f.notes.size() == 1);
    CHECK(f.notes[0].find("lonely has one asset") != std::string::npos);
    check_against_reference(cs, f, reference_solve(cs, std::vector<bool>(6, true), std::vector<bool>(3, true)));
    CHECK(sector_sum(f) == 0.0);
  }
  SECTION("a sector with no assets returns 0 and stays out of the constraint") {
    CrossSection cs = random_cross_section(100, 5, 3, 6);
    cs.sector_names.insert(cs.sector_names.begin() + 2, "empty");
    for (int& s : cs.sectors) s += s >= 2 ? 1 : 0;
    const FactorReturns f = estimate_factor_returns(cs);
    CHECK(f.sectors[2] == 0.0);
    CHECK_FALSE(f.sector_used[2]);
    REQUIRE(f.notes.size() == 1);
    CHECK(f.notes[0].find("empty has no assets") != std::string::npos);
    check_against_reference(cs, f, reference_solve(cs, {true, true, false, true, true, true}, {true, true, true}));
    CHECK(sector_sum(f) == 0.0);
  }
  SECTION("a style with zero variance returns 0; the others are the regression without it") {
    CrossSection cs = random_cross_section(150, 4, 3, 7);
    std::fill(cs.styles[1].begin(), cs.styles[1].end(), 0.0);
    const FactorReturns f = estimate_factor_returns(cs);
    CHECK(f.styles[1] == 0.0);
    CHECK_FALSE(f.style_used[1]);
    REQUIRE(f.notes.size() == 1);
    CHECK(f.notes[0].find("style_1 has zero variance") != std::string::npos);
    check_against_reference(cs, f, reference_solve(cs, std::vector<bool>(4, true), {true, false, true}));
  }
  SECTION("two identical styles: minimum-norm, the return split evenly, rank reported") {
    CrossSection cs = random_cross_section(150, 4, 2, 8);
    cs.styles[1] = cs.styles[0];
    const FactorReturns f = estimate_factor_returns(cs);
    CHECK(f.style_rank == 1);
    CHECK(f.styles[0] == Approx(f.styles[1]).margin(1e-12));
    // Together they carry the one-style regression's return.
    CrossSection single = cs;
    single.styles.pop_back();
    single.style_names.pop_back();
    const FactorReturns one = estimate_factor_returns(single);
    CHECK(f.styles[0] + f.styles[1] == Approx(one.styles[0]).margin(1e-9));
    REQUIRE_FALSE(f.notes.empty());
    CHECK(f.notes.back().find("rank 1 of 2") != std::string::npos);
  }
}

TEST_CASE("factor model: momentum is toraniko's factor_mom", "[factor]") {
  // toraniko: shift(lag), rolling window of `trailing`, weights
  // exp(−ln2/hl · arange(trailing))[::-1], (cumprod(1 + r·w) − 1)[-1].
  auto reference = [](const std::vector<double>& r, int trailing, int hl, int lag) {
    std::vector<double> shifted(r.size(), std::nan(""));
    for (std::size_t t = static_cast<std::size_t>(lag); t < r.size(); ++t) shifted[t] = r[t - static_cast<std::size_t>(lag)];
    std::vector<double> w(static_cast<std::size_t>(trailing));
    for (int i = 0; i < trailing; ++i) w[static_cast<std::size_t>(trailing - 1 - i)] = std::exp(-std::log(2.0) / hl * i);
    const std::size_t end = r.size();  // window = the last `trailing` shifted values
    double cum = 1;
    for (int i = 0; i < trailing; ++i) cum *= 1 + shifted[end - static_cast<std::size_t>(trailing) + static_cast<std::size_t>(i)] * w[static_cast<std::size_t>(i)];
    return cum - 1;
  };
  Rng rng{11};
  std::vector<double> r(80);
  for (double& x : r) x = 0.02 * rng.normal();
  struct Case {
    int trailing, half_life, lag;
  };
  for (const Case c : {Case{20, 5, 3}, Case{60, 30, 20}, Case{10, 1, 0}, Case{77, 126, 3}}) {
    INFO("trailing " << c.trailing << " hl " << c.half_life << " lag " << c.lag);
    MomentumParams p{c.trailing, c.half_life, c.lag};
    auto m = momentum_score(r, p);
    REQUIRE(m);
    CHECK(*m == Approx(reference(r, c.trailing, c.half_life, c.lag)).margin(1e-12));
    // One return short of trailing + lag: no score.
    std::vector<double> short_history(r.end() - static_cast<std::ptrdiff_t>(p.required() - 1), r.end());
    CHECK_FALSE(momentum_score(short_history, p));
  }
}

TEST_CASE("factor model: winsorize at numpy's linear percentiles; standardize", "[factor]") {
  std::vector<double> v = {10, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  winsorize(v, 0.1);  // percentile(10%) = 1.9, percentile(90%) = 9.1
  CHECK(v[0] == Approx(9.1));
  CHECK(v[1] == Approx(1.9));
  CHECK(v[5] == 5);
  std::vector<double> s = {1, 2, 3, 4};
  REQUIRE(standardize(s));
  const double sd = std::sqrt((2.25 + 0.25 + 0.25 + 2.25) / 3);
  CHECK(s[0] == Approx(-1.5 / sd));
  CHECK(s[3] == Approx(1.5 / sd));
  std::vector<double> flat = {3, 3, 3};
  CHECK_FALSE(standardize(flat));
  CHECK(flat == std::vector<double>{0, 0, 0});
}

TEST_CASE("factor model: factor_step scores the styles and says when momentum is missing", "[factor]") {
  Rng rng{21};
  std::vector<AssetInput> assets(40);
  for (std::size_t i = 0; i < assets.size(); ++i) {
    assets[i].period_return = 0.01 * rng.normal();
    assets[i].market_cap = 1e9 * std::pow(10.0, rng.uniform());
    assets[i].book_value = assets[i].market_cap * (0.2 + rng.uniform());
    assets[i].sector = static_cast<int>(i % 4);
    if (i < 30) assets[i].momentum = 0.1 * rng.normal();
  }
  const std::vector<std::string> sectors = {"a", "b", "c", "d"};
  ModelOptions opt;
  auto period = factor_step(assets, sectors, opt);
  REQUIRE(period.cross_section.style_names == std::vector<std::string>{"momentum", "value", "size"});
  // Each style standardised: mean 0, sample std 1 (momentum over its 30).
  for (std::size_t j = 1; j < 3; ++j) {
    const auto& col = period.cross_section.styles[j];
    const double mean = std::accumulate(col.begin(), col.end(), 0.0) / 40;
    double ss = 0;
    for (double x : col) ss += (x - mean) * (x - mean);
    CHECK(std::fabs(mean) < 1e-12);
    CHECK(std::sqrt(ss / 39) == Approx(1.0));
  }
  // size is log market cap: the largest cap has the largest score
  const auto biggest = std::max_element(assets.begin(), assets.end(),
                                        [](const auto& a, const auto& b) { return a.market_cap < b.market_cap; });
  const auto& size = period.cross_section.styles[2];
  CHECK(size[static_cast<std::size_t>(biggest - assets.begin())] == *std::max_element(size.begin(), size.end()));
  CHECK(period.cross_section.styles[0][35] == 0.0);
  REQUIRE_FALSE(period.factors.notes.empty());
  CHECK(period.factors.notes[0].find("10 assets without enough history") != std::string::npos);

  for (std::size_t i = 0; i < 40; ++i) {
    if (i >= 10) assets[i].momentum.reset();  // 10 of 40 scored: too few
  }
  period = factor_step(assets, sectors, opt);
  CHECK(period.cross_section.style_names == std::vector<std::string>{"value", "size"});
  CHECK(period.factors.notes[0].find("momentum left out") != std::string::npos);
}
