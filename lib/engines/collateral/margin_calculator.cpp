#include "engines/collateral/margin_calculator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace nautilus::collateral {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Line {
  double slope = 0, offset = 0;
  double at(double p) const { return slope * p + offset; }
};

// max(a, b) over [from, to) as one or two linear pieces.
void add_max_of(std::vector<RequirementPiece>& out, double from, double to, Line a, Line b) {
  if (a.slope != b.slope) {
    const double cross = (b.offset - a.offset) / (a.slope - b.slope);
    if (cross > from && cross < to) {
      const bool a_first = a.at(from) >= b.at(from);  // on top before the crossing
      const Line first = a_first ? a : b, second = a_first ? b : a;
      out.push_back({from, cross, first.slope, first.offset});
      out.push_back({cross, to, second.slope, second.offset});
      return;
    }
  }
  // One line dominates the whole interval: compare past the start (at the
  // midpoint, or just right of `from` for the open-ended last piece).
  const double probe = std::isfinite(to) ? (from + to) / 2.0 : from + 1.0;
  const Line top = a.at(probe) >= b.at(probe) ? a : b;
  out.push_back({from, to, top.slope, top.offset});
}

}  // namespace

std::string_view to_string(InstrumentKind k) {
  switch (k) {
    case InstrumentKind::kEquity: return "equity";
    case InstrumentKind::kFuture: return "future";
    case InstrumentKind::kFx: return "fx";
  }
  return "equity";
}

MarginRule MarginRule::future(double leverage) {
  MarginRule r;
  r.kind = InstrumentKind::kFuture;
  r.leverage = leverage;
  r.initial_rate = 1.0;
  r.maintenance_rate = 1.0 / 1.1;
  return r;
}

MarginRule MarginRule::fx(double leverage) {
  MarginRule r;
  r.kind = InstrumentKind::kFx;
  r.leverage = leverage;
  r.initial_rate = 1.0;
  r.maintenance_rate = 1.0;
  return r;
}

double MarginRule::initial_for(double quantity, double price) const {
  const double notional = std::fabs(quantity) * price;
  if (kind != InstrumentKind::kEquity) return notional / leverage * initial_rate;
  return quantity > 0 ? long_initial * notional : (short_initial - 1.0) * notional;
}

double MarginRule::maintenance_for(double quantity, double price) const {
  const double units = std::fabs(quantity);
  for (const auto& piece : maintenance_pieces(*this, quantity > 0)) {
    if (price >= piece.from && price < piece.to) return units * (piece.slope * price + piece.offset);
  }
  return 0.0;  // a negative price: no requirement
}

std::vector<RequirementPiece> maintenance_pieces(const MarginRule& rule, bool is_long) {
  std::vector<RequirementPiece> out;
  if (rule.kind != InstrumentKind::kEquity) {
    out.push_back({0.0, kInf, rule.maintenance_rate / rule.leverage, 0.0});
  } else if (is_long) {
    out.push_back({0.0, kInf, rule.long_maintenance, 0.0});
  } else {
    add_max_of(out, 0.0, kLowPriceThreshold, {0.0, kLowPricePerShare}, {kLowPriceRate, 0.0});
    add_max_of(out, kLowPriceThreshold, kInf, {0.0, rule.short_min_per_share}, {rule.short_maintenance, 0.0});
  }
  return out;
}

