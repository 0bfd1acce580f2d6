#include "engines/risk/risk_engine.h"
#include "engines/payload_fields.h"

#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/message.h"
#include "core/periodic_timer.h"
#include "engines/risk/risk_manager.h"
#include "engines/trade_fields.h"

namespace nautilus {
namespace {

using risk::Decision;
using risk::OrderRequest;
using risk::RiskConfig;
using risk::RiskEvents;
using risk::RiskManager;

constexpr std::int64_t kTickNs = 1'000'000'000;  // periodic re-evaluation

struct Topics {
  std::vector<std::string> trades = {"marketdata.real_time.trade.*"};
  std::vector<std::string> quotes = {"marketdata.real_time.quote.*"};
  std::vector<std::string> vpin = {"vpin.*"};
  std::vector<std::string> positions = {"strategy.position.*", "portfolio.position.*"};
  // Not portfolio.fill.*: the portfolio also publishes the absolute position
  // on portfolio.position.*, and reading both would count each fill twice.
  // Fills are for an executor that publishes no positions.
  std::vector<std::string> fills = {"execution.fill.*"};
  std::vector<std::string> margin = {"collateral.margin.*"};
  std::vector<std::string> orders = {"order.*", "strategy.order.*"};
};

// The engine's section: the RiskConfig keys and `topics`, read by one parse
// for --check-config and start.
struct Settings {
  RiskConfig config;
  Topics topics;
  std::vector<ConfigProblem> problems;
};

Settings parse_settings(const nlohmann::json& section) {
  Settings s;
  ConfigReader r(section);
  ConfigReader t = r.table("topics");
  // Each a pattern or a list of patterns.
  auto read = [&t](const char* key, std::vector<std::string>& out) { out = t.string_or_strings(key, out); };
  read("trades", s.topics.trades);
  read("quotes", s.topics.quotes);
  read("vpin", s.topics.vpin);
  read("positions", s.topics.positions);
  read("fills", s.topics.fills);
  read("margin", s.topics.margin);
  read("orders", s.topics.orders);
  s.config = RiskConfig::read(r);
  r.finish();
  s.problems = r.problems();
  return s;
}

// The symbol: the payload's "symbol" (a string, even empty), else the topic's last segment.
std::string_view symbol_of(const Message& m, std::optional<std::string_view> payload_symbol) {
  if (payload_symbol) return *payload_symbol;
  auto dot = m.topic.rfind('.');
  return dot == std::string::npos ? std::string_view() : std::string_view(m.topic).substr(dot + 1);
}

std::string symbol_of(const Message& m, const nlohmann::json& j) {
  auto s = j.find("symbol");
  return std::string(symbol_of(m, s != j.end() && s->is_string() ? std::optional<std::string_view>(s->get_ref<const std::string&>())
                                                                  : std::nullopt));
}

constexpr auto number = payload::finite_number;

struct Cause {
  std::int64_t origin_ns = 0;
  std::string correlation_id;
  static Cause of(const Message& m) {
    return {m.origin_ns != 0 ? m.origin_ns : m.timestamp_ns,
            !m.correlation_id.empty() ? m.correlation_id : m.id.to_string()};
  }
};

class RiskEngine final : public Engine {
 public:
  std::string_view kind() const override { return "risk"; }
  std::string_view description() const override {
    return "dynamic risk limits, breach alerts, trading state ACTIVE/REDUCING/HALTED, pre-trade checks";
  }
  std::vector<std::string> subscribes_to() const override {
    std::vector<std::string> all;
    for (const auto* v : {&topics_.trades, &topics_.quotes, &topics_.vpin, &topics_.positions, &topics_.fills,
                          &topics_.margin, &topics_.orders}) {
      all.insert(all.end(), v->begin(), v->end());
    }
    return all;
  }
  std::vector<std::string> publishes() const override { return {"risk.alert.*", "risk.state", "risk.decision.*"}; }

