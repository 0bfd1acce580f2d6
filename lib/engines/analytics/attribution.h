// Brinson–Fachler return attribution of one period, and Carino's linking of the
// periods' effects into totals that add up to the compounded excess return.
// Pure computation; the analytics engine feeds it sectors and strategies.
//
// Per period, segments i with portfolio weight wp_i and return Rp_i, benchmark
// weight wb_i and return Rb_i (weights of each side summing to 1, cash being a
// segment), Rp = Σ wp_i·Rp_i, Rb = Σ wb_i·Rb_i:
//   allocation  (wp_i − wb_i)(Rb_i − Rb)
//   selection   wb_i(Rp_i − Rb_i)
//   interaction (wp_i − wb_i)(Rp_i − Rb_i)
// and Σ_i (allocation + selection + interaction) = Rp − Rb exactly (Σ wp = Σ wb).
//
// Carino (1999): with k_t = (ln(1+Rp_t) − ln(1+Rb_t)) / (Rp_t − Rb_t)
// (1/(1+Rp_t) when equal) and k the same of the compounded returns
// Rp = Π(1+Rp_t) − 1, Rb = Π(1+Rb_t) − 1, the linked effect of a segment is
// Σ_t (k_t/k)·effect_t, and the linked effects sum to Rp − Rb.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nautilus::analytics {

struct Segment {
  std::string name;
  double portfolio_weight = 0.0, portfolio_return = 0.0;
  double benchmark_weight = 0.0, benchmark_return = 0.0;
};

struct SegmentEffects {
  double allocation = 0.0, selection = 0.0, interaction = 0.0;
  double total() const { return allocation + selection + interaction; }
};

struct PeriodAttribution {
  double portfolio_return = 0.0, benchmark_return = 0.0;
  std::vector<SegmentEffects> effects;  // in the order of the segments
};

PeriodAttribution brinson_fachler(const std::vector<Segment>& segments);

// Carino's log-linking coefficient of a portfolio return r against b (both > −1).
double carino_coefficient(double r, double b);

// Accumulates Σ_t k_t·effect_t per segment and the compounded returns, so that
// periods need not be kept.
class CarinoLinker {
 public:
  // False (nothing added) when either period return is ≤ −1 or not finite.
  bool add(const std::vector<Segment>& segments, const PeriodAttribution& period);
  std::size_t periods() const { return periods_; }
  double portfolio_return() const { return growth_p_ - 1.0; }
  double benchmark_return() const { return growth_b_ - 1.0; }
  // The linked effects per segment name (zero when there were no periods).
  std::map<std::string, SegmentEffects> linked() const;
  // {periods, portfolio_return, benchmark_return, excess_return, segments: {name: {allocation, ...}},
  //  totals: {...}, last_period: {...}}
  nlohmann::json to_json() const;

 private:
  std::size_t periods_ = 0;
  double growth_p_ = 1.0, growth_b_ = 1.0;
  std::map<std::string, SegmentEffects> weighted_;  // Σ k_t·effect_t
  // The last period, copied into reused storage (JSON only when asked).
  std::vector<Segment> last_segments_;
  PeriodAttribution last_period_;
};

}  // namespace nautilus::analytics
