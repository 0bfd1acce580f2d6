// One configured strategy instance ([[engines.strategy.instances]]): its signal
// rule per symbol (signal_rules.h), the ml regime gate, the sizing, its book
// (position, open orders) and its run state, the halt included. Pure: the
// engine (strategy_engine.h) feeds it parsed inputs with their times and
// publishes what it returns, all under one lock, so a halt handled before a
// bar means that bar's order is never created.
//
// Run state, highest first:
//   STOPPED   an operator stopped it (command "stop"); only "resume" ends it.
//   HALTED    a halt is latched: risk.state HALTED, or a flash_crash_warning
//             for a symbol it trades. With resume = "auto" the latch clears when
//             risk leaves HALTED (for a warning latch: a risk state published
//             after the warning); with "manual" it waits for "resume".
//   REDUCING  risk is REDUCING: only the part of an order that moves the
//             exposure toward zero is sent.
//   ACTIVE    orders are the delta to the target position.
// Entering HALTED or STOPPED cancels every open order; entering REDUCING
// cancels the open orders that add exposure.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engines/config_reader.h"
#include "engines/strategy/signal_rules.h"

namespace nautilus::strategy {

enum class RiskState : unsigned char { kActive, kReducing, kHalted };
std::optional<RiskState> parse_risk_state(std::string_view text);  // "ACTIVE", "REDUCING", "HALTED"

// What a regime allows: both sides, one side only (the other becomes flat), or
// nothing (flat).
enum class Gate : unsigned char { kAny, kLong, kShort, kFlat };

struct RegimeGate {
  Gate bull = Gate::kAny, bear = Gate::kAny, high_vol = Gate::kAny;
  Gate unknown = Gate::kAny;  // before the ml engine's first regime, or a label not listed
  Direction apply(std::string_view regime, Direction d) const;
};

struct Sizing {
  enum class Mode : unsigned char { kFixed, kNotional };
  Mode mode = Mode::kFixed;
  double quantity = 1.0;   // kFixed: shares at full signal
  double notional = 0.0;   // kNotional: currency at full signal
  double lot = 1.0;        // kNotional: the target is rounded down to whole lots
  // The signed target position for a direction at `price`.
  double target(Direction d, double price) const;
};

enum class ResumeMode : unsigned char { kAuto, kManual };

struct InstanceConfig {
  std::string name;
  std::string kind;
  std::vector<std::string> symbols;
  std::string interval = "1m";  // the features interval: features.<interval>.<symbol>
  RuleSpec rule;
  Sizing sizing;
  RegimeGate regime;
  bool allow_short = true;
  ResumeMode resume = ResumeMode::kAuto;

  // One [[instances]] table; problems go to the reader ("instances[0].kind").
  static InstanceConfig read(ConfigReader& r);
};

enum class RunState : unsigned char { kActive, kReducing, kHalted, kStopped };
std::string_view to_string(RunState s);  // "ACTIVE", "REDUCING", "HALTED", "STOPPED"

// Why the run state changed: the message (or operator) that caused it.
struct Cause {
  std::string kind;    // "risk_state" | "flash_crash_warning" | "operator"
  std::string symbol;  // the warning's symbol
  std::string reason;  // risk's reason, the warning's message, the operator's
  std::int64_t origin_ns = 0;
  std::string correlation_id;
  std::int64_t at_ns = 0;  // the causing message's publish time (operator: now)
};

struct OrderIntent {
  std::string id;
  std::string symbol;
  double quantity = 0.0;  // signed: buy > 0
  bool reduces = false;   // moves the exposure toward zero without crossing it
  double reference_price = 0.0;
};

struct CancelIntent {
  std::string id;
  std::string symbol;
  double remaining = 0.0;  // signed
};

struct BarOutcome {
  bool ours = false;                    // a symbol this instance trades
  std::optional<Direction> raw;         // the rule's output (nullopt: warming up)
  Direction signal = Direction::kFlat;  // after allow_short and the regime gate
  bool signal_changed = false;
  double target = 0.0;
  std::string regime;  // the regime the gate used ("" before the first)
  std::optional<OrderIntent> order;
  std::string_view held_back;  // why no order went although the target differs ("halted", "reducing")
};

struct StateOutcome {
  bool changed = false;
  RunState from = RunState::kActive, to = RunState::kActive;
  std::string reason;
  Cause cause;
  std::vector<CancelIntent> cancels;
  bool waiting_for_operator = false;
};

struct SymbolView {
  double position = 0.0;
  double pending = 0.0;  // Σ open orders' remaining quantity, signed
  std::optional<Direction> signal;
  double target = 0.0;
  std::string regime;
  double last_price = 0.0;
  std::uint64_t orders = 0, fills = 0, denied = 0, cancelled = 0, held_back = 0;
};

class StrategyInstance {
 public:
  // `id_prefix` makes order ids unique across instances and restarts
  // ("<name>-<start ns>"); ids are "<prefix>-<sequence>".
  StrategyInstance(InstanceConfig config, std::string id_prefix);

