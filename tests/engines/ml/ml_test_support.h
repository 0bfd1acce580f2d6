// Shared by the ml tests: parameter sets, a seeded regime-switching series,
// and a second, independent implementation of the model's definitions (the
// plain recursion of the issue, written out without the filter's scaling).
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

#include "engines/ml/markov_switching.h"

namespace nautilus::ml::test {

inline MsParams two_state(double m0, double v0, double m1, double v1, double stay0, double stay1) {
  MsParams p;
  p.states = 2;
  p.mean = {m0, m1, 0};
  p.variance = {v0, v1, 0};
  p.transition[0][0] = stay0;
  p.transition[1][0] = 1 - stay0;
  p.transition[1][1] = stay1;
  p.transition[0][1] = 1 - stay1;
  return p;
}

// Columns are the "from" state: cols[j] = {Pr(0|j), Pr(1|j), Pr(2|j)}.
inline MsParams three_state(std::array<double, 3> means, std::array<double, 3> variances,
                            std::array<std::array<double, 3>, 3> cols) {
  MsParams p;
  p.states = 3;
  p.mean = means;
  p.variance = variances;
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) p.transition[i][j] = cols[j][i];
  return p;
}

// The stationary law by repeated squaring: P^(2^60) has π in every column for
// an irreducible aperiodic chain. Independent of the library's linear solve.
inline std::vector<double> reference_stationary(const MsParams& p) {
  const auto k = static_cast<std::size_t>(p.states);
  std::vector<std::vector<double>> m(k, std::vector<double>(k));
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) m[i][j] = p.transition[i][j];
  for (int s = 0; s < 60; ++s) {
    std::vector<std::vector<double>> n(k, std::vector<double>(k, 0.0));
    for (std::size_t i = 0; i < k; ++i)
      for (std::size_t j = 0; j < k; ++j)
        for (std::size_t l = 0; l < k; ++l) n[i][j] += m[i][l] * m[l][j];
    // Keep the columns stochastic, or rounding grows geometrically with the power.
    for (std::size_t j = 0; j < k; ++j) {
      double col = 0;
      for (std::size_t i = 0; i < k; ++i) col += n[i][j];
      for (std::size_t i = 0; i < k; ++i) n[i][j] /= col;
    }
    m = n;
  }
  std::vector<double> pi(k);
  double sum = 0;
  for (std::size_t i = 0; i < k; ++i) sum += m[i][0];
  for (std::size_t i = 0; i < k; ++i) pi[i] = m[i][0] / sum;
  return pi;
}

inline double reference_density(double y, double mean, double variance) {
  return std::exp(-(y - mean) * (y - mean) / (2 * variance)) / std::sqrt(2 * std::numbers::pi * variance);
}

struct ReferenceRun {
  std::vector<std::vector<double>> filtered;  // ξ_{t|t}
  std::vector<double> log_likelihood;          // log p(y_1..y_t), cumulative
};

// The unscaled recursion: α_1 = π ⊙ η_1, α_t = (P α_{t−1}) ⊙ η_t,
// ξ_{t|t} = α_t / Σα_t, log L_t = log Σα_t. Only for short series.
inline ReferenceRun reference_filter(const MsParams& p, const std::vector<double>& y) {
  const auto k = static_cast<std::size_t>(p.states);
  ReferenceRun run;
  std::vector<double> alpha = reference_stationary(p);
  for (std::size_t t = 0; t < y.size(); ++t) {
    std::vector<double> next(k, 0.0);
    for (std::size_t i = 0; i < k; ++i) {
      double prior = 0;
      if (t == 0) {
        prior = alpha[i];
      } else {
        for (std::size_t j = 0; j < k; ++j) prior += p.transition[i][j] * alpha[j];
      }
      next[i] = prior * reference_density(y[t], p.mean[i], p.variance[i]);
    }
    alpha = next;
    double sum = 0;
    for (double a : alpha) sum += a;
    std::vector<double> xi(k);
    for (std::size_t i = 0; i < k; ++i) xi[i] = alpha[i] / sum;
    run.filtered.push_back(xi);
    run.log_likelihood.push_back(std::log(sum));
  }
  return run;
}

// A path of the chain and its returns, seeded.
struct Simulated {
  std::vector<int> state;
  std::vector<double> y;
};

inline Simulated simulate(const MsParams& p, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> z(0.0, 1.0);
  Simulated s;
  std::size_t state = 0;
  for (std::size_t t = 0; t < n; ++t) {
    if (t > 0) {
      double r = u(rng), acc = 0;
      std::size_t next = static_cast<std::size_t>(p.states) - 1;
      for (std::size_t i = 0; i < static_cast<std::size_t>(p.states); ++i) {
        acc += p.transition[i][state];
        if (r < acc) {
          next = i;
          break;
        }
      }
      state = next;
    }
    s.state.push_back(static_cast<int>(state));
    s.y.push_back(p.mean[state] + std::sqrt(p.variance[state]) * z(rng));
  }
  return s;
}

// Returns in segments of i.i.d. normals: {count, mean, sd}.
struct Segment {
  std::size_t bars;
  double mean;
  double sd;
};
inline std::vector<double> segments(const std::vector<Segment>& parts, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0.0, 1.0);
  std::vector<double> y;
  for (const auto& s : parts)
    for (std::size_t i = 0; i < s.bars; ++i) y.push_back(s.mean + s.sd * z(rng));
  return y;
}

}  // namespace nautilus::ml::test
