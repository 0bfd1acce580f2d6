// The Hamilton filter against the plain recursion of the definition, the
// stationary law, the predictive mixture, parameter validation, and a million
// bars with outliers and a flat price.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engines/ml/markov_switching.h"
#include "ml_test_support.h"

using namespace nautilus::ml;
using nautilus::ml::test::reference_filter;
using nautilus::ml::test::reference_stationary;
using nautilus::ml::test::three_state;
using nautilus::ml::test::two_state;

namespace {

struct FilterCase {
  const char* name;
  MsParams params;
};

std::vector<FilterCase> filter_cases() {
  return {
      {"2 states, switching mean and variance", two_state(0.3, 0.5, -0.4, 1.6, 0.95, 0.9)},
      {"2 states, same mean, switching variance", two_state(0.0, 0.4, 0.0, 2.5, 0.98, 0.97)},
      {"2 states, a state left at once", two_state(0.2, 0.6, -0.2, 1.2, 0.5, 0.0)},
      {"3 states", three_state({0.4, -0.5, 0.0}, {0.5, 0.8, 2.0},
                               {{{0.9, 0.05, 0.05}, {0.1, 0.85, 0.05}, {0.2, 0.2, 0.6}}})},
      {"3 states, one transition impossible", three_state({0.2, -0.2, 0.0}, {0.7, 0.7, 1.9},
                                                          {{{0.9, 0.0, 0.1}, {0.1, 0.8, 0.1}, {0.3, 0.3, 0.4}}})},
  };
}

}  // namespace

TEST_CASE("ml filter: equals the unscaled Hamilton recursion to 1e-12", "[ml][filter]") {
  for (const auto& c : filter_cases()) {
    SECTION(c.name) {
      REQUIRE(validate(c.params).empty());
      auto sim = test::simulate(c.params, 300, 42);
      auto ref = reference_filter(c.params, sim.y);
      HamiltonFilter f(c.params);
      for (std::size_t t = 0; t < sim.y.size(); ++t) {
        REQUIRE(f.update(sim.y[t]));
        for (std::size_t i = 0; i < static_cast<std::size_t>(c.params.states); ++i) {
          INFO("t=" << t << " state " << i);
          REQUIRE(f.filtered()[i] == Approx(ref.filtered[t][i]).margin(1e-12).epsilon(0));
        }
        INFO("t=" << t);
        REQUIRE(f.log_likelihood() == Approx(ref.log_likelihood[t]).epsilon(1e-12));
      }
      CHECK(f.updates() == 300);
    }
  }
}

TEST_CASE("ml filter: the first prior is the stationary law, and the last update's predicted law is P·ξ", "[ml][filter]") {
  for (const auto& c : filter_cases()) {
    SECTION(c.name) {
      StateVector pi{};
      REQUIRE(stationary_distribution(c.params, pi));
      auto ref = reference_stationary(c.params);
      for (std::size_t i = 0; i < ref.size(); ++i) CHECK(pi[i] == Approx(ref[i]).margin(1e-12));
      HamiltonFilter f(c.params);
      REQUIRE(f.update(0.1));
      for (std::size_t i = 0; i < ref.size(); ++i) CHECK(f.predicted()[i] == Approx(ref[i]).margin(1e-12));
      const StateVector xi = f.filtered();
      REQUIRE(f.update(-0.2));
      for (std::size_t i = 0; i < ref.size(); ++i) {
        double want = 0;
        for (std::size_t j = 0; j < ref.size(); ++j) want += c.params.transition[i][j] * xi[j];
        CHECK(f.predicted()[i] == Approx(want).margin(1e-15));
      }
    }
  }
}

TEST_CASE("ml filter: the predictive law of the next return is the mixture", "[ml][filter]") {
  for (const auto& c : filter_cases()) {
    SECTION(c.name) {
      HamiltonFilter f(c.params);
      auto sim = test::simulate(c.params, 50, 7);
      for (double y : sim.y) {
        REQUIRE(f.update(y));
        const auto k = static_cast<std::size_t>(c.params.states);
        // The formula, as written: p = P ξ; Σ p μ; Σ p (σ² + μ²) − mean².
        std::vector<double> p(k, 0.0);
        for (std::size_t i = 0; i < k; ++i)
          for (std::size_t j = 0; j < k; ++j) p[i] += c.params.transition[i][j] * f.filtered()[j];
        double mean = 0, second = 0;
        for (std::size_t i = 0; i < k; ++i) {
          mean += p[i] * c.params.mean[i];
          second += p[i] * (c.params.variance[i] + c.params.mean[i] * c.params.mean[i]);
        }
        auto got = f.predict_next();
        CHECK(got.mean == Approx(mean).margin(1e-12));
        CHECK(got.variance == Approx(second - mean * mean).margin(1e-12));
        for (std::size_t i = 0; i < k; ++i) CHECK(got.state_probability[i] == Approx(p[i]).margin(1e-15));
      }
    }
  }
}

TEST_CASE("ml filter: a non-finite return is refused and changes nothing", "[ml][filter]") {
  HamiltonFilter f(two_state(0.1, 1, -0.1, 2, 0.9, 0.9));
  REQUIRE(f.update(0.5));
  const auto xi = f.filtered();
  const double ll = f.log_likelihood();
  for (double bad : {std::nan(""), double(INFINITY), -double(INFINITY), 1e200}) {
    CHECK_FALSE(f.update(bad));
    CHECK(f.filtered() == xi);
    CHECK(f.log_likelihood() == ll);
    CHECK(f.updates() == 1);
  }
}