  const InstanceConfig& config() const { return config_; }
  bool trades(const std::string& symbol) const { return symbols_.count(symbol) != 0; }

  // Data plane. None throws.
  BarOutcome on_bar(const BarFeatures& bar);
  void on_regime(const std::string& symbol, const std::string& regime);
  // The book's position (portfolio.position.<symbol>), authoritative.
  void on_position(const std::string& symbol, double quantity);
  // A fill of one of this instance's orders (false: not ours). Moves the
  // position at once, so the next bar does not re-order what is already filled
  // before the book's update arrives.
  bool on_fill(const std::string& order_id, double signed_quantity);
  // Risk's decision on one of its orders (false: not ours or no longer open).
  bool on_decision(const std::string& order_id, bool approved);

  StateOutcome on_risk_state(RiskState s, const Cause& cause);
  // cause.symbol: a symbol it may not trade (then nothing changes). A warning
  // for one it trades is always reported, halted already or not.
  StateOutcome on_flash_crash(const Cause& cause);
  StateOutcome stop(const Cause& cause);
  StateOutcome resume(const Cause& cause);

  RunState state() const;
  const std::string& state_reason() const { return reason_; }
  bool waiting_for_operator() const { return latch_.has_value() && config_.resume == ResumeMode::kManual && risk_ != RiskState::kHalted; }
  const std::optional<Cause>& halt() const { return latch_; }
  std::size_t open_orders() const { return open_.size(); }
  std::uint64_t fills_after_cancel() const { return fills_after_cancel_; }
  std::map<std::string, SymbolView> symbols() const;

 private:
  struct OpenOrder {
    std::string symbol;
    double remaining = 0.0;
    bool reduces = false;
  };
  struct SymbolState {
    std::unique_ptr<SignalRule> rule;
    SymbolView view;
  };

  // Reports the move from `from` (or, with report_anyway, a change within the
  // state) and cancels the open orders the new state forbids.
  StateOutcome settle(RunState from, const Cause& cause, std::string reason, bool report_anyway);
  double pending(const std::string& symbol) const;

  InstanceConfig config_;
  std::string id_prefix_;
  std::uint64_t next_id_ = 1;
  std::map<std::string, SymbolState> symbols_;
  std::map<std::string, OpenOrder> open_;
  // Ids cancelled while open → symbol: a late fill is still ours. Only halts and
  // stops cancel, so this stays as small as the orders open at those moments.
  std::map<std::string, std::string> cancelled_;
  RiskState risk_ = RiskState::kActive;
  std::optional<Cause> latch_;
  bool operator_stopped_ = false;
  std::string reason_ = "start";
  std::uint64_t fills_after_cancel_ = 0;
};

}  // namespace nautilus::strategy
