// breakout: a small strategy engine written against the nautilus SDK and
// loaded into nautilusd as a plugin (see README.md). For each symbol it keeps
// the last `lookback` trade prices; a trade above all of them is a buy
// signal, below all of them a sell signal, published as `trading_signal` on
// custom.signal.<symbol>. While the risk engine says HALTED it publishes
// nothing (and counts what it held back); any other risk state resumes it.
#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

#include <nautilus/core/message.h>
#include <nautilus/engines/payload_fields.h>
#include <nautilus/engines/plugin.h>

namespace {

using nautilus::BusKind;
using nautilus::ConfigProblem;
using nautilus::ConfigReader;
using nautilus::Message;

struct BreakoutConfig {
  std::int64_t lookback = 5;
  std::set<std::string> symbols;  // empty: every symbol
  std::string fault_topic;        // "" = none; see README (the supervisor at work)
};

// The whole [engines.<name>] section; one parse for config_problems and on_start.
BreakoutConfig read_config(ConfigReader& r) {
  BreakoutConfig c;
  c.lookback = r.integer("lookback", c.lookback, 1, 10'000);
  for (auto& s : r.strings("symbols", {})) c.symbols.insert(std::move(s));
  c.fault_topic = r.string("fault_topic", "");
  r.finish();
  return c;
}

class BreakoutEngine final : public nautilus::Engine {
 public:
  std::string_view kind() const override { return "breakout"; }
  std::string_view description() const override {
    return "example plugin: breakout signals over the last N trades; silent while risk is HALTED";
  }
  std::vector<std::string> subscribes_to() const override {
    return {"marketdata.real_time.trade.*", "risk.state"};
  }
  std::vector<std::string> publishes() const override { return {"custom.signal.<symbol>"}; }

  std::vector<ConfigProblem> config_problems(const nlohmann::json& config) const override {
    ConfigReader r(config);
    (void)read_config(r);
    return r.problems();
  }

 protected:
  void on_start(nautilus::EngineContext& ctx) override {
    ConfigReader r(ctx.config);
    BreakoutConfig c = read_config(r);
    r.throw_if_problems();
    {
      std::lock_guard lock(mu_);
      config_ = c;
      windows_.clear();
    }
    subscribe(BusKind::kMarketData, "marketdata.real_time.trade.*", [this](const Message& m) { on_trade(m); });
    subscribe(BusKind::kEngine, "risk.state", [this](const Message& m) { on_risk_state(m); });
    if (!c.fault_topic.empty()) {
      subscribe(BusKind::kEngine, c.fault_topic, [](const Message& m) {
        throw std::runtime_error("fault requested on " + m.topic);
      });
    }
  }

  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    return {{"trades", trades_.load()},    {"signals", signals_.load()}, {"held_back", held_back_.load()},
            {"halted", halted_.load()},    {"symbols", windows_.size()}, {"lookback", config_.lookback}};
  }

 private:
  void on_trade(const Message& m) {
    nlohmann::json j = nlohmann::json::parse(m.payload, nullptr, false);
    if (!j.is_object()) return;
    auto price = nautilus::payload::finite_number(j, "price");
    std::string symbol = nautilus::payload::text(j, "symbol");
    if (!price || symbol.empty()) return;
    ++trades_;
    std::string side;
    {
      std::lock_guard lock(mu_);
      if (!config_.symbols.empty() && !config_.symbols.count(symbol)) return;
      std::deque<double>& window = windows_[symbol];
      if (static_cast<std::int64_t>(window.size()) == config_.lookback) {
        auto [lo, hi] = std::minmax_element(window.begin(), window.end());
        if (*price > *hi) side = "buy";
        if (*price < *lo) side = "sell";
        window.pop_front();
      }
      window.push_back(*price);
    }
    if (side.empty()) return;
    if (halted_) {
      ++held_back_;
      return;
    }
    nlohmann::json signal = {{"symbol", symbol}, {"side", side}, {"price", *price}, {"strategy", name()}};
    auto out = nautilus::make_message("custom.signal." + symbol, nautilus::MessageType::kTradingSignal, signal.dump());
    out->origin_ns = m.origin_ns;  // the chain latency runs from the tick
    if (publish(std::move(out))) ++signals_;
  }

  // {"state": "HALTED"|"REDUCING"|"ACTIVE", "reason": ...}
  void on_risk_state(const Message& m) {
    nlohmann::json j = nlohmann::json::parse(m.payload, nullptr, false);
    if (!j.is_object()) return;
    std::string state = nautilus::payload::text(j, "state");
    if (state.empty()) return;
    bool halt = state == "HALTED";
    if (halt != halted_.exchange(halt)) {
      log("warn", halt ? "risk HALTED (" + nautilus::payload::text(j, "reason") + "): no more signals"
                       : "risk " + state + ": signals resume");
    }
  }

  mutable std::mutex mu_;  // config_, windows_
  BreakoutConfig config_;
  std::map<std::string, std::deque<double>> windows_;
  std::atomic<std::uint64_t> trades_{0}, signals_{0}, held_back_{0};
  std::atomic<bool> halted_{false};
};

}  // namespace

NAUTILUS_ENGINE_PLUGIN(BreakoutEngine, "breakout",
                       "example plugin: breakout signals over the last N trades; silent while risk is HALTED")
