// The risk manager: limits evaluated over the portfolio, breach levels with
// hysteresis, the trading state machine and the pre-trade check. Pure logic:
// every input carries the time; nothing here touches a bus or a clock.
//
// Trading state:
//   ACTIVE → REDUCING   when any limit is at breach level (usage ≥ 1)
//   any    → HALTED     when any limit is critical (usage ≥ halt_at), on a VPIN
//                       flash crash warning (at once), or on a manual halt
//   Escalation is immediate. De-escalation goes one step at a time
//   (HALTED → REDUCING → ACTIVE), each step only after the lower state has been
//   indicated continuously for `cooldown`. With the per-limit hysteresis this
//   keeps a value hovering at a threshold from flapping the state.
//   A flash crash warning latches HALTED for longer than `vpin_halt` (so at
//   least until the next evaluation even at 0) and until the symbol's VPIN CDF
//   is back below its toxicity limit · (1 − hysteresis).
//
// Pre-trade check: an order that reduces exposure (opposite side, not larger
// than the position) is approved in every state, subject only to the order
// rate. An order that adds exposure is denied in HALTED; otherwise it must keep
// every position-driven limit (position quantity and notional, gross and net
// exposure, leverage, concentration, margin, VaR) within its effective limit
// after the trade, its own notional within the order-notional limit (× the
// reducing_order_scale in REDUCING), its symbol's VPIN below breach, and the
// order rate within its limit.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "engines/risk/risk_limits.h"
#include "engines/risk/risk_state.h"

namespace nautilus::risk {

enum class TradingState : unsigned char { kActive, kReducing, kHalted };
std::string_view to_string(TradingState s);  // "ACTIVE", "REDUCING", "HALTED"

struct LimitAlert {
  LimitKind kind{};
  std::string symbol;   // empty for a portfolio-wide limit
  Level level = Level::kOk;
  Level previous = Level::kOk;
  double value = 0.0;
  double limit = 0.0;       // effective (after dynamic scaling)
  double base_limit = 0.0;
  double usage = 0.0;       // value / limit
  double scale = 1.0;
  std::int64_t at_ns = 0;
  std::string message;
  nlohmann::json to_json() const;
};

struct StateChange {
  TradingState from{};
  TradingState to{};
  std::string reason;
  std::int64_t at_ns = 0;
  nlohmann::json to_json() const;
};

struct RiskEvents {
  std::vector<LimitAlert> alerts;
  std::vector<StateChange> state_changes;
  bool empty() const { return alerts.empty() && state_changes.empty(); }
  void append(RiskEvents&& other);
};

struct OrderRequest {
  std::string id;
  std::string symbol;
  double quantity = 0.0;        // signed: buy > 0, sell < 0
  std::optional<double> price;  // else the last price
  // Parses {"symbol", "side": "buy"|"sell", "quantity" (> 0), "price"?, "id"?}
  // (a signed "quantity" without "side" is accepted too).
  static std::optional<OrderRequest> from_json(const nlohmann::json& j, std::string* error);
};

struct Decision {
  bool approved = false;
  bool reduces_exposure = false;
  TradingState state = TradingState::kActive;
  std::string order_id;
  std::string symbol;
  double quantity = 0.0;
  double price = 0.0;
  double notional = 0.0;
  std::vector<std::string> reasons;   // why it was denied (empty when approved)
  std::vector<LimitAlert> breaches;   // the limits the order would break
  nlohmann::json to_json() const;
};

class RiskManager {
 public:
  explicit RiskManager(RiskConfig config);

  // Data-plane inputs: kInvalidArgument for a non-finite or out-of-range value
  // (nothing changes). They update the book; call evaluate() to act on it.
  Status on_price(const std::string& symbol, double price, std::int64_t now_ns);
  Status on_fill(const std::string& symbol, double signed_quantity, double price, std::int64_t now_ns);
  Status on_position(const std::string& symbol, double quantity, std::optional<double> avg_price, std::int64_t now_ns);
  Status on_vpin(const std::string& symbol, double vpin, std::optional<double> cdf, std::int64_t now_ns);
  Status on_margin(double utilization, std::int64_t now_ns);
  // Halts at once (returns the state change and the vpin_toxicity alert). The
  // warning's own VPIN and CDF, when given, update the symbol's toxicity first.
  RiskEvents on_flash_crash_warning(const std::string& symbol, std::int64_t now_ns,
                                    std::optional<double> vpin = std::nullopt, std::optional<double> cdf = std::nullopt);

  // Control plane: a manual halt holds until resume(); resume() also clears
  // VPIN latches (the operator takes responsibility). Limits still apply.
  RiskEvents halt(const std::string& reason, std::int64_t now_ns);
  RiskEvents resume(std::int64_t now_ns);

  // Re-evaluates every limit; returns level changes and state changes.
  RiskEvents evaluate(std::int64_t now_ns);

  // What-if: the decision for `order` now, changing nothing.
  Decision check(const OrderRequest& order, std::int64_t now_ns) const;
  // An order seen on the bus: decided, and counted toward the order rate.
  Decision submit(const OrderRequest& order, std::int64_t now_ns);

  TradingState state() const { return state_; }
  const std::string& state_reason() const { return state_reason_; }
  const Portfolio& portfolio() const { return portfolio_; }
  const RiskConfig& config() const { return config_; }
  // The volatility-regime scale s for a symbol ("" = portfolio).
  double scale(const std::string& symbol) const;
  // Limits, values, usage, levels, scales and state, for `engine status risk`.
  nlohmann::json snapshot(std::int64_t now_ns) const;

 private:
  struct Item {  // one (kind, symbol) measurement
    LimitKind kind;
    std::string symbol;
    double value;
  };
  struct Tracked {
    Level level = Level::kOk;
    double value = 0.0, limit = 0.0, usage = 0.0, scale = 1.0;
  };
  using Key = std::pair<LimitKind, std::string>;

  std::vector<Item> measure(std::int64_t now_ns) const;
  std::optional<std::pair<double, double>> effective_limit(LimitKind k, const std::string& symbol) const;  // (limit, scale)
  Level next_level(Level prev, double usage, const LimitSpec& spec) const;
  std::size_t orders_in_window(const std::string& symbol, std::int64_t now_ns) const;
  std::map<std::string, double> notionals() const;
  void roll_day(std::int64_t now_ns);
  RiskEvents update_state(std::int64_t now_ns);
  TradingState desired_state(std::int64_t now_ns, std::string& reason) const;

  RiskConfig config_;
  Portfolio portfolio_;
  ReturnHistory returns_;
  TradingState state_ = TradingState::kActive;
  std::string state_reason_ = "start";
  std::optional<std::int64_t> lower_since_;  // when a lower state was first indicated
  std::map<Key, Tracked> tracked_;
  std::map<std::string, std::pair<double, std::optional<double>>> vpin_;  // symbol → (vpin, cdf)
  std::map<std::string, std::int64_t> vpin_latch_;  // symbol → earliest release
  std::optional<double> margin_utilization_;        // reported by the collateral engine
  std::optional<std::string> manual_halt_;
  std::deque<std::pair<std::int64_t, std::string>> orders_;  // (time, symbol), last second
  double peak_equity_;
  double day_start_equity_;
  std::int64_t day_ = -1;
};

}  // namespace nautilus::risk
