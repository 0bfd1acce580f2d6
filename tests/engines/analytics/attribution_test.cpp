// Brinson–Fachler per period (a worked example; the effects sum to Rp − Rb on
// seeded periods) and Carino's linking (the linked totals equal the compounded
// excess, each segment's total equals Σ_t (k_t/k)·effect_t computed here).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "engines/analytics/attribution.h"

using namespace nautilus::analytics;

namespace {

std::vector<double> random_weights(std::mt19937_64& rng, std::size_t n) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> w(n);
  double sum = 0.0;
  for (auto& x : w) sum += (x = u(rng));
  for (auto& x : w) x /= sum;
  return w;
}

std::vector<Segment> random_period(std::mt19937_64& rng, std::size_t n) {
  const auto wp = random_weights(rng, n), wb = random_weights(rng, n);
  std::normal_distribution<double> ret(0.001, 0.02);
  std::vector<Segment> s(n);
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = {"s" + std::to_string(i), wp[i], ret(rng), wb[i], ret(rng)};
  }
  return s;
}

// k(r, b) = ln((1+r)/(1+b)) / (r − b), its limit 1/(1+r) at r = b.
double ref_k(double r, double b) { return r == b ? 1.0 / (1.0 + r) : std::log((1.0 + r) / (1.0 + b)) / (r - b); }

}  // namespace

TEST_CASE("attribution: Brinson-Fachler on a worked example", "[analytics][attribution]") {
  // Two sectors and cash. Rb = 0.6·0.02 + 0.4·(−0.01) = 0.008; Rp = 0.5·0.03 + 0.3·(−0.02) = 0.009.
  const std::vector<Segment> s = {{"tech", 0.5, 0.03, 0.6, 0.02}, {"energy", 0.3, -0.02, 0.4, -0.01}, {"cash", 0.2, 0.0, 0.0, 0.0}};
  const auto a = brinson_fachler(s);
  CHECK(a.portfolio_return == Approx(0.009).epsilon(1e-12));
  CHECK(a.benchmark_return == Approx(0.008).epsilon(1e-12));
  // tech: allocation (0.5−0.6)(0.02−0.008) = −0.0012, selection 0.6·0.01 = 0.006, interaction −0.1·0.01 = −0.001
  CHECK(a.effects[0].allocation == Approx(-0.0012).epsilon(1e-12));
  CHECK(a.effects[0].selection == Approx(0.006).epsilon(1e-12));
  CHECK(a.effects[0].interaction == Approx(-0.001).epsilon(1e-12));
  // energy: (0.3−0.4)(−0.01−0.008) = 0.0018, 0.4·(−0.01) = −0.004, −0.1·(−0.01) = 0.001
  CHECK(a.effects[1].allocation == Approx(0.0018).epsilon(1e-12));
  CHECK(a.effects[1].selection == Approx(-0.004).epsilon(1e-12));
  CHECK(a.effects[1].interaction == Approx(0.001).epsilon(1e-12));
  // cash: 0.2·(0 − 0.008) = −0.0016, nothing else
  CHECK(a.effects[2].allocation == Approx(-0.0016).epsilon(1e-12));
  CHECK(a.effects[2].selection == 0.0);
  double total = 0.0;
  for (const auto& e : a.effects) total += e.total();
  CHECK(total == Approx(0.001).epsilon(1e-12));
}

TEST_CASE("attribution: effects sum to Rp − Rb per period; Carino-linked totals to the compounded excess", "[analytics][attribution]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const std::size_t n_segments = 2 + seed * 3, n_periods = 20 + seed * 40;
    CarinoLinker link;
    double growth_p = 1.0, growth_b = 1.0;
    std::vector<std::vector<Segment>> periods;
    std::vector<PeriodAttribution> results;
    for (std::size_t t = 0; t < n_periods; ++t) {
      auto segs = random_period(rng, n_segments);
      const auto a = brinson_fachler(segs);
      double rp = 0.0, rb = 0.0, sum = 0.0;
      for (const auto& s : segs) {
        rp += s.portfolio_weight * s.portfolio_return;
        rb += s.benchmark_weight * s.benchmark_return;
      }
      for (const auto& e : a.effects) sum += e.allocation + e.selection + e.interaction;
      CHECK(sum == Approx(rp - rb).margin(1e-15));
      REQUIRE(link.add(segs, a));
      growth_p *= 1.0 + rp;
      growth_b *= 1.0 + rb;
      periods.push_back(segs);
      results.push_back(a);
    }
    const double R = growth_p - 1.0, B = growth_b - 1.0;
    CHECK(link.portfolio_return() == Approx(R).epsilon(1e-12));
    CHECK(link.benchmark_return() == Approx(B).epsilon(1e-12));
    const auto linked = link.linked();
    double total = 0.0;
    for (const auto& [name, e] : linked) total += e.total();
    CHECK(total == Approx(R - B).margin(1e-12));

    // Each segment's linked allocation, directly: Σ_t k_t·a_t / k.
    const double k = ref_k(R, B);
    for (std::size_t i = 0; i < n_segments; ++i) {
      double alloc = 0.0, sel = 0.0, inter = 0.0;
      for (std::size_t t = 0; t < n_periods; ++t) {
        const double kt = ref_k(results[t].portfolio_return, results[t].benchmark_return);
        alloc += kt * results[t].effects[i].allocation;
        sel += kt * results[t].effects[i].selection;
        inter += kt * results[t].effects[i].interaction;
      }
      const auto& e = linked.at("s" + std::to_string(i));
      CHECK(e.allocation == Approx(alloc / k).margin(1e-12));
      CHECK(e.selection == Approx(sel / k).margin(1e-12));
      CHECK(e.interaction == Approx(inter / k).margin(1e-12));
    }
    const auto j = link.to_json();
    CHECK(j["totals"]["total"].get<double>() == Approx(R - B).margin(1e-12));
    CHECK(j["periods"] == n_periods);
  }
}

TEST_CASE("attribution: Carino's coefficient at equal returns is the limit; a −100 % period is refused", "[analytics][attribution]") {
  CHECK(carino_coefficient(0.01, 0.01) == Approx(1.0 / 1.01).epsilon(1e-14));
  CHECK(carino_coefficient(0.01, 0.01 + 1e-9) == Approx(1.0 / 1.01).epsilon(1e-8));
  CHECK(carino_coefficient(0.05, -0.02) == Approx(ref_k(0.05, -0.02)).epsilon(1e-14));
  CarinoLinker link;
  const std::vector<Segment> segs = {{"a", 1.0, -1.0, 1.0, 0.0}};
  CHECK_FALSE(link.add(segs, brinson_fachler(segs)));
  CHECK(link.periods() == 0);
  // Identical portfolio and benchmark: every effect is zero, linked or not.
  const std::vector<Segment> same = {{"a", 0.4, 0.01, 0.4, 0.01}, {"b", 0.6, -0.02, 0.6, -0.02}};
  REQUIRE(link.add(same, brinson_fachler(same)));
  for (const auto& [name, e] : link.linked()) CHECK(e.total() == Approx(0.0).margin(1e-15));
}
