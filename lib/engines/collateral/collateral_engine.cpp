#include "engines/collateral/collateral_engine.h"
#include "engines/payload_fields.h"

#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/message.h"
#include "core/periodic_timer.h"
#include "engines/collateral/margin_calculator.h"

namespace nautilus {
namespace {

using collateral::AccountMargin;
using collateral::InstrumentKind;
using collateral::MarginCalculator;
using collateral::MarginRule;

struct Topics {
  std::vector<std::string> fills = {"portfolio.fill.*"};
  std::vector<std::string> positions = {"portfolio.position.*"};
  std::vector<std::string> summary = {"portfolio.summary"};
  std::vector<std::string> quotes = {"marketdata.real_time.quote.*"};
  std::vector<std::string> trades = {"marketdata.real_time.trade.*"};
};

struct Settings {
  std::string account = "paper";
  double initial_cash = 1'000'000.0;  // the portfolio engine's default
  std::int64_t publish_interval_ns = 1'000'000'000;
  MarginRule equity;
  std::map<std::string, MarginRule, std::less<>> instruments;
  Topics topics;
  std::vector<ConfigProblem> problems;
};

// The equity keys over `base` (the section's defaults, or Reg T / FINRA).
void read_equity_rule(ConfigReader& r, MarginRule& rule) {
  rule.long_initial = r.number("long_initial", rule.long_initial, 0.0, 1.0);
  rule.long_maintenance = r.number("long_maintenance", rule.long_maintenance, 0.0, 1.0);
  rule.short_initial = r.number("short_initial", rule.short_initial, 1.0, 10.0);
  rule.short_maintenance = r.number("short_maintenance", rule.short_maintenance, 0.0, 10.0);
  rule.short_min_per_share = r.number("short_min_per_share", rule.short_min_per_share, 0.0, 1e6);
  if (rule.long_maintenance > rule.long_initial) r.problem("long_maintenance", "must not exceed long_initial");
  if (!(rule.long_maintenance < 1.0)) r.problem("long_maintenance", "must be below 1 (a call at every price)");
}

Settings parse_settings(const nlohmann::json& section) {
  Settings s;
  ConfigReader r(section);
  s.account = r.string("account", s.account);
  if (s.account.empty() || s.account.find_first_of(".*? ") != std::string::npos) {
    r.problem("account", "must be a non-empty name without '.', '*', '?' or spaces (it ends a topic)");
  }
  s.initial_cash = r.number("initial_cash", s.initial_cash, -1e15, 1e15);
  s.publish_interval_ns = r.duration_ns("publish_interval", s.publish_interval_ns, 1'000'000, 3'600'000'000'000);
  ConfigReader eq = r.table("equity");
  read_equity_rule(eq, s.equity);
  ConfigReader inst = r.table("instruments");
  for (const auto& symbol : inst.keys()) {
    ConfigReader i = inst.table(symbol);
    const std::string kind = i.one_of("kind", "equity", {"equity", "future", "fx"});
    MarginRule rule = kind == "future" ? MarginRule::future() : kind == "fx" ? MarginRule::fx() : s.equity;
    if (rule.kind == InstrumentKind::kEquity) {
      read_equity_rule(i, rule);
    } else {
      rule.leverage = i.number("leverage", rule.leverage, 0.01, 10'000.0);
      rule.initial_rate = i.number("initial_rate", rule.initial_rate, 0.0, 100.0);
      rule.maintenance_rate = i.number("maintenance_rate", rule.maintenance_rate, 0.0, 100.0);
      if (rule.maintenance_rate > rule.initial_rate) i.problem("maintenance_rate", "must not exceed initial_rate");
      if (!(rule.maintenance_rate < rule.leverage)) {
        i.problem("maintenance_rate", "maintenance_rate / leverage must be below 1 (a call at every price)");
      }
    }
    s.instruments[symbol] = rule;
  }
  ConfigReader t = r.table("topics");
  auto read = [&t](const char* key, std::vector<std::string>& out) { out = t.string_or_strings(key, out); };
  read("fills", s.topics.fills);
  read("positions", s.topics.positions);
  read("summary", s.topics.summary);
  read("quotes", s.topics.quotes);
  read("trades", s.topics.trades);
  r.finish();
  s.problems = r.problems();
  return s;
}

using payload::finite_number;

std::string last_segment(const std::string& topic) {
  auto dot = topic.rfind('.');
  return dot == std::string::npos ? topic : topic.substr(dot + 1);
}

std::string symbol_of(const Message& m, const nlohmann::json& j) {
  if (auto s = j.find("symbol"); s != j.end() && s->is_string()) return s->get<std::string>();
  return last_segment(m.topic);
}

nlohmann::json to_json(const std::string& account, const AccountMargin& a) {
  nlohmann::json positions = nlohmann::json::array();
  for (const auto& p : a.positions) {
    positions.push_back({{"symbol", p.symbol},
                         {"quantity", p.quantity},
                         {"price", p.price},
                         {"market_value", p.market_value},
                         {"initial", p.initial},
                         {"maintenance", p.maintenance},
                         {"call_price", p.call_price ? nlohmann::json(*p.call_price) : nlohmann::json(nullptr)},
                         {"call_note", p.call_note}});
  }
  return {{"account", account},
          {"cash", a.cash},
          {"loan", a.loan},
          {"equity", a.equity},
          {"long_value", a.long_value},
          {"short_value", a.short_value},
          {"initial_requirement", a.initial},
          {"maintenance_requirement", a.maintenance},
          {"excess_liquidity", a.excess_liquidity},
          {"available_funds", a.available_funds},
          {"utilization", a.utilization},
          {"utilization_capped", a.utilization_capped},
          {"margin_call", a.margin_call},
          {"call_amount", a.call_amount},
          {"positions", positions}};
}

class CollateralEngine final : public Engine {
 public:
  std::string_view kind() const override { return "collateral"; }
  std::string_view description() const override {
    return "margin requirements (Reg T / FINRA 4210 equities, futures, FX), equity, utilisation, call prices, margin calls";
  }
  std::vector<std::string> subscribes_to() const override {
    std::lock_guard lock(mu_);
    std::vector<std::string> all;
    for (const auto* v : {&settings_.topics.fills, &settings_.topics.positions, &settings_.topics.summary,
                          &settings_.topics.quotes, &settings_.topics.trades}) {
      all.insert(all.end(), v->begin(), v->end());
    }
    return all;
  }
  std::vector<std::string> publishes() const override { return {"collateral.margin.<account>"}; }

  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "show") {
      std::lock_guard lock(mu_);
      if (!calculator_) throw std::logic_error("collateral engine is not started");
      nlohmann::json j = to_json(settings_.account, current_);
      j["counters"] = counters_json();
      return j;
    }
    return Engine::command(cmd, args);
  }

