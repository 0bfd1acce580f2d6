#include "engines/strategy/strategy_instance.h"

#include <algorithm>
#include <cmath>

namespace nautilus::strategy {
namespace {

// Below this a quantity is rounding noise, not an order.
constexpr double kQuantityEpsilon = 1e-9;

Gate parse_gate(const std::string& s) {
  if (s == "long") return Gate::kLong;
  if (s == "short") return Gate::kShort;
  if (s == "flat") return Gate::kFlat;
  return Gate::kAny;
}

Gate read_gate(ConfigReader& r, const char* key) { return parse_gate(r.one_of(key, "any", {"any", "long", "short", "flat"})); }

// A name that is one topic segment: strategy.state.<name>.
bool is_segment(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

int sign(double x) { return x > kQuantityEpsilon ? 1 : x < -kQuantityEpsilon ? -1 : 0; }

}  // namespace

std::optional<RiskState> parse_risk_state(std::string_view text) {
  if (text == "ACTIVE") return RiskState::kActive;
  if (text == "REDUCING") return RiskState::kReducing;
  if (text == "HALTED") return RiskState::kHalted;
  return std::nullopt;
}

std::string_view to_string(RunState s) {
  switch (s) {
    case RunState::kActive: return "ACTIVE";
    case RunState::kReducing: return "REDUCING";
    case RunState::kHalted: return "HALTED";
    case RunState::kStopped: return "STOPPED";
  }
  return "ACTIVE";
}

Direction RegimeGate::apply(std::string_view regime, Direction d) const {
  Gate g = unknown;
  if (regime == "bull") g = bull;
  else if (regime == "bear") g = bear;
  else if (regime == "high_vol") g = high_vol;
  switch (g) {
    case Gate::kAny: return d;
    case Gate::kLong: return d == Direction::kLong ? d : Direction::kFlat;
    case Gate::kShort: return d == Direction::kShort ? d : Direction::kFlat;
    case Gate::kFlat: return Direction::kFlat;
  }
  return d;
}

double Sizing::target(Direction d, double price) const {
  const double side = static_cast<double>(static_cast<int>(d));
  if (mode == Mode::kFixed) return side * quantity;
  if (!(price > 0)) return 0.0;
  return side * std::floor(notional / price / lot) * lot;
}

InstanceConfig InstanceConfig::read(ConfigReader& r) {
  InstanceConfig c;
  c.name = r.string("name", "");
  if (!r.has("name")) r.problem("name", "is required");
  else if (!is_segment(c.name)) r.problem("name", "must be letters, digits, '_' or '-' (got '" + c.name + "')");

  c.kind = r.one_of("kind", "", {kKinds[0], kKinds[1], kKinds[2]});
  if (!r.has("kind")) r.problem("kind", "is required (one of ma_crossover, mean_reversion, momentum)");

  c.symbols = r.strings("symbols", {});
  if (c.symbols.empty()) r.problem("symbols", "must list at least one symbol");
  for (std::size_t i = 0; i < c.symbols.size(); ++i) {
    const std::string key = "symbols[" + std::to_string(i) + "]";
    if (!is_segment(c.symbols[i])) r.problem(key, "must be one topic segment (got '" + c.symbols[i] + "')");
    else if (std::find(c.symbols.begin(), c.symbols.begin() + static_cast<std::ptrdiff_t>(i), c.symbols[i]) !=
             c.symbols.begin() + static_cast<std::ptrdiff_t>(i))
      r.problem(key, "repeats '" + c.symbols[i] + "'");
  }

  c.interval = r.string("interval", "1m");
  if (ConfigReader::parse_duration_ns(c.interval) <= 0)
    r.problem("interval", "must be a features interval such as \"1s\" or \"1m\" (got '" + c.interval + "')");

  ConfigReader params = r.table("params");
  // Without a valid kind the params cannot be checked; its own problem says so.
  if (!c.kind.empty()) c.rule = RuleSpec::read(c.kind, params);
  else for (const auto& k : params.keys()) params.accept(k);

  ConfigReader sizing = r.table("sizing");
  const std::string mode = sizing.one_of("mode", "fixed", {"fixed", "notional"});
  if (mode == "fixed") {
    c.sizing.mode = Sizing::Mode::kFixed;
    c.sizing.quantity = sizing.number("quantity", 1.0, 1e-9, 1e12);
  } else {
    c.sizing.mode = Sizing::Mode::kNotional;
    c.sizing.notional = sizing.number("notional", 0.0, 1e-6, 1e15);
    if (!sizing.has("notional")) sizing.problem("notional", "is required with mode = \"notional\"");
    c.sizing.lot = sizing.number("lot", 1.0, 1e-9, 1e9);
  }

  ConfigReader regime = r.table("regime");
  c.regime.bull = read_gate(regime, "bull");
  c.regime.bear = read_gate(regime, "bear");
  c.regime.high_vol = read_gate(regime, "high_vol");
  c.regime.unknown = read_gate(regime, "unknown");

  c.allow_short = r.boolean("allow_short", true);
  c.resume = r.one_of("resume", "auto", {"auto", "manual"}) == "manual" ? ResumeMode::kManual : ResumeMode::kAuto;
  return c;
}

StrategyInstance::StrategyInstance(InstanceConfig config, std::string id_prefix)
    : config_(std::move(config)), id_prefix_(std::move(id_prefix)) {
  for (const auto& s : config_.symbols) symbols_[s].rule = config_.rule.make();
}

RunState StrategyInstance::state() const {
  if (operator_stopped_) return RunState::kStopped;
  if (latch_ || risk_ == RiskState::kHalted) return RunState::kHalted;
  if (risk_ == RiskState::kReducing) return RunState::kReducing;
  return RunState::kActive;
}

double StrategyInstance::pending(const std::string& symbol) const {
  double sum = 0.0;
  for (const auto& [id, o] : open_) {
    if (o.symbol == symbol) sum += o.remaining;
  }
  return sum;
}

BarOutcome StrategyInstance::on_bar(const BarFeatures& bar) {
  BarOutcome out;
  auto it = symbols_.find(bar.symbol);
  if (it == symbols_.end()) return out;
  out.ours = true;
  SymbolView& v = it->second.view;
  v.last_price = bar.close;
  out.raw = it->second.rule->update(bar);
  if (!out.raw) return out;  // warming up: hold whatever is held

  Direction d = *out.raw;
  if (!config_.allow_short && d == Direction::kShort) d = Direction::kFlat;
  d = config_.regime.apply(v.regime, d);
  out.regime = v.regime;
  out.signal = d;
  out.signal_changed = !v.signal || *v.signal != d;
  v.signal = d;
  out.target = v.target = config_.sizing.target(d, bar.close);

  // The order is the delta to the target, net of what is already on its way.
  const double exposure = v.position + pending(bar.symbol);
  double delta = out.target - exposure;
  if (std::fabs(delta) < kQuantityEpsilon) return out;

  const RunState s = state();
  if (s == RunState::kHalted || s == RunState::kStopped) {
    out.held_back = s == RunState::kHalted ? "halted" : "stopped";
    ++v.held_back;
    return out;
  }
  const bool reducing = sign(exposure) != 0 && sign(delta) == -sign(exposure);
  if (s == RunState::kReducing) {
    if (!reducing) {
      out.held_back = "reducing";
      ++v.held_back;
      return out;
    }
    // Only down to flat: the rest would open the other side.
    if (std::fabs(delta) > std::fabs(exposure)) delta = -exposure;
  }
  OrderIntent o;
  o.id = id_prefix_ + "-" + std::to_string(next_id_++);
  o.symbol = bar.symbol;
  o.quantity = delta;
  o.reduces = reducing && std::fabs(delta) <= std::fabs(exposure) + kQuantityEpsilon;
  o.reference_price = bar.close;
  open_[o.id] = {bar.symbol, delta, o.reduces};
  ++v.orders;
  out.order = std::move(o);
  return out;
}

void StrategyInstance::on_regime(const std::string& symbol, const std::string& regime) {
  auto it = symbols_.find(symbol);
  if (it != symbols_.end()) it->second.view.regime = regime;
}

void StrategyInstance::on_position(const std::string& symbol, double quantity) {
  auto it = symbols_.find(symbol);
  if (it != symbols_.end()) it->second.view.position = quantity;
}

bool StrategyInstance::on_fill(const std::string& order_id, double signed_quantity) {
  std::string symbol;
  if (auto it = open_.find(order_id); it != open_.end()) {
    symbol = it->second.symbol;
    it->second.remaining -= signed_quantity;
    // Done when filled, or overfilled (what remains would point the other way).
    if (sign(it->second.remaining) != sign(it->second.remaining + signed_quantity)) open_.erase(it);
  } else if (auto c = cancelled_.find(order_id); c != cancelled_.end()) {
    // Filled although cancelled (the executor had it already): still ours, counted.
    symbol = c->second;
    ++fills_after_cancel_;
  } else {
    return false;
  }
  SymbolView& v = symbols_[symbol].view;
  v.position += signed_quantity;
  ++v.fills;
  return true;
}

bool StrategyInstance::on_decision(const std::string& order_id, bool approved) {
  auto it = open_.find(order_id);
  if (it == open_.end()) return false;
  if (!approved) {
    ++symbols_[it->second.symbol].view.denied;
    open_.erase(it);
  }
  return true;
}

StateOutcome StrategyInstance::settle(RunState from, const Cause& cause, std::string reason, bool report_anyway) {
  StateOutcome out;
  out.from = from;
  out.to = state();
  out.cause = cause;
  out.waiting_for_operator = waiting_for_operator();
  out.changed = out.from != out.to || report_anyway;
  if (!out.changed) return out;
  reason_ = reason;
  out.reason = std::move(reason);
  if (out.from == out.to) return out;
  const bool stop_all = out.to == RunState::kHalted || out.to == RunState::kStopped;
  for (auto it = open_.begin(); it != open_.end();) {
    if (stop_all || (out.to == RunState::kReducing && !it->second.reduces)) {
      out.cancels.push_back({it->first, it->second.symbol, it->second.remaining});
      ++symbols_[it->second.symbol].view.cancelled;
      cancelled_[it->first] = it->second.symbol;
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

StateOutcome StrategyInstance::on_risk_state(RiskState s, const Cause& cause) {
  const RunState from = state();
  const bool was_waiting = waiting_for_operator();
  risk_ = s;
  std::string reason;
  if (s == RiskState::kHalted) {
    if (!latch_) latch_ = cause;
    reason = "risk HALTED: " + cause.reason;
  } else if (latch_) {
    // A warning latch clears only on a risk state published after the warning:
    // an older one may reach this handler late (another lane).
    const bool clears = latch_->kind != "flash_crash_warning" || cause.at_ns > latch_->at_ns;
    if (clears && config_.resume == ResumeMode::kAuto) {
      latch_.reset();
      reason = "resumed: risk " + std::string(s == RiskState::kActive ? "ACTIVE" : "REDUCING") + " (" + cause.reason + ")";
    } else if (clears) {
      reason = "halted: waiting for an operator resume (risk is " +
               std::string(s == RiskState::kActive ? "ACTIVE" : "REDUCING") + ")";
    }
  } else {
    reason = "risk " + std::string(s == RiskState::kActive ? "ACTIVE" : "REDUCING") + ": " + cause.reason;
  }
  // Waiting for an operator is reported once, when it begins.
  return settle(from, cause, reason, !was_waiting && waiting_for_operator());
}

StateOutcome StrategyInstance::on_flash_crash(const Cause& cause) {
  const RunState from = state();
  if (!trades(cause.symbol)) return StateOutcome{false, from, from, {}, cause, {}, false};
  // The newest warning holds the latch: only a risk state published after it
  // may clear it. Reported even when already halted (by risk, or an earlier
  // warning), so every warning for a traded symbol gets its answer.
  latch_ = cause;
  return settle(from, cause, "flash crash warning on " + cause.symbol + (cause.reason.empty() ? "" : ": " + cause.reason),
                true);
}

StateOutcome StrategyInstance::stop(const Cause& cause) {
  const RunState from = state();
  operator_stopped_ = true;
  return settle(from, cause, "stopped by the operator" + (cause.reason.empty() ? "" : ": " + cause.reason), false);
}

StateOutcome StrategyInstance::resume(const Cause& cause) {
  const RunState from = state();
  operator_stopped_ = false;
  std::string reason = "resumed by the operator";
  // A halt risk still holds is not the operator's to lift here: risk's own
  // resume is (nautilus risk resume); the instance follows risk.
  if (risk_ != RiskState::kHalted) latch_.reset();
  else reason = "risk is HALTED: the instance resumes when risk does";
  return settle(from, cause, reason, false);
}

std::map<std::string, SymbolView> StrategyInstance::symbols() const {
  std::map<std::string, SymbolView> out;
  for (const auto& [sym, st] : symbols_) {
    SymbolView v = st.view;
    v.pending = pending(sym);
    out.emplace(sym, std::move(v));
  }
  return out;
}

}  // namespace nautilus::strategy
