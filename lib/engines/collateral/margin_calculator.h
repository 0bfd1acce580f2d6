// Margin for one account: requirements per position, the account's equity,
// excess liquidity, utilisation and the price at which each position would put
// the account into a margin call. Pure computation: no bus, no clock. The
// collateral engine (collateral_engine.h) feeds it the portfolio's cash and
// positions at the latest marks.
//
// Definitions (all money in the account currency, q signed quantity, P price):
//   market value     q·P (long positive, short negative)
//   equity E         cash + Σ q·P (cash already holds short-sale proceeds)
//   loan             max(0, −cash): the debit balance lent by the broker
//   excess liquidity E − maintenance requirement (negative: margin call)
//   available funds  E − initial requirement (room to open new positions)
//   utilisation      maintenance / E (what the risk engine's
//                    margin_utilization limit reads; >= 1 exactly when the
//                    account is in a call). E <= 0 with something owed has no
//                    finite ratio: it is reported as kUtilisationCeiling.
//   margin call      E < maintenance requirement.
//
// Equity requirements (the defaults) follow Regulation T and FINRA Rule 4210:
//   long   initial 50 % of market value (Reg T §220.12), maintenance 25 %
//          (FINRA 4210(c)(1)).
//   short  Reg T initial is 150 % of the short's value held as credit; 100 % of
//          it is the sale proceeds already in cash, so the requirement on
//          equity is (150 % − 100 %) = 50 % of |q|·P. Maintenance per FINRA
//          4210(c)(2): per share, the greater of $5 or 30 % of P for P >= $5,
//          and the greater of $2.50 or 100 % of P below $5.
// Futures and FX: requirement = |q|·P / leverage × rate (initial_rate,
// maintenance_rate), with leverage and rates per instrument.
//
// Call price of a position: the price of that symbol at which, everything else
// unchanged, equity first falls below maintenance. For a lone long bought with
// the most credit Reg T allows (loan L = (1−IM)·q·P0, no other cash):
//   E(P) = qP − L = MM·qP  ⇒  P_call = P0(1−IM)/(1−MM).
// For a lone short opened with its initial margin (cash = (1+IMs)·s·P0, s = |q|,
// IMs = short_initial − 1), on the 30 % branch:
//   E(P) = (1+IMs)·s·P0 − sP = MMs·sP  ⇒  P_call = P0(1+IMs)/(1+MMs)
// and on the $5 branch P_call = (1+IMs)·P0 − 5. In general the requirement is
// piecewise linear in P, and the solve walks its pieces (call_price()).
// A long whose fall to zero never breaches has no call price (null, and says
// why); an account already in a call reports in_call.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nautilus::collateral {

enum class InstrumentKind : unsigned char { kEquity, kFuture, kFx };
std::string_view to_string(InstrumentKind k);

// Reported instead of an infinite maintenance/equity ratio.
inline constexpr double kUtilisationCeiling = 1e6;

// FINRA 4210(c)(2) for short positions in stocks under $5.
inline constexpr double kLowPriceThreshold = 5.0;
inline constexpr double kLowPricePerShare = 2.5;
inline constexpr double kLowPriceRate = 1.0;

struct MarginRule {
  InstrumentKind kind = InstrumentKind::kEquity;
  // equities
  double long_initial = 0.50;
  double long_maintenance = 0.25;
  double short_initial = 1.50;        // of the short's value, proceeds included
  double short_maintenance = 0.30;
  double short_min_per_share = 5.0;   // for P >= kLowPriceThreshold
  // futures / FX
  double leverage = 1.0;
  double initial_rate = 1.0;
  double maintenance_rate = 1.0;

  static MarginRule equity() { return {}; }
  // CME-style: initial = 110 % of maintenance for speculators.
  static MarginRule future(double leverage = 10.0);
  // Retail FX at 50:1 (NFA 2 % security deposit on majors), maintained in full.
  static MarginRule fx(double leverage = 50.0);

  double initial_for(double quantity, double price) const;
  double maintenance_for(double quantity, double price) const;
};

// One linear piece of a maintenance requirement per unit: slope·P + offset for
// P in [from, to).
struct RequirementPiece {
  double from = 0, to = 0, slope = 0, offset = 0;
};
// The pieces of `rule`'s maintenance per unit for a long (quantity > 0) or a
// short, in increasing price order, covering [0, inf).
std::vector<RequirementPiece> maintenance_pieces(const MarginRule& rule, bool is_long);

struct PositionInput {
  std::string symbol;
  double quantity = 0;
  double price = 0;  // the mark
};

struct PositionMargin {
  std::string symbol;
  double quantity = 0, price = 0, market_value = 0;
  double initial = 0, maintenance = 0;
  std::optional<double> call_price;
  std::string call_note;  // why there is none, or "in call"
};

struct AccountMargin {
  double cash = 0, loan = 0;
  double long_value = 0, short_value = 0;  // short_value >= 0 (|Σ short q·P|)
  double equity = 0;
  double initial = 0, maintenance = 0;
  double excess_liquidity = 0, available_funds = 0;
  double utilization = 0;
  bool utilization_capped = false;  // E <= 0: kUtilisationCeiling reported
  bool margin_call = false;
  double call_amount = 0;           // maintenance − equity while in a call
  std::vector<PositionMargin> positions;
};

class MarginCalculator {
 public:
  explicit MarginCalculator(MarginRule defaults = {}, std::map<std::string, MarginRule, std::less<>> rules = {});
  const MarginRule& rule_for(std::string_view symbol) const;

  // Positions with quantity 0 or without a positive price are left out.
  AccountMargin evaluate(double cash, const std::vector<PositionInput>& positions) const;

 private:
  MarginRule defaults_;
  std::map<std::string, MarginRule, std::less<>> rules_;
};

// The price of one position at which the account's equity equals its
// maintenance requirement, all else fixed: `equity_now` and
// `maintenance_others` are the account's equity and the requirement of every
// other position at the current marks. nullopt when no price >= 0 breaches.
std::optional<double> call_price(const MarginRule& rule, double quantity, double price_now, double equity_now,
                                 double maintenance_others);

}  // namespace nautilus::collateral