 protected:
  std::vector<ConfigProblem> config_problems(const nlohmann::json& config) const override {
    return parse_settings(config).problems;
  }

  void on_start(EngineContext& ctx) override {
    Settings s = parse_settings(ctx.config);
    if (!s.problems.empty()) throw std::invalid_argument(join_problems(s.problems));
    {
      std::lock_guard lock(mu_);
      calculator_ = std::make_unique<MarginCalculator>(s.equity, s.instruments);
      settings_ = s;
      cash_ = s.initial_cash;
      held_.clear();
      fills_applied_ = 0;
      counters_ = {};
      last_publish_ns_ = -1;
      published_call_ = false;
      dirty_ = true;
      clock_ = &ctx.clock;
      current_ = calculator_->evaluate(cash_, {});
    }
    const Topics& t = s.topics;
    for (const auto* list : {&t.fills, &t.positions, &t.summary}) {
      for (const auto& p : *list) subscribe(BusKind::kEngine, p, [this](const Message& m) { on_portfolio(m); });
    }
    for (const auto& p : t.quotes) subscribe(BusKind::kMarketData, p, [this](const Message& m) { on_price(m, true); });
    for (const auto& p : t.trades) subscribe(BusKind::kMarketData, p, [this](const Message& m) { on_price(m, false); });
    timer_.start(ctx.clock, s.publish_interval_ns, [this] { flush(); });
  }

  void on_stop() override { timer_.stop(); }

  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    nlohmann::json j = counters_json();
    j["equity"] = current_.equity;
    j["utilization"] = current_.utilization;
    j["margin_call"] = current_.margin_call;
    return j;
  }

 private:
  struct Held {
    double quantity = 0;
    double mark = 0;
    bool market_priced = false;  // a quote or trade has marked it (better than the portfolio's mark)
    bool quoted = false;         // a quote has: trades no longer mark it
  };
  struct Counters {
    std::uint64_t fills = 0, positions = 0, summaries = 0, resyncs = 0, prices = 0, malformed = 0, published = 0,
                  calls = 0;
  };

  nlohmann::json counters_json() const {
    return {{"fills", counters_.fills},         {"position_updates", counters_.positions},
            {"summaries", counters_.summaries}, {"cash_resyncs", counters_.resyncs},
            {"prices", counters_.prices},       {"malformed", counters_.malformed},
            {"published", counters_.published}, {"margin_calls", counters_.calls}};
  }

  // Data plane: malformed input is counted and skipped.
  void on_portfolio(const Message& m) {
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::vector<std::shared_ptr<Message>> out;
    {
      std::lock_guard lock(mu_);
      if (!j.is_object() || !apply_portfolio(m, j)) {
        ++counters_.malformed;
        return;
      }
      reevaluate(out);
    }
    for (auto& msg : out) publish(std::move(msg));
  }

