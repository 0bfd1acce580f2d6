// EM (Baum–Welch): the likelihood never falls from one iteration to the next,
// the reported likelihood is the window's under the returned parameters
// (checked by a log-space forward pass written here), and a long simulated
// series gives back its parameters.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engines/ml/em_fit.h"
#include "ml_test_support.h"

using namespace nautilus::ml;
using nautilus::ml::test::three_state;
using nautilus::ml::test::two_state;

namespace {

// log p(y_1..y_n) with initial law `initial`, by log-sum-exp on log α.
double reference_log_likelihood(const MsParams& p, const StateVector& initial, const std::vector<double>& y) {
  const auto k = static_cast<std::size_t>(p.states);
  auto log_density = [](double v, double m, double s2) {
    return -0.5 * std::log(2 * std::numbers::pi * s2) - (v - m) * (v - m) / (2 * s2);
  };
  auto log_sum_exp = [](const std::vector<double>& v) {
    double m = *std::max_element(v.begin(), v.end());
    double s = 0;
    for (double x : v) s += std::exp(x - m);
    return m + std::log(s);
  };
  std::vector<double> log_alpha(k);
  for (std::size_t i = 0; i < k; ++i) log_alpha[i] = std::log(initial[i]) + log_density(y[0], p.mean[i], p.variance[i]);
  for (std::size_t t = 1; t < y.size(); ++t) {
    std::vector<double> next(k);
    for (std::size_t i = 0; i < k; ++i) {
      std::vector<double> terms(k);
      for (std::size_t j = 0; j < k; ++j) terms[j] = std::log(p.transition[i][j]) + log_alpha[j];
      next[i] = log_sum_exp(terms) + log_density(y[t], p.mean[i], p.variance[i]);
    }
    log_alpha = next;
  }
  return log_sum_exp(log_alpha);
}

struct EmCase {
  const char* name;
  MsParams truth;
  int fit_states;
  std::size_t bars;
  double variance_floor;
  bool flat_runs;  // replace every third return by an exact 0 (a price that did not move)
};

}  // namespace

TEST_CASE("ml em: no iteration lowers the likelihood", "[ml][em]") {
  const EmCase cases[] = {
      {"2 states on 2-state data", two_state(0.001, 2.5e-5, -0.002, 2.25e-4, 0.98, 0.95), 2, 2000, 1e-12, false},
      {"3 states on 3-state data",
       three_state({0.001, -0.001, -0.003}, {1e-5, 2e-5, 2e-4}, {{{0.95, 0.03, 0.02}, {0.03, 0.95, 0.02}, {0.05, 0.05, 0.9}}}),
       3, 2000, 1e-12, false},
      {"3 states on 2-state data (one too many)", two_state(0.0, 1e-4, 0.0, 1e-3, 0.97, 0.9), 3, 1500, 1e-12, false},
      {"2 states, flat runs, the floor binding", two_state(0.0, 1e-6, 0.0, 1e-4, 0.9, 0.9), 2, 1500, 1e-8, true},
      {"3 states, flat runs, the floor binding", two_state(0.0, 1e-6, 0.0, 1e-4, 0.9, 0.9), 3, 1500, 1e-8, true},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto sim = test::simulate(c.truth, c.bars, 1234);
      if (c.flat_runs) {
        for (std::size_t t = 0; t < sim.y.size(); t += 3) sim.y[t] = 0.0;
      }
      EmFitter fitter(c.bars);
      EmOptions opt;
      opt.max_iterations = 200;
      opt.tolerance = 0.0;  // run all iterations: every one is checked
      opt.variance_floor = c.variance_floor;
      MsParams start = fitter.initial_guess(sim.y.data(), sim.y.size(), c.fit_states, c.variance_floor);
      std::vector<double> trace;
      EmResult r = fitter.fit(sim.y.data(), sim.y.size(), start, opt, &trace);
      REQUIRE(r.ok);
      REQUIRE(trace.size() == static_cast<std::size_t>(r.iterations) + 1);
      REQUIRE(r.iterations >= 20);
      for (std::size_t i = 1; i < trace.size(); ++i) {
        INFO("iteration " << i << ": " << trace[i - 1] << " -> " << trace[i]);
        REQUIRE(trace[i] >= trace[i - 1] - 1e-10 * std::fabs(trace[i - 1]));
      }
      CHECK(trace.back() > trace.front());
      CHECK(r.log_likelihood == trace.back());
      // The reported likelihood is the window's under what was returned.
      CHECK(r.log_likelihood == Approx(reference_log_likelihood(r.params, r.initial, sim.y)).epsilon(1e-10));
      for (int i = 0; i < r.params.states; ++i) {
        CHECK(r.params.variance[static_cast<std::size_t>(i)] >= c.variance_floor);
        double column = 0;
        for (int j = 0; j < r.params.states; ++j) column += r.params.transition[static_cast<std::size_t>(j)][static_cast<std::size_t>(i)];
        CHECK(column == Approx(1.0).margin(1e-12));
      }
    }
  }
}