TEST_CASE("ml filter: an outlier where the prior has no mass takes the log-space path, exactly", "[ml][filter]") {
  // State 1 can only be left: after the first bar the prior of state 1 is 0
  // exactly, and y = 60 sits ~60σ from state 0, so the scaled sum underflows.
  MsParams p = two_state(0.0, 1.0, 60.0, 1.0, 1.0, 0.0);
  // State 0 absorbing: a unique stationary law (1, 0).
  REQUIRE(validate(p).empty());
  HamiltonFilter f(p);
  REQUIRE(f.update(0.0));
  REQUIRE(f.update(60.0));
  CHECK(f.filtered()[0] == 1.0);
  CHECK(f.filtered()[1] == 0.0);
  // log p(y2 | y1) = log N(60; 0, 1) computed in logs (its density underflows to 0).
  const double want = -0.5 * std::log(2 * std::numbers::pi) - 1800.0;
  CHECK(f.last_log_density() == Approx(want).epsilon(1e-14));
  CHECK(std::isfinite(f.log_likelihood()));
}

TEST_CASE("ml filter: a million bars with outliers, a flat price and a floored variance stay finite", "[ml][filter]") {
  // State 0's variance 1e-16 is below the floor 1e-12 and is raised to it.
  MsParams p = two_state(0.0, 1e-16, -0.001, 4e-4, 0.99, 0.95);
  HamiltonFilter f(p, 1e-12);
  CHECK(f.params().variance[0] == 1e-12);
  std::mt19937_64 rng(5);
  std::normal_distribution<double> z(0.0, 1.0);
  std::uniform_int_distribution<int> pick(0, 999);
  double min_ll_step = 0, max_ll_step = -1e300;
  for (int t = 0; t < 1'000'000; ++t) {
    const int r = pick(rng);
    double y = 0.0;  // a flat price most of the time: exactly the floored state's mean
    if (r < 300) y = 0.02 * z(rng);
    else if (r < 302) y = (r == 300 ? 0.5 : -0.7);  // a 35σ outlier of the wide state
    REQUIRE(f.update(y));
    const auto& xi = f.filtered();
    const double sum = xi[0] + xi[1];
    if (!(std::isfinite(xi[0]) && std::isfinite(xi[1]) && std::fabs(sum - 1.0) < 1e-12)) {
      FAIL("bar " << t << ": xi = " << xi[0] << ", " << xi[1]);
    }
    min_ll_step = std::min(min_ll_step, f.last_log_density());
    max_ll_step = std::max(max_ll_step, f.last_log_density());
  }
  CHECK(std::isfinite(f.log_likelihood()));
  CHECK(f.updates() == 1'000'000);
  CHECK(std::isfinite(min_ll_step));
  // y = 0 under N(0, 1e-12): log density = −½ log(2π·1e-12) ≈ 12.9, times the prior mass.
  CHECK(max_ll_step == Approx(-0.5 * std::log(2 * std::numbers::pi * 1e-12)).margin(0.02));  // log Pr(S_t = 0) ≥ log 0.99
}

TEST_CASE("ml params: validation names each problem", "[ml][params]") {
  struct Case {
    const char* name;
    MsParams params;
    const char* expect;  // a fragment of some problem; "" = valid
  };
  MsParams bad_states = two_state(0, 1, 0, 1, 0.9, 0.9);
  bad_states.states = 4;
  MsParams not_stochastic = two_state(0, 1, 0, 1, 0.9, 0.9);
  not_stochastic.transition[1][0] = 0.2;  // column 0 sums to 1.1
  MsParams negative = two_state(0, 1, 0, 1, 1.2, 0.9);  // 1.2 and −0.2
  MsParams zero_var = two_state(0, 0, 0, 1, 0.9, 0.9);
  MsParams nan_mean = two_state(std::nan(""), 1, 0, 1, 0.9, 0.9);
  MsParams reducible = two_state(0, 1, 0, 1, 1.0, 1.0);  // two absorbing states
  const Case cases[] = {
      {"valid", two_state(0, 1, 0, 2, 0.9, 0.8), ""},
      {"4 states", bad_states, "states must be 2 or 3"},
      {"column not summing to 1", not_stochastic, "column 0 must sum to 1"},
      {"entry outside [0, 1]", negative, "must be a probability"},
      {"zero variance", zero_var, "variances[0] must be a positive"},
      {"NaN mean", nan_mean, "means[0] must be finite"},
      {"no unique stationary law", reducible, "no unique stationary distribution"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto problems = validate(c.params);
      if (std::string(c.expect).empty()) {
        CHECK(problems.empty());
      } else {
        bool found = false;
        for (const auto& p : problems) found = found || p.find(c.expect) != std::string::npos;
        INFO((problems.empty() ? std::string("(none)") : problems.front()));
        CHECK(found);
      }
    }
  }
}

TEST_CASE("ml params: a reducible chain still gets a stationary law (the Cesàro mean)", "[ml][params]") {
  MsParams reducible = two_state(0, 1, 0, 1, 1.0, 1.0);
  StateVector pi{};
  CHECK_FALSE(stationary_distribution(reducible, pi));
  CHECK(pi[0] == Approx(0.5));
  CHECK(pi[1] == Approx(0.5));
  // Periodic but irreducible: unique law (½, ½), found by the solve.
  MsParams periodic = two_state(0, 1, 0, 1, 0.0, 0.0);
  CHECK(stationary_distribution(periodic, pi));
  CHECK(pi[0] == Approx(0.5).margin(1e-15));
}