  bool apply_portfolio(const Message& m, const nlohmann::json& j) {
    switch (m.type) {
      case MessageType::kFill: {
        auto q = finite_number(j, "quantity"), price = finite_number(j, "price");
        auto side = j.find("side");
        if (!q || !price || *q < 0 || *price <= 0 || side == j.end() || !side->is_string()) return false;
        const std::string sd = side->get<std::string>();
        if (sd != "buy" && sd != "sell") return false;
        const double signed_q = sd == "buy" ? *q : -*q;
        cash_ -= signed_q * *price + finite_number(j, "commission").value_or(0.0);
        Held& h = held_[symbol_of(m, j)];
        h.quantity = finite_number(j, "position").value_or(h.quantity + signed_q);
        if (!h.market_priced) h.mark = *price;
        ++fills_applied_;
        ++counters_.fills;
        return true;
      }
      case MessageType::kPositionUpdate: {
        auto q = finite_number(j, "quantity");
        if (!q) return false;
        Held& h = held_[symbol_of(m, j)];
        h.quantity = *q;
        if (auto mark = finite_number(j, "mark"); mark && *mark > 0 && !h.market_priced) h.mark = *mark;
        ++counters_.positions;
        return true;
      }
      case MessageType::kPortfolioUpdate: {
        auto cash = finite_number(j, "cash");
        auto fills = finite_number(j, "fills");
        if (!cash) return false;
        ++counters_.summaries;
        // Only a summary that has seen exactly our fills describes our book.
        if (!fills || static_cast<std::uint64_t>(*fills) == fills_applied_) {
          if (cash_ != *cash) ++counters_.resyncs;
          cash_ = *cash;
        }
        return true;
      }
      default:
        return true;  // another type on a matching topic: not ours, not malformed
    }
  }

  void on_price(const Message& m, bool quote) {
    const std::string symbol = last_segment(m.topic);
    std::vector<std::shared_ptr<Message>> out;
    {
      std::lock_guard lock(mu_);
      auto it = held_.find(symbol);
      if (it == held_.end()) return;  // not held: no margin effect
      Held& h = it->second;
      if (!quote && h.quoted) return;
      auto j = nlohmann::json::parse(m.payload, nullptr, false);
      std::optional<double> price;
      if (j.is_object()) {
        if (quote) {
          auto bid = finite_number(j, "bid"), ask = finite_number(j, "ask");
          if (bid && ask && *bid > 0 && *ask >= *bid) price = (*bid + *ask) / 2.0;
        } else {
          price = finite_number(j, "price");
        }
      }
      if (!price || *price <= 0) {
        ++counters_.malformed;
        return;
      }
      ++counters_.prices;
      h.mark = *price;
      h.market_priced = true;
      h.quoted = h.quoted || quote;
      reevaluate(out);
    }
    for (auto& msg : out) publish(std::move(msg));
  }

  void reevaluate(std::vector<std::shared_ptr<Message>>& out) {
    std::vector<collateral::PositionInput> in;
    in.reserve(held_.size());
    for (const auto& [sym, h] : held_) {
      if (h.quantity != 0.0) in.push_back({sym, h.quantity, h.mark});
    }
    current_ = calculator_->evaluate(cash_, in);
    dirty_ = true;
    const std::int64_t now = clock_->now_ns();
    // Entering or leaving a call is news at once; the rest waits its interval.
    if (current_.margin_call != published_call_ || last_publish_ns_ < 0 ||
        now - last_publish_ns_ >= settings_.publish_interval_ns) {
      out.push_back(status_message(now));
    }
  }

  std::shared_ptr<Message> status_message(std::int64_t now) {
    if (current_.margin_call && !published_call_) {
      ++counters_.calls;
      log("warn", "margin call on account " + settings_.account + ": equity " + std::to_string(current_.equity) +
                      " below maintenance " + std::to_string(current_.maintenance));
    }
    published_call_ = current_.margin_call;
    last_publish_ns_ = now;
    dirty_ = false;
    ++counters_.published;
    return make_message("collateral.margin." + settings_.account, MessageType::kMarginStatus,
                        to_json(settings_.account, current_).dump(),
                        current_.margin_call ? Priority::kUrgent : Priority::kNormal);
  }

  void flush() {
    std::shared_ptr<Message> msg;
    {
      std::lock_guard lock(mu_);
      if (!dirty_) return;
      msg = status_message(clock_->now_ns());
    }
    publish(std::move(msg));
  }

  mutable std::mutex mu_;
  Settings settings_;
  std::unique_ptr<MarginCalculator> calculator_;
  std::map<std::string, Held, std::less<>> held_;
  double cash_ = 0;
  std::uint64_t fills_applied_ = 0;
  AccountMargin current_;
  Counters counters_;
  std::int64_t last_publish_ns_ = -1;
  bool published_call_ = false;
  bool dirty_ = false;
  Clock* clock_ = nullptr;
  PeriodicTimer timer_;
};

}  // namespace

std::unique_ptr<Engine> make_collateral_engine() { return std::make_unique<CollateralEngine>(); }

}  // namespace nautilus