TEST_CASE("ml em: recovers the parameters of a long simulated series", "[ml][em]") {
  const MsParams truth = two_state(0.0005, 2.5e-5, -0.0015, 2.25e-4, 0.98, 0.95);
  auto sim = test::simulate(truth, 20000, 99);
  EmFitter fitter(sim.y.size());
  EmOptions opt;
  opt.tolerance = 1e-8;
  opt.max_iterations = 500;
  EmResult r = fitter.fit(sim.y.data(), sim.y.size(), fitter.initial_guess(sim.y.data(), sim.y.size(), 2, 1e-12), opt);
  REQUIRE(r.ok);
  CHECK(r.converged);
  const std::size_t calm = r.params.variance[0] < r.params.variance[1] ? 0 : 1, wild = 1 - calm;
  CHECK(r.params.mean[calm] == Approx(0.0005).margin(2e-4));
  CHECK(r.params.mean[wild] == Approx(-0.0015).margin(6e-4));
  CHECK(std::sqrt(r.params.variance[calm]) == Approx(0.005).epsilon(0.05));
  CHECK(std::sqrt(r.params.variance[wild]) == Approx(0.015).epsilon(0.05));
  CHECK(r.params.transition[calm][calm] == Approx(0.98).margin(0.01));
  CHECK(r.params.transition[wild][wild] == Approx(0.95).margin(0.02));
}

TEST_CASE("ml em: the data-driven start splits calm from turbulent (and rising from falling with 3 states)", "[ml][em]") {
  auto y = test::segments({{400, 0.002, 0.003}, {400, -0.002, 0.003}, {200, 0.0, 0.02}}, 3);
  EmFitter fitter(y.size());
  MsParams two = fitter.initial_guess(y.data(), y.size(), 2, 1e-12);
  CHECK(two.variance[1] > 4 * two.variance[0]);
  MsParams three = fitter.initial_guess(y.data(), y.size(), 3, 1e-12);
  CHECK(three.mean[0] > 0.0);
  CHECK(three.mean[1] < 0.0);
  CHECK(three.variance[2] > 4 * std::max(three.variance[0], three.variance[1]));
  for (std::size_t j = 0; j < 3; ++j) CHECK(three.transition[j][j] == 0.95);
  CHECK(validate(three).empty());
  // A flat window (every return 0): every variance at the floor, nothing non-finite.
  std::vector<double> flat(100, 0.0);
  MsParams f = fitter.initial_guess(flat.data(), flat.size(), 3, 1e-10);
  for (std::size_t i = 0; i < 3; ++i) CHECK(f.variance[i] == 1e-10);
  std::vector<double> trace;
  EmResult r = fitter.fit(flat.data(), flat.size(), f, EmOptions{50, 1e-9, 1e-10}, &trace);
  REQUIRE(r.ok);
  for (double l : trace) CHECK(std::isfinite(l));
}