  // Control plane: throws std::invalid_argument for a bad request.
  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "check") {
      std::string error;
      auto order = OrderRequest::from_json(args, &error);
      if (!order) throw std::invalid_argument("bad order: " + error);
      std::lock_guard lock(mu_);
      require_manager();
      return manager_->check(*order, clock().now_ns()).to_json();
    }
    if (cmd == "state") {
      std::lock_guard lock(mu_);
      require_manager();
      return manager_->snapshot(clock().now_ns());
    }
    if (cmd == "halt" || cmd == "resume") {
      RiskEvents ev;
      std::string reason = args.is_object() ? args.value("reason", std::string("operator")) : std::string("operator");
      {
        std::lock_guard lock(mu_);
        require_manager();
        ev = cmd == "halt" ? manager_->halt(reason, clock().now_ns()) : manager_->resume(clock().now_ns());
      }
      // Logged even when the state does not change (a halt while HALTED still
      // holds trading until resume; a resume may leave limits in charge).
      log("warn", cmd == "halt" ? "halt requested: " + reason : std::string("resume requested by the operator"));
      publish_events(ev, {clock().now_ns(), {}});
      std::lock_guard lock(mu_);
      return {{"state", risk::to_string(manager_->state())}, {"reason", manager_->state_reason()}};
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
    const Topics topics = settings.topics;
    RiskConfig config = std::move(settings.config);
    // Before the first subscribe: on Redis a backlog can be delivered at once.
    clock_ = &ctx.clock;
    {
      std::lock_guard lock(mu_);
      manager_ = std::make_unique<RiskManager>(std::move(config));
      topics_ = topics;
      vpin_halt_s_ = manager_->config().vpin_halt_ns / 1'000'000'000;
      malformed_ = orders_ = denied_ = alerts_ = 0;
    }
    for (const auto& p : topics.trades) subscribe(BusKind::kMarketData, p, [this](const Message& m) { on_price(m, false); });
    for (const auto& p : topics.quotes) subscribe(BusKind::kMarketData, p, [this](const Message& m) { on_price(m, true); });
    for (const auto* list : {&topics.vpin, &topics.positions, &topics.fills, &topics.margin, &topics.orders}) {
      for (const auto& p : *list) subscribe(BusKind::kEngine, p, [this](const Message& m) { on_engine_message(m); });
    }
    timer_.start(ctx.clock, kTickNs, [this] { tick(); });
  }

  void on_stop() override { timer_.stop(); }

  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    if (!manager_) return nlohmann::json::object();
    nlohmann::json j = manager_->snapshot(clock_ ? clock_->now_ns() : 0);
    j["counters"] = {{"malformed", malformed_}, {"orders", orders_}, {"denied", denied_}, {"alerts", alerts_}};
    return j;
  }

 private:
  void tick() {
    RiskEvents ev;
    const std::int64_t now = clock_->now_ns();
    {
      std::lock_guard lock(mu_);
      ev = manager_->evaluate(now);
    }
    publish_events(ev, {now, {}});
  }

  void require_manager() const {
    if (!manager_) throw std::logic_error("risk engine is not started");
  }

  // Data plane: malformed input is counted and skipped. Every quote and trade
  // comes here, so the fields are read without a parse tree (trade_fields.h).
  void on_price(const Message& m, bool quote) {
    PriceFields f;
    const bool object = read_price_fields(m.payload, f);
    std::optional<double> price;
    if (object) {
      if (quote) {
        if (f.bid && f.ask && *f.bid > 0 && *f.ask > 0) price = (*f.bid + *f.ask) / 2.0;
      } else {
        price = f.price ? f.price : f.close;  // a bar: topics.trades may list bar topics (backtests on bars)
      }
    }
    RiskEvents ev;
    {
      std::lock_guard lock(mu_);
      const std::int64_t now = clock_->now_ns();
      if (!price || !manager_->on_price(object ? std::string(symbol_of(m, f.symbol)) : std::string(), *price, now).is_ok()) {
        ++malformed_;
        return;
      }
      ev = manager_->evaluate(now);
    }
    publish_events(ev, Cause::of(m));
  }

