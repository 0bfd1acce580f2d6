#include "engines/strategy/strategy_engine.h"
#include "engines/payload_fields.h"

#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/message.h"
#include "engines/strategy/strategy_instance.h"

namespace nautilus {
namespace {

using strategy::BarFeatures;
using strategy::Cause;
using strategy::InstanceConfig;
using strategy::RunState;
using strategy::StateOutcome;
using strategy::StrategyInstance;

struct Settings {
  std::vector<InstanceConfig> instances;
  std::vector<ConfigProblem> problems;
};

// The engine's section, one parse for --check-config and start.
Settings parse_settings(const nlohmann::json& section) {
  Settings s;
  ConfigReader r(section);
  std::vector<ConfigReader> tables = r.tables("instances");
  std::map<std::string, std::string> owner;  // symbol → instance
  std::set<std::string> names;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    InstanceConfig c = InstanceConfig::read(tables[i]);
    if (!c.name.empty() && !names.insert(c.name).second) tables[i].problem("name", "repeats instance '" + c.name + "'");
    for (std::size_t k = 0; k < c.symbols.size(); ++k) {
      auto [it, fresh] = owner.emplace(c.symbols[k], c.name);
      if (!fresh && it->second != c.name)
        tables[i].problem("symbols[" + std::to_string(k) + "]",
                          "'" + c.symbols[k] + "' is already traded by instance '" + it->second +
                              "' (one instance per symbol: the book's position is the instance's)");
    }
    s.instances.push_back(std::move(c));
  }
  r.finish();
  s.problems = r.problems();
  return s;
}

constexpr auto number = payload::finite_number;

using payload::text;

// The payload's "symbol", else the topic's last segment.
std::string symbol_of(const Message& m, const nlohmann::json& j) {
  std::string s = text(j, "symbol");
  if (!s.empty()) return s;
  auto dot = m.topic.rfind('.');
  return dot == std::string::npos ? std::string() : m.topic.substr(dot + 1);
}

Cause cause_of(const Message& m, std::string kind, std::string symbol, std::string reason) {
  Cause c;
  c.kind = std::move(kind);
  c.symbol = std::move(symbol);
  c.reason = std::move(reason);
  c.origin_ns = m.origin_ns != 0 ? m.origin_ns : m.timestamp_ns;
  c.correlation_id = !m.correlation_id.empty() ? m.correlation_id : m.id.to_string();
  c.at_ns = m.timestamp_ns;
  return c;
}

// A signed quantity from {side, quantity} (or a signed quantity alone).
std::optional<double> signed_quantity(const nlohmann::json& j) {
  auto q = number(j, "quantity");
  if (!q) return std::nullopt;
  const std::string side = text(j, "side");
  if (side == "buy") return std::fabs(*q);
  if (side == "sell") return -std::fabs(*q);
  if (side.empty()) return *q;
  return std::nullopt;
}

class StrategyEngine final : public Engine {
 public:
  std::string_view kind() const override { return "strategy"; }
  std::string_view description() const override {
    return "configurable signal strategies (ma_crossover, mean_reversion, momentum) gated by the ml regime; "
           "orders through risk; stop on risk halts and flash crash warnings";
  }
  std::vector<std::string> subscribes_to() const override {
    std::lock_guard lock(mu_);
    std::vector<std::string> all;
    for (const auto& i : intervals_) all.push_back("features." + i + ".*");
    for (const char* p : {"ml.regime.*", "portfolio.*", "risk.decision.*", "risk.state", "vpin.alert.*"}) all.emplace_back(p);
    return all;
  }
  std::vector<std::string> publishes() const override {
    return {"strategy.signal.*", "strategy.order.*", "strategy.cancel.*", "strategy.state.*"};
  }

