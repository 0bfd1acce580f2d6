#include "engines/analytics/attribution.h"

#include <cmath>

namespace nautilus::analytics {

PeriodAttribution brinson_fachler(const std::vector<Segment>& segments) {
  PeriodAttribution a;
  for (const auto& s : segments) {
    a.portfolio_return += s.portfolio_weight * s.portfolio_return;
    a.benchmark_return += s.benchmark_weight * s.benchmark_return;
  }
  a.effects.reserve(segments.size());
  for (const auto& s : segments) {
    const double active_weight = s.portfolio_weight - s.benchmark_weight;
    SegmentEffects e;
    e.allocation = active_weight * (s.benchmark_return - a.benchmark_return);
    e.selection = s.benchmark_weight * (s.portfolio_return - s.benchmark_return);
    e.interaction = active_weight * (s.portfolio_return - s.benchmark_return);
    a.effects.push_back(e);
  }
  return a;
}

double carino_coefficient(double r, double b) {
  // Equal returns: the limit of the quotient, d/dr ln(1+r) = 1/(1+r).
  if (std::fabs(r - b) <= 1e-15 * (1.0 + std::fabs(r))) return 1.0 / (1.0 + r);
  return (std::log1p(r) - std::log1p(b)) / (r - b);
}

bool CarinoLinker::add(const std::vector<Segment>& segments, const PeriodAttribution& period) {
  const double r = period.portfolio_return, b = period.benchmark_return;
  if (!std::isfinite(r) || !std::isfinite(b) || r <= -1.0 || b <= -1.0) return false;
  const double k = carino_coefficient(r, b);
  for (std::size_t i = 0; i < segments.size() && i < period.effects.size(); ++i) {
    SegmentEffects& w = weighted_[segments[i].name];
    w.allocation += k * period.effects[i].allocation;
    w.selection += k * period.effects[i].selection;
    w.interaction += k * period.effects[i].interaction;
  }
  growth_p_ *= 1.0 + r;
  growth_b_ *= 1.0 + b;
  ++periods_;
  last_segments_.assign(segments.begin(), segments.end());
  last_period_.portfolio_return = r;
  last_period_.benchmark_return = b;
  last_period_.effects.assign(period.effects.begin(), period.effects.end());
  return true;
}

std::map<std::string, SegmentEffects> CarinoLinker::linked() const {
  std::map<std::string, SegmentEffects> out;
  const double k = carino_coefficient(portfolio_return(), benchmark_return());
  for (const auto& [name, w] : weighted_) {
    out[name] = {w.allocation / k, w.selection / k, w.interaction / k};
  }
  return out;
}

nlohmann::json CarinoLinker::to_json() const {
  nlohmann::json segs = nlohmann::json::object();
  SegmentEffects total;
  for (const auto& [name, e] : linked()) {
    segs[name] = {{"allocation", e.allocation}, {"selection", e.selection}, {"interaction", e.interaction},
                  {"total", e.total()}};
    total.allocation += e.allocation;
    total.selection += e.selection;
    total.interaction += e.interaction;
  }
  nlohmann::json last = nlohmann::json();
  if (periods_ > 0) {
    nlohmann::json seg = nlohmann::json::object();
    for (std::size_t i = 0; i < last_segments_.size() && i < last_period_.effects.size(); ++i) {
      const Segment& s = last_segments_[i];
      const SegmentEffects& e = last_period_.effects[i];
      seg[s.name] = {{"portfolio_weight", s.portfolio_weight}, {"portfolio_return", s.portfolio_return},
                     {"benchmark_weight", s.benchmark_weight}, {"benchmark_return", s.benchmark_return},
                     {"allocation", e.allocation}, {"selection", e.selection}, {"interaction", e.interaction}};
    }
    const double r = last_period_.portfolio_return, b = last_period_.benchmark_return;
    last = {{"portfolio_return", r}, {"benchmark_return", b}, {"excess_return", r - b}, {"segments", seg}};
  }
  return {{"periods", periods_},
          {"portfolio_return", portfolio_return()},
          {"benchmark_return", benchmark_return()},
          {"excess_return", portfolio_return() - benchmark_return()},
          {"segments", segs},
          {"totals",
           {{"allocation", total.allocation}, {"selection", total.selection}, {"interaction", total.interaction},
            {"total", total.total()}}},
          {"last_period", last}};
}

}  // namespace nautilus::analytics