  void on_engine_message(const Message& m) {
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    if (!j.is_object()) {
      std::lock_guard lock(mu_);
      ++malformed_;
      return;
    }
    const std::string symbol = symbol_of(m, j);
    RiskEvents ev;
    std::optional<Decision> decision;
    bool flash_crash = false;
    {
      std::lock_guard lock(mu_);
      const std::int64_t now = clock_->now_ns();
      Status st = Status::ok();
      switch (m.type) {
        case MessageType::kFlashCrashWarning:
          ev = manager_->on_flash_crash_warning(symbol, now, number(j, "vpin"), number(j, "cdf"));
          flash_crash = true;
          break;
        case MessageType::kVpinToxicity: {
          auto vpin = number(j, "vpin");
          if (!vpin) return;  // buckets before n are complete carry no VPIN yet
          st = manager_->on_vpin(symbol, *vpin, number(j, "cdf"), now);
          break;
        }
        case MessageType::kPositionUpdate: {
          auto q = number(j, "quantity");
          if (!q) q = number(j, "position");
          st = q ? manager_->on_position(symbol, *q, number(j, "avg_price"), now)
                 : Status(StatusCode::kInvalidArgument, "no quantity");
          break;
        }
        case MessageType::kFill: {
          std::string error;
          auto o = OrderRequest::from_json(j, &error);  // same shape: symbol, side, quantity, price
          st = (o && o->price) ? manager_->on_fill(o->symbol, o->quantity, *o->price, now)
                               : Status(StatusCode::kInvalidArgument, "bad fill: " + error);
          break;
        }
        case MessageType::kMarginStatus: {
          auto u = number(j, "utilization");
          if (!u) u = number(j, "margin_utilization");
          st = u ? manager_->on_margin(*u, now) : Status(StatusCode::kInvalidArgument, "no utilization");
          break;
        }
        case MessageType::kOrder: {
          std::string error;
          auto o = OrderRequest::from_json(j, &error);
          if (!o) {
            st = Status(StatusCode::kInvalidArgument, "bad order: " + error);
            break;
          }
          if (o->id.empty()) o->id = m.id.to_string();
          decision = manager_->submit(*o, now);
          ++orders_;
          if (!decision->approved) ++denied_;
          break;
        }
        default:
          return;  // another type on a matching topic: not ours
      }
      if (!st.is_ok()) {
        ++malformed_;
        return;
      }
      ev.append(manager_->evaluate(now));
    }
    const Cause cause = Cause::of(m);
    if (flash_crash) {
      // Rare by design (a warning is a crash), so logged each time: a warning
      // while HALTED changes no state but extends the halt.
      std::string what = j.value("message", std::string());
      log("warn", "flash crash warning on " + symbol + (what.empty() ? "" : " (" + what + ")") +
                      ": trading halted for at least " + std::to_string(vpin_halt_s_) + " s");
    }
    if (decision) {
      for (const auto& b : decision->breaches) {
        publish_alert(b, cause);
      }
      auto msg = make_message("risk.decision." + decision->symbol, MessageType::kOrder, decision->to_json().dump(),
                              Priority::kHigh);
      msg->origin_ns = cause.origin_ns;
      msg->correlation_id = m.id.to_string();  // answers this order
      publish(std::move(msg));
    }
    publish_events(ev, cause);
  }

  void publish_alert(const risk::LimitAlert& a, const Cause& cause) {
    auto msg = make_message("risk.alert." + std::string(risk::to_string(a.kind)), MessageType::kRiskAlert,
                            a.to_json().dump(), risk::priority_of(a.level));
    msg->origin_ns = cause.origin_ns;
    msg->correlation_id = cause.correlation_id;
    publish(std::move(msg));
    std::lock_guard lock(mu_);
    ++alerts_;
  }

  void publish_events(const RiskEvents& ev, const Cause& cause) {
    // State first: a HALT must not queue behind the alerts that explain it.
    for (const auto& s : ev.state_changes) {
      log("warn", "trading state " + std::string(risk::to_string(s.from)) + " -> " + std::string(risk::to_string(s.to)) +
                      ": " + s.reason);
      auto msg = make_message("risk.state", MessageType::kRiskAlert, s.to_json().dump(), Priority::kUrgent);
      msg->origin_ns = cause.origin_ns;
      msg->correlation_id = cause.correlation_id;
      publish(std::move(msg));
    }
    for (const auto& a : ev.alerts) publish_alert(a, cause);
  }

  mutable std::mutex mu_;
  std::unique_ptr<RiskManager> manager_;
  Topics topics_;
  Clock* clock_ = nullptr;
  PeriodicTimer timer_;
  std::uint64_t malformed_ = 0, orders_ = 0, denied_ = 0, alerts_ = 0;
  std::int64_t vpin_halt_s_ = 0;  // for the log line
};

}  // namespace

std::unique_ptr<Engine> make_risk_engine() { return std::make_unique<RiskEngine>(); }

}  // namespace nautilus