std::optional<double> call_price(const MarginRule& rule, double quantity, double price_now, double equity_now,
                                 double maintenance_others) {
  if (quantity == 0.0) return std::nullopt;
  const bool is_long = quantity > 0;
  const double units = std::fabs(quantity);
  const auto pieces = maintenance_pieces(rule, is_long);
  // Excess liquidity as a function of this symbol's price P, on one piece:
  //   f(P) = E + q(P − Pn) − M_others − |q|(slope·P + offset) = c0 + c1·P
  auto coeffs = [&](const RequirementPiece& p) {
    return std::pair<double, double>{equity_now - quantity * price_now - maintenance_others - units * p.offset,
                                     quantity - units * p.slope};
  };
  auto value_at = [&](const RequirementPiece& p, double x) {
    auto [c0, c1] = coeffs(p);
    return c0 + c1 * x;
  };
  // The value just left of a piece's end (its sign at +inf).
  auto value_before_end = [&](const RequirementPiece& p) {
    auto [c0, c1] = coeffs(p);
    if (std::isfinite(p.to)) return c0 + c1 * p.to;
    return c1 > 0 ? kInf : (c1 < 0 ? -kInf : c0);
  };
  auto root_in = [&](const RequirementPiece& p) {
    auto [c0, c1] = coeffs(p);
    return c1 != 0.0 ? std::clamp(-c0 / c1, p.from, p.to) : p.from;
  };
  if (is_long) {
    // Excess rises with P: the call price is where it turns non-negative.
    if (value_at(pieces.front(), 0.0) >= 0.0) return std::nullopt;  // even at zero no call
    for (const auto& p : pieces) {
      if (value_at(p, p.from) >= 0.0) return p.from;
      if (value_before_end(p) >= 0.0) return root_in(p);
    }
    return std::nullopt;  // in a call at every price: no single call price
  }
  // A short: excess falls as P rises; the call price is where it turns negative.
  for (const auto& p : pieces) {
    if (value_at(p, p.from) < 0.0) return p.from;
    if (value_before_end(p) < 0.0) return root_in(p);
  }
  return std::nullopt;
}

MarginCalculator::MarginCalculator(MarginRule defaults, std::map<std::string, MarginRule, std::less<>> rules)
    : defaults_(defaults), rules_(std::move(rules)) {}

const MarginRule& MarginCalculator::rule_for(std::string_view symbol) const {
  auto it = rules_.find(symbol);
  return it == rules_.end() ? defaults_ : it->second;
}

AccountMargin MarginCalculator::evaluate(double cash, const std::vector<PositionInput>& positions) const {
  AccountMargin a;
  a.cash = cash;
  a.loan = std::max(0.0, -cash);
  a.equity = cash;
  for (const auto& in : positions) {
    if (in.quantity == 0.0 || !(in.price > 0.0)) continue;
    const MarginRule& rule = rule_for(in.symbol);
    PositionMargin p;
    p.symbol = in.symbol;
    p.quantity = in.quantity;
    p.price = in.price;
    p.market_value = in.quantity * in.price;
    p.initial = rule.initial_for(in.quantity, in.price);
    p.maintenance = rule.maintenance_for(in.quantity, in.price);
    (p.market_value > 0 ? a.long_value : a.short_value) += std::fabs(p.market_value);
    a.equity += p.market_value;
    a.initial += p.initial;
    a.maintenance += p.maintenance;
    a.positions.push_back(std::move(p));
  }
  a.excess_liquidity = a.equity - a.maintenance;
  a.available_funds = a.equity - a.initial;
  a.margin_call = a.equity < a.maintenance;
  a.call_amount = a.margin_call ? a.maintenance - a.equity : 0.0;
  if (a.equity > 0.0) {
    a.utilization = std::min(a.maintenance / a.equity, kUtilisationCeiling);
    a.utilization_capped = a.utilization == kUtilisationCeiling;
  } else if (a.maintenance > 0.0 || a.equity < 0.0) {
    a.utilization = kUtilisationCeiling;
    a.utilization_capped = true;
  }
  for (auto& p : a.positions) {
    const MarginRule& rule = rule_for(p.symbol);
    p.call_price = call_price(rule, p.quantity, p.price, a.equity, a.maintenance - p.maintenance);
    if (a.margin_call) {
      p.call_note = "in call";
    } else if (!p.call_price) {
      p.call_note = p.quantity > 0 ? "no call even at a price of zero" : "no call at any price";
    }
  }
  return a;
}

}  // namespace nautilus::collateral