  // Control plane.
  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "list") {
      std::lock_guard lock(mu_);
      nlohmann::json list = nlohmann::json::array();
      for (const auto& inst : instances_) list.push_back(describe(*inst));
      return {{"instances", list}};
    }
    if (cmd == "stop" || cmd == "resume") {
      if (!args.is_object() || !args.contains("name") || !args["name"].is_string())
        throw std::invalid_argument("expected {\"name\": \"<instance>\"}");
      const std::string name = args["name"].get<std::string>();
      const std::string reason = args.value("reason", std::string());
      std::lock_guard lock(mu_);
      StrategyInstance& inst = find(name);
      Cause c;
      c.kind = "operator";
      c.reason = reason;
      c.origin_ns = c.at_ns = clock().now_ns();
      const StateOutcome out = cmd == "stop" ? inst.stop(c) : inst.resume(c);
      if (out.changed) {
        log("warn", "instance '" + name + "' " + std::string(strategy::to_string(out.from)) + " -> " +
                        std::string(strategy::to_string(out.to)) + ": " + out.reason);
      }
      publish_state(inst, out);
      return describe(inst);
    }
    return Engine::command(cmd, args);
  }

 protected:
  std::vector<ConfigProblem> config_problems(const nlohmann::json& config) const override {
    return parse_settings(config).problems;
  }

  void on_start(EngineContext& ctx) override {
    Settings settings = parse_settings(ctx.config);
    if (!settings.problems.empty()) throw std::invalid_argument(join_problems(settings.problems));
    std::set<std::string> intervals;
    {
      std::lock_guard lock(mu_);
      instances_.clear();
      by_symbol_.clear();
      // The start time in the ids keeps them unique across restarts.
      const std::string start = std::to_string(ctx.clock.now_ns());
      for (auto& c : settings.instances) {
        intervals.insert(c.interval);
        const std::string prefix = c.name + "-" + start;
        instances_.push_back(std::make_unique<StrategyInstance>(std::move(c), prefix));
        for (const auto& s : instances_.back()->config().symbols) by_symbol_[s] = instances_.back().get();
      }
      intervals_.assign(intervals.begin(), intervals.end());
      counters_ = {};
    }
    for (const auto& interval : intervals) {
      subscribe(BusKind::kEngine, "features." + interval + ".*", [this, interval](const Message& m) { on_features(m, interval); });
    }
    subscribe(BusKind::kEngine, "ml.regime.*", [this](const Message& m) { on_regime(m); });
    // One subscription for fills and positions, so a fill is never handled
    // after a position update published behind it.
    subscribe(BusKind::kEngine, "portfolio.*", [this](const Message& m) { on_portfolio(m); });
    subscribe(BusKind::kEngine, "risk.decision.*", [this](const Message& m) { on_decision(m); });
    subscribe(BusKind::kEngine, "risk.state", [this](const Message& m) { on_risk_state(m); });
    subscribe(BusKind::kEngine, "vpin.alert.*", [this](const Message& m) { on_flash_crash(m); });
  }

  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    nlohmann::json symbols = nlohmann::json::object();
    nlohmann::json instances = nlohmann::json::object();
    for (const auto& inst : instances_) {
      const std::string state(strategy::to_string(inst->state()));
      for (const auto& [sym, v] : inst->symbols()) {
        symbols[sym] = {{"instance", inst->config().name},
                        {"state", state},
                        {"position", v.position},
                        {"pending", v.pending},
                        {"target", v.target},
                        {"signal", v.signal ? std::string(strategy::to_string(*v.signal)) : std::string("-")},
                        {"regime", v.regime.empty() ? std::string("-") : v.regime},
                        {"last_price", v.last_price},
                        {"orders", v.orders},
                        {"fills", v.fills},
                        {"denied", v.denied},
                        {"cancelled", v.cancelled},
                        {"held_back", v.held_back}};
      }
      instances[inst->config().name] = {{"kind", inst->config().kind},
                                        {"state", state},
                                        {"reason", inst->state_reason()},
                                        {"open_orders", inst->open_orders()},
                                        {"waiting_for_operator", inst->waiting_for_operator()},
                                        {"fills_after_cancel", inst->fills_after_cancel()}};
    }
    return {{"symbols", symbols},
            {"instances", instances},
            {"counters",
             {{"bars", counters_.bars},
              {"signals", counters_.signals},
              {"orders", counters_.orders},
              {"cancels", counters_.cancels},
              {"held_back", counters_.held_back},
              {"halts", counters_.halts},
              {"malformed", counters_.malformed},
              {"unmatched", counters_.unmatched}}}};
  }

 private:
  struct Counters {
    std::uint64_t bars = 0, signals = 0, orders = 0, cancels = 0, held_back = 0, halts = 0, malformed = 0,
                  unmatched = 0;
  };

  StrategyInstance& find(const std::string& name) {
    for (auto& inst : instances_) {
      if (inst->config().name == name) return *inst;
    }
    std::string known;
    for (const auto& inst : instances_) known += (known.empty() ? "" : ", ") + inst->config().name;
    throw std::out_of_range("no strategy instance '" + name + "'" + (known.empty() ? " (none configured)" : " (known: " + known + ")"));
  }

  static nlohmann::json describe(const StrategyInstance& inst) {
    const auto& c = inst.config();
    nlohmann::json positions = nlohmann::json::object();
    for (const auto& [sym, v] : inst.symbols()) positions[sym] = v.position;
    nlohmann::json j = {{"name", c.name},
                        {"kind", c.kind},
                        {"symbols", c.symbols},
                        {"interval", c.interval},
                        {"state", strategy::to_string(inst.state())},
                        {"reason", inst.state_reason()},
                        {"resume", c.resume == strategy::ResumeMode::kAuto ? "auto" : "manual"},
                        {"waiting_for_operator", inst.waiting_for_operator()},
                        {"open_orders", inst.open_orders()},
                        {"positions", positions}};
    if (const auto& h = inst.halt()) {
      j["halt"] = {{"cause", h->kind}, {"symbol", h->symbol}, {"reason", h->reason},
                   {"origin_ns", h->origin_ns}, {"correlation_id", h->correlation_id}};
    }
    return j;
  }

  // Data plane: malformed input is counted and skipped; nothing throws here.
  void on_features(const Message& m, const std::string& interval) {
    if (m.type != MessageType::kFeatureUpdate) return;
    const auto j = nlohmann::json::parse(m.payload, nullptr, false);
    auto bar = BarFeatures::from_json(j, nullptr);
    std::lock_guard lock(mu_);
    if (!bar) {
      ++counters_.malformed;
      return;
    }
    auto it = by_symbol_.find(bar->symbol);
    if (it == by_symbol_.end() || it->second->config().interval != interval) {
      ++counters_.unmatched;
      return;
    }
    ++counters_.bars;
    StrategyInstance& inst = *it->second;
    const strategy::BarOutcome out = inst.on_bar(*bar);
    if (out.signal_changed) publish_signal(inst, *bar, out, m);
    if (!out.held_back.empty()) ++counters_.held_back;
    // Published under the lock: a halt handled before this point has already
    // made on_bar() hold the order back; one handled after it cancels it.
    if (out.order) publish_order(inst, *out.order, m);
  }

  void on_regime(const Message& m) {
    if (m.type != MessageType::kRegimeChange) return;
    const auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::lock_guard lock(mu_);
    const std::string regime = j.is_object() ? text(j, "regime") : std::string();
    if (regime.empty()) {
      ++counters_.malformed;
      return;
    }
    auto it = by_symbol_.find(symbol_of(m, j));
    if (it != by_symbol_.end()) it->second->on_regime(it->first, regime);
  }

  void on_portfolio(const Message& m) {
    if (m.type != MessageType::kFill && m.type != MessageType::kPositionUpdate) return;
    const auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::lock_guard lock(mu_);
    if (!j.is_object()) {
      ++counters_.malformed;
      return;
    }
    auto it = by_symbol_.find(symbol_of(m, j));
    if (it == by_symbol_.end()) return;  // a symbol no instance trades
    if (m.type == MessageType::kPositionUpdate) {
      auto q = number(j, "quantity");
      if (!q) q = number(j, "position");
      if (!q) {
        ++counters_.malformed;
        return;
      }
      it->second->on_position(it->first, *q);
      return;
    }
    std::string id = text(j, "order_id");
    if (id.empty()) id = m.correlation_id;
    const auto q = signed_quantity(j);
    if (!q) {
      ++counters_.malformed;
      return;
    }
    it->second->on_fill(id, *q);  // false: another client's order on our symbol
  }

  void on_decision(const Message& m) {
    const auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::lock_guard lock(mu_);
    if (!j.is_object() || !j.contains("approved") || !j["approved"].is_boolean()) {
      ++counters_.malformed;
      return;
    }
    std::string id = text(j, "order_id");
    if (id.empty()) id = m.correlation_id;
    auto it = by_symbol_.find(symbol_of(m, j));
    if (it != by_symbol_.end()) it->second->on_decision(id, j["approved"].get<bool>());
  }

  void on_risk_state(const Message& m) {
    const auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::optional<strategy::RiskState> s;
    if (j.is_object()) s = strategy::parse_risk_state(text(j, "state").empty() ? text(j, "to") : text(j, "state"));
    std::lock_guard lock(mu_);
    if (!s) {
      ++counters_.malformed;
      return;
    }
    const Cause c = cause_of(m, "risk_state", "", text(j, "reason"));
    for (auto& inst : instances_) {
      const StateOutcome out = inst->on_risk_state(*s, c);
      if (out.changed && out.to == RunState::kHalted && out.from != RunState::kHalted) ++counters_.halts;
      publish_state(*inst, out);
    }
  }

  void on_flash_crash(const Message& m) {
    if (m.type != MessageType::kFlashCrashWarning) return;
    const auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::lock_guard lock(mu_);
    const std::string symbol = j.is_object() ? symbol_of(m, j) : std::string();
    if (symbol.empty()) {
      ++counters_.malformed;
      return;
    }
    auto it = by_symbol_.find(symbol);
    if (it == by_symbol_.end()) return;  // a symbol no instance trades
    std::string what = text(j, "message");
    if (what.empty()) {
      if (auto cdf = number(j, "cdf")) what = "VPIN CDF " + std::to_string(*cdf);
    }
    const StateOutcome out = it->second->on_flash_crash(cause_of(m, "flash_crash_warning", symbol, what));
    if (out.changed && out.to == RunState::kHalted && out.from != RunState::kHalted) ++counters_.halts;
    publish_state(*it->second, out);
  }

  // The publishers below run with mu_ held.

  void publish_signal(const StrategyInstance& inst, const BarFeatures& bar, const strategy::BarOutcome& out,
                      const Message& cause) {
    nlohmann::json p = {{"instance", inst.config().name},
                        {"kind", inst.config().kind},
                        {"symbol", bar.symbol},
                        {"signal", strategy::to_string(out.signal)},
                        {"direction", static_cast<int>(out.signal)},
                        {"raw_signal", strategy::to_string(*out.raw)},
                        {"regime", out.regime.empty() ? nlohmann::json() : nlohmann::json(out.regime)},
                        {"price", bar.close},
                        {"target", out.target},
                        {"bar_index", bar.bar_index},
                        {"interval", bar.interval},
                        {"state", strategy::to_string(inst.state())}};
    auto msg = make_message("strategy.signal." + inst.config().name + "." + bar.symbol, MessageType::kTradingSignal,
                            p.dump(), Priority::kHigh);
    carry(*msg, cause);
    publish(std::move(msg));
    ++counters_.signals;
  }

  void publish_order(const StrategyInstance& inst, const strategy::OrderIntent& o, const Message& cause) {
    nlohmann::json p = {{"id", o.id},
                        {"symbol", o.symbol},
                        {"side", o.quantity > 0 ? "buy" : "sell"},
                        {"quantity", std::fabs(o.quantity)},
                        {"order_type", "market"},
                        {"instance", inst.config().name},
                        {"reduces_exposure", o.reduces},
                        {"reference_price", o.reference_price}};
    auto msg = make_message("strategy.order." + o.symbol, MessageType::kOrder, p.dump(), Priority::kHigh);
    carry(*msg, cause);
    publish(std::move(msg));
    ++counters_.orders;
  }

  void publish_state(const StrategyInstance& inst, const StateOutcome& out) {
    if (!out.changed) return;
    const std::string& name = inst.config().name;
    // Cancels first: they are what keeps an order already out from filling.
    nlohmann::json cancelled = nlohmann::json::array();
    for (const auto& c : out.cancels) {
      nlohmann::json p = {{"action", "cancel"}, {"id", c.id},           {"symbol", c.symbol},
                          {"instance", name},   {"remaining", c.remaining}, {"reason", out.reason}};
      auto msg = make_message("strategy.cancel." + c.symbol, MessageType::kOrder, p.dump(), Priority::kUrgent);
      msg->origin_ns = out.cause.origin_ns;
      msg->correlation_id = out.cause.correlation_id;
      publish(std::move(msg));
      cancelled.push_back(c.id);
      ++counters_.cancels;
    }
    nlohmann::json p = {{"instance", name},
                        {"state", strategy::to_string(out.to)},
                        {"previous", strategy::to_string(out.from)},
                        {"reason", out.reason},
                        {"cause", out.cause.kind},
                        {"symbol", out.cause.symbol.empty() ? nlohmann::json() : nlohmann::json(out.cause.symbol)},
                        {"halt_origin_ns", out.cause.origin_ns},
                        {"halt_correlation_id", out.cause.correlation_id},
                        {"cancelled", cancelled},
                        {"open_orders", inst.open_orders()},
                        {"waiting_for_operator", out.waiting_for_operator}};
    auto msg = make_message("strategy.state." + name, MessageType::kEngineStatus, p.dump(), Priority::kUrgent);
    msg->origin_ns = out.cause.origin_ns;
    msg->correlation_id = out.cause.correlation_id;
    publish(std::move(msg));
    if (out.from != out.to && out.cause.kind != "operator") {
      log("warn", "instance '" + name + "' " + std::string(strategy::to_string(out.from)) + " -> " +
                      std::string(strategy::to_string(out.to)) + ": " + out.reason);
    }
  }

  static void carry(Message& msg, const Message& cause) {
    msg.origin_ns = cause.origin_ns != 0 ? cause.origin_ns : cause.timestamp_ns;
    msg.correlation_id = !cause.correlation_id.empty() ? cause.correlation_id : cause.id.to_string();
  }

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<StrategyInstance>> instances_;
  std::map<std::string, StrategyInstance*> by_symbol_;
  std::vector<std::string> intervals_;
  Counters counters_;
};

}  // namespace

std::unique_ptr<Engine> make_strategy_engine() { return std::make_unique<StrategyEngine>(); }

}  // namespace nautilus
