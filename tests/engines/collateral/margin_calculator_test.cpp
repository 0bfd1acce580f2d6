// The margin calculator on worked examples, each checked against the textbook
// formula written out here, and every call price against a bisection on this
// file's own statement of Reg T / FINRA 4210 (not the calculator's pieces).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engines/collateral/margin_calculator.h"

using namespace nautilus::collateral;

namespace {

// FINRA 4210 maintenance, as the rule reads.
double reference_maintenance(const MarginRule& rule, double quantity, double price) {
  const double units = std::fabs(quantity);
  if (rule.kind != InstrumentKind::kEquity) return units * price / rule.leverage * rule.maintenance_rate;
  if (quantity > 0) return rule.long_maintenance * units * price;
  if (price < 5.0) return units * std::max(2.5, price);
  return units * std::max(rule.short_min_per_share, rule.short_maintenance * price);
}

// Bisection for the price of `symbol` where equity == maintenance, the other
// positions fixed, on [lo, hi] where the excess changes sign.
double bisect_call_price(const MarginRule& rule, double cash, const std::vector<PositionInput>& book, std::size_t i,
                         double lo, double hi) {
  auto excess = [&](double p) {
    double equity = cash, maintenance = 0;
    for (std::size_t k = 0; k < book.size(); ++k) {
      const double price = k == i ? p : book[k].price;
      equity += book[k].quantity * price;
      maintenance += reference_maintenance(rule, book[k].quantity, price);
    }
    return equity - maintenance;
  };
  const bool rising = excess(hi) > excess(lo);
  for (int it = 0; it < 200; ++it) {
    const double mid = (lo + hi) / 2;
    if ((excess(mid) < 0) == rising) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

}  // namespace

TEST_CASE("collateral: a long bought on Reg T credit, call price P0(1-IM)/(1-MM)", "[collateral]") {
  // 100 shares at $100 with 50% borrowed: cash -5,000.
  MarginCalculator calc;
  const auto a = calc.evaluate(-5'000.0, {{"AAA", 100, 100.0}});
  CHECK(a.loan == Approx(5'000.0));
  CHECK(a.long_value == Approx(10'000.0));
  CHECK(a.equity == Approx(5'000.0));
  CHECK(a.initial == Approx(5'000.0));       // 50%
  CHECK(a.maintenance == Approx(2'500.0));   // 25%
  CHECK(a.excess_liquidity == Approx(2'500.0));
  CHECK(a.available_funds == Approx(0.0));
  CHECK(a.utilization == Approx(0.5));
  CHECK_FALSE(a.margin_call);
  REQUIRE(a.positions.size() == 1);
  REQUIRE(a.positions[0].call_price);
  CHECK(*a.positions[0].call_price == Approx(100.0 * (1 - 0.5) / (1 - 0.25)).epsilon(1e-12));  // $66.67
  // At the call price equity equals maintenance; a cent below is a call.
  const double pc = *a.positions[0].call_price;
  const auto at = calc.evaluate(-5'000.0, {{"AAA", 100, pc}});
  CHECK(at.equity == Approx(at.maintenance).epsilon(1e-12));
  const auto below = calc.evaluate(-5'000.0, {{"AAA", 100, pc - 0.01}});
  CHECK(below.margin_call);
  CHECK(below.equity > 0);  // the call comes while there is still equity
  CHECK(below.utilization > 1.0);
  CHECK(below.call_amount == Approx(below.maintenance - below.equity));
}

TEST_CASE("collateral: worked examples against the rules and a bisection", "[collateral]") {
  struct Case {
    const char* what;
    MarginRule rule;
    double cash;
    double quantity, price;
    double equity, initial, maintenance;
    double call_price;  // < 0: none
    bool in_call;
  };
  const MarginRule eq = MarginRule::equity();
  const std::vector<Case> cases = {
      // short 100 at $50 opened with Reg T's 150%: cash 7,500; 30% branch
      {"short, 30% branch", eq, 7'500, -100, 50.0, 2'500, 2'500, 1'500, 50.0 * 1.5 / 1.3, false},
      // short 100 at $12: $5/share is the greater; call at 1.5 P0 - 5
      {"short, $5 a share branch", eq, 1'800, -100, 12.0, 600, 600, 500, 1.5 * 12.0 - 5.0, false},
      // short 1,000 at $3: under $5 FINRA wants 100% (or $2.50): 150% Reg T is short of it
      {"short under $5", eq, 4'500, -1'000, 3.0, 1'500, 1'500, 3'000, 2.0, true},
      // a long with no loan never gets a call
      {"long, fully paid", eq, 0, 100, 40.0, 4'000, 2'000, 1'000, -1, false},
      // a future at 10:1, maintenance 1/1.1 of initial; long 10 at 4,000 with 5,000 of cash
      {"future long", MarginRule::future(10.0), 5'000 - 40'000, 10, 4'000.0, 5'000, 4'000, 4'000 / 1.1,
       (40'000 - 5'000) / (10 * (1 - 1 / 11.0)), false},
      // FX at 50:1, short 100,000 EUR at 1.10 with 3,000 margin
      {"fx short", MarginRule::fx(50.0), 110'000 + 3'000, -100'000, 1.10, 3'000, 2'200, 2'200,
       113'000 / (100'000 * (1 + 1 / 50.0)), false},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    MarginCalculator calc(c.rule);
    const std::vector<PositionInput> book = {{"X", c.quantity, c.price}};
    const auto a = calc.evaluate(c.cash, book);
    CHECK(a.equity == Approx(c.equity).epsilon(1e-12));
    CHECK(a.initial == Approx(c.initial).epsilon(1e-12));
    CHECK(a.maintenance == Approx(c.maintenance).epsilon(1e-12));
    CHECK(a.maintenance == Approx(reference_maintenance(c.rule, c.quantity, c.price)).epsilon(1e-12));
    CHECK(a.margin_call == c.in_call);
    REQUIRE(a.positions.size() == 1);
    if (c.call_price < 0) {
      CHECK_FALSE(a.positions[0].call_price);
      CHECK_FALSE(a.positions[0].call_note.empty());
      continue;
    }
    REQUIRE(a.positions[0].call_price);
    CHECK(*a.positions[0].call_price == Approx(c.call_price).epsilon(1e-12));
    const double lo = c.quantity > 0 ? 0.0 : c.price * 0.01, hi = c.price * 3;
    CHECK(*a.positions[0].call_price == Approx(bisect_call_price(c.rule, c.cash, book, 0, lo, hi)).epsilon(1e-9));
  }
}

TEST_CASE("collateral: call prices in a mixed account hold the other positions fixed", "[collateral]") {
  MarginCalculator calc;
  const double cash = -20'000;  // long 300 AAA at 100, short 100 BBB at 60 (proceeds in cash)
  const std::vector<PositionInput> book = {{"AAA", 300, 100.0}, {"BBB", -100, 60.0}};
  const auto a = calc.evaluate(cash, book);
  CHECK(a.equity == Approx(cash + 30'000 - 6'000));
  CHECK(a.maintenance == Approx(0.25 * 30'000 + 0.30 * 6'000));
  CHECK(a.short_value == Approx(6'000));
  for (std::size_t i = 0; i < book.size(); ++i) {
    INFO(book[i].symbol);
    REQUIRE(a.positions[i].call_price);
    const double lo = book[i].quantity > 0 ? 0.0 : 1.0, hi = 1'000.0;
    CHECK(*a.positions[i].call_price ==
          Approx(bisect_call_price(MarginRule::equity(), cash, book, i, lo, hi)).epsilon(1e-9));
  }
}

TEST_CASE("collateral: equity at or below zero reports the utilisation ceiling, never inf", "[collateral]") {
  MarginCalculator calc;
  const auto a = calc.evaluate(-10'000, {{"AAA", 100, 90.0}});  // equity -1,000
  CHECK(a.equity == Approx(-1'000));
  CHECK(a.margin_call);
  CHECK(a.utilization_capped);
  CHECK(a.utilization == kUtilisationCeiling);
  const auto empty = calc.evaluate(5'000, {});
  CHECK(empty.utilization == 0.0);
  CHECK_FALSE(empty.margin_call);
  const auto debit = calc.evaluate(-1, {});  // an unsecured debit is a call
  CHECK(debit.margin_call);
  CHECK(debit.utilization_capped);
}

TEST_CASE("collateral: per-instrument rules override the equity defaults", "[collateral]") {
  MarginRule tight = MarginRule::equity();
  tight.long_initial = 0.7;
  tight.long_maintenance = 0.4;
  MarginCalculator calc(MarginRule::equity(), {{"VOL", tight}});
  const auto a = calc.evaluate(0, {{"VOL", 10, 100.0}, {"AAA", 10, 100.0}});
  CHECK(a.positions[0].maintenance == Approx(400));  // positions keep the input order
  CHECK(a.positions[1].maintenance == Approx(250));
  CHECK(a.initial == Approx(700 + 500));
}
