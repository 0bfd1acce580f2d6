#include "engines/portfolio/portfolio_engine.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/message.h"
#include "core/periodic_timer.h"
#include "engines/portfolio/optimizer.h"
#include "engines/portfolio/paper_execution.h"
#include "engines/portfolio/positions.h"
#include "engines/trade_fields.h"

namespace nautilus {
namespace {

using portfolio::ExecutionConfig;
using portfolio::FillEffect;
using portfolio::OrderType;
using portfolio::PaperExecutor;
using portfolio::PaperFill;
using portfolio::PaperOrder;
using portfolio::Position;
using portfolio::PositionBook;

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSec = 1'000 * kMs;
constexpr std::size_t kMaxOrphanDecisions = 4096;
constexpr std::size_t kMaxRefusedRemembered = 4096;

constexpr std::string_view kQuotePrefix = "marketdata.real_time.quote.";
constexpr std::string_view kTradePrefix = "marketdata.real_time.trade.";
constexpr std::string_view kBarPrefix = "marketdata.real_time.bar.";

// The engine's section, read by one parse for --check-config and start.
struct Settings {
  double initial_cash = 1'000'000.0;
  std::vector<std::string> symbols;  // empty: any symbol with market data
  ExecutionConfig execution;
  std::int64_t summary_interval_ns = kSec;
  std::int64_t decision_grace_ns = kSec;
  std::int64_t sample_interval_ns = kSec;
  std::int64_t history_length = 2'000;
  std::int64_t periods_per_year = 252;
  std::int64_t max_open_orders = 10'000;
  double quantity_step = 1.0;
  bool cancel_on_halt = true;
  std::vector<ConfigProblem> problems;
};

Settings parse_settings(const nlohmann::json& section) {
  Settings s;
  ConfigReader r(section);
  s.initial_cash = r.number("initial_cash", s.initial_cash, 0.0, 1e15);
  s.symbols = r.strings("symbols", {});
  ExecutionConfig& e = s.execution;
  e.commission_per_share = r.number("commission_per_share", 0.0, 0.0, 1e6);
  e.commission_bps = r.number("commission_bps", 0.0, 0.0, 1e4);
  e.commission_min = r.number("commission_min", 0.0, 0.0, 1e9);
  e.slippage_bps = r.number("slippage_bps", 0.0, 0.0, 1e4);
  e.slippage_ticks = r.number("slippage_ticks", 0.0, 0.0, 1e6);
  e.tick_size = r.number("tick_size", 0.01, 1e-12, 1e6);
  // The backtest's fill and latency model (paper_execution.h); 0 = off.
  e.max_volume_share = r.number("max_volume_share", 0.0, 0.0, 1.0);
  e.latency_ns = r.duration_ns("latency", 0, 0, 3'600 * kSec);
  e.latency_jitter_ns = r.duration_ns("latency_jitter", 0, 0, 3'600 * kSec);
  e.latency_seed = static_cast<std::uint64_t>(r.integer("latency_seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
  e.fill_on_trades = r.boolean("fill_on_trades", false);
  s.summary_interval_ns = r.duration_ns("summary_interval", s.summary_interval_ns, kMs, 3'600 * kSec);
  s.decision_grace_ns = r.duration_ns("decision_grace", s.decision_grace_ns, kMs, 60 * kSec);
  s.sample_interval_ns = r.duration_ns("sample_interval", s.sample_interval_ns, kMs, 86'400 * kSec);
  s.history_length = r.integer("history_length", s.history_length, 3, 1'000'000);
  s.periods_per_year = r.integer("periods_per_year", s.periods_per_year, 1, 1'000'000'000);
  s.max_open_orders = r.integer("max_open_orders", s.max_open_orders, 1, 10'000'000);
  s.quantity_step = r.number("quantity_step", s.quantity_step, 1e-12, 1e9);
  s.cancel_on_halt = r.boolean("cancel_on_halt", s.cancel_on_halt);
  r.finish();
  s.problems = r.problems();
  return s;
}

std::optional<double> finite_number(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

// The topic's part after `prefix` (or its last segment).
std::string topic_symbol(const Message& m, std::string_view prefix) {
  if (!prefix.empty() && m.topic.size() > prefix.size() && m.topic.compare(0, prefix.size(), prefix) == 0) {
    return m.topic.substr(prefix.size());
  }
  auto dot = m.topic.rfind('.');
  return dot == std::string::npos ? std::string() : m.topic.substr(dot + 1);
}

// The payload's "symbol", else the topic's (topic_symbol).
std::string symbol_of(const Message& m, const nlohmann::json& j, std::string_view prefix = {}) {
  if (auto s = j.find("symbol"); s != j.end() && s->is_string() && !s->get<std::string>().empty()) {
    return s->get<std::string>();
  }
  return topic_symbol(m, prefix);
}
std::string symbol_of(const Message& m, const PriceFields& f, std::string_view prefix) {
  return f.symbol && !f.symbol->empty() ? std::string(*f.symbol) : topic_symbol(m, prefix);
}

// The payload's integer "ts_ns", else the message's time.
std::int64_t market_time(const Message& m, const PriceFields& f) { return f.ts_ns.value_or(m.timestamp_ns); }

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

// An order as seen on strategy.order.*, waiting for its decision.
struct TrackedOrder {
  PaperOrder order;
  std::int64_t seen_ns = 0;
};

struct OrphanDecision {
  MessagePtr message;
  std::int64_t seen_ns = 0;
};

// What a handler decided to publish, built under the lock, sent after it.
using Outbox = std::vector<std::shared_ptr<Message>>;

class PortfolioEngine final : public Engine {
 public:
  std::string_view kind() const override { return "portfolio"; }
  std::string_view description() const override {
    return "paper execution of approved orders, average-cost positions, realized/unrealized P&L, rebalancing, "
           "optimization (min variance, max Sharpe, efficient risk, risk parity)";
  }
  std::vector<std::string> subscribes_to() const override {
    return {std::string(kQuotePrefix) + "*", std::string(kTradePrefix) + "*", std::string(kBarPrefix) + "*",
            "strategy.order.*", "strategy.cancel.*", "risk.decision.*", "risk.state"};
  }
  std::vector<std::string> publishes() const override {
    return {"portfolio.fill.*", "portfolio.position.*", "portfolio.summary", "strategy.order.*"};
  }

  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "show" || cmd == "status") {
      std::lock_guard lock(mu_);
      require_started();
      nlohmann::json j = summary_json();
      j["positions"] = positions_json();
      j["counters"] = counters_json();
      j["pending_orders"] = pending_json();
      return j;
    }
    if (cmd == "positions") {
      std::lock_guard lock(mu_);
      require_started();
      return {{"positions", positions_json()}};
    }
    if (cmd == "pnl") {
      std::lock_guard lock(mu_);
      require_started();
      return pnl_json();
    }
    if (cmd == "optimize" || cmd == "optimise") return optimize(args);
    if (cmd == "rebalance") return rebalance(args);
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
      settings_ = s;
      book_ = std::make_unique<PositionBook>(s.initial_cash);
      executor_ = std::make_unique<PaperExecutor>(s.execution);
      known_ = std::set<std::string>(s.symbols.begin(), s.symbols.end());
      orders_.clear();
      order_queue_.clear();
      orphans_.clear();
      refused_.clear();
      refused_queue_.clear();
      history_.clear();
      counters_ = {};
      halted_ = false;
      risk_state_ = "UNKNOWN";
      last_summary_ns_ = -1;
      summary_dirty_ = true;
      clock_ = &ctx.clock;
    }
    subscribe(BusKind::kMarketData, std::string(kQuotePrefix) + "*", [this](const Message& m) { on_quote(m); });
    subscribe(BusKind::kMarketData, std::string(kTradePrefix) + "*", [this](const Message& m) { on_trade(m); });
    subscribe(BusKind::kMarketData, std::string(kBarPrefix) + "*", [this](const Message& m) { on_bar(m); });
    subscribe(BusKind::kEngine, "strategy.order.*", [this](const Message& m) { on_order(m); });
    subscribe(BusKind::kEngine, "strategy.cancel.*", [this](const Message& m) { on_cancel(m); });
    // Decisions and risk.state on ONE subscription, so one thread sees them in
    // the order risk published them (its urgent lane, the state, first): a
    // HALT that was out before an approval can never be read after it.
    subscribe(BusKind::kEngine, "risk.*", [this](const Message& m) {
      const std::string_view topic = m.topic;
      if (topic.starts_with("risk.decision.")) on_decision(m);
      else if (topic == "risk.state") on_risk_state(m);
    });
    summary_timer_.start(ctx.clock, s.summary_interval_ns, [this] { on_summary_tick(); });
    sample_timer_.start(ctx.clock, s.sample_interval_ns, [this] { on_sample_tick(); });
  }

  void on_stop() override {
    summary_timer_.stop();
    sample_timer_.stop();
  }

  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    if (!book_) return nlohmann::json::object();
    nlohmann::json symbols = nlohmann::json::object();
    for (const auto& [sym, p] : book_->positions()) {
      if (p.fills == 0) continue;  // only marked, never traded
      symbols[sym] = {{"qty", p.quantity},
                      {"avg", p.avg_price},
                      {"last", opt(p.mark())},
                      {"unrealised", p.unrealized_pnl()},
                      {"realised", p.realized_pnl}};
    }
    nlohmann::json j = summary_json();
    j["symbols"] = symbols;
    j["counters"] = counters_json();
    j["pending_orders"] = executor_->pending();
    j["awaiting_decision"] = orders_.size();
    return j;
  }

 private:
  struct Counters {
    std::uint64_t orders = 0, approved = 0, rejected = 0, fills = 0;
    std::uint64_t bad_orders = 0, unknown_symbol_orders = 0, unknown_decisions = 0, bad_decisions = 0;
    std::uint64_t bad_quotes = 0, bad_trades = 0, bad_bars = 0;
    std::uint64_t cancelled_on_halt = 0, evicted_orders = 0, rebalance_orders = 0, summaries = 0;
    std::uint64_t dropped_while_halted = 0, clipped_while_halted = 0, cancels = 0, unknown_cancels = 0;
  };

  void require_started() const {
    if (!book_) throw std::logic_error("portfolio engine is not started");
  }

  bool known(const std::string& symbol) const { return known_.count(symbol) != 0; }
  // A symbol becomes known with its first market data, unless `symbols` fixes the set.
  bool admit(const std::string& symbol) {
    if (symbol.empty()) return false;
    if (known(symbol)) return true;
    if (!settings_.symbols.empty()) return false;
    known_.insert(symbol);
    return true;
  }

  std::int64_t now() const { return clock_->now_ns(); }

  // ---- data plane: market data ------------------------------------------

  // Quotes and trades arrive on every market data message: their fields are
  // read without a parse tree (trade_fields.h), the same values nlohmann gave.
  void on_quote(const Message& m) {
    PriceFields f;
    const bool object = read_price_fields(m.payload, f);
    Outbox out;
    {
      std::lock_guard lock(mu_);
      if (!object) {
        ++counters_.bad_quotes;
        return;
      }
      const std::string symbol = symbol_of(m, f, kQuotePrefix);
      const auto bid = f.bid, ask = f.ask;
      // Checked before anything is touched, so a bad quote changes nothing.
      if (!bid || !ask || *bid <= 0.0 || *ask <= 0.0 || *bid > *ask || symbol.empty()) {
        ++counters_.bad_quotes;
        return;
      }
      if (!admit(symbol)) return;
      if (!book_->set_quote(symbol, *bid, *ask).is_ok()) {
        ++counters_.bad_quotes;
        return;
      }
      fills_.clear();
      if (!executor_->on_quote(symbol, *bid, *ask, market_time(m, f), fills_).is_ok()) ++counters_.bad_quotes;
      book_fills(out);
      mark_changed(symbol, out);
    }
    send(out);
  }

  void on_trade(const Message& m) {
    PriceFields f;
    const bool object = read_price_fields(m.payload, f);
    Outbox out;
    {
      std::lock_guard lock(mu_);
      const auto price = object ? f.price : std::nullopt;
      const std::string symbol = object ? symbol_of(m, f, kTradePrefix) : std::string();
      if (!price || *price <= 0.0 || symbol.empty()) {
        ++counters_.bad_trades;
        return;
      }
      if (!admit(symbol)) return;
      fills_.clear();
      (void)executor_->on_trade(symbol, *price, market_time(m, f), fills_);  // price > 0 checked above
      book_fills(out);
      (void)book_->set_last(symbol, *price);  // checked above
      mark_changed(symbol, out);
    }
    send(out);
  }

  void on_bar(const Message& m) {
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    Outbox out;
    {
      std::lock_guard lock(mu_);
      if (!j.is_object()) {
        ++counters_.bad_bars;
        return;
      }
      const std::string symbol = symbol_of(m, j, kBarPrefix);
      auto open = finite_number(j, "open"), high = finite_number(j, "high"), low = finite_number(j, "low"),
           close = finite_number(j, "close");
      auto start = j.find("start_ns");
      if (!open || !high || !low || !close || *close <= 0.0 || start == j.end() || !start->is_number_integer() ||
          symbol.empty()) {
        ++counters_.bad_bars;
        return;
      }
      if (!admit(symbol)) return;
      fills_.clear();
      const double volume = finite_number(j, "volume").value_or(-1.0);  // absent: no volume cap
      if (!executor_->on_bar(symbol, start->get<std::int64_t>(), *open, *high, *low, fills_, volume).is_ok()) {
        ++counters_.bad_bars;
        return;
      }
      book_fills(out);
      // After the fills (a fill sets the last price to its own, the open): the
      // bar's close is the later price, what the position is worth now.
      (void)book_->set_last(symbol, *close);  // close > 0 checked above
      mark_changed(symbol, out);
    }
    send(out);
  }

  // ---- data plane: orders and decisions ----------------------------------

  void on_order(const Message& m) {
    if (m.type != MessageType::kOrder) return;  // another type on a matching topic: not ours
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::lock_guard lock(mu_);
    {
      const std::string key = m.id.to_string();  // what risk answers with as correlation_id
      PaperOrder o;
      std::string why;
      if (!parse_order(m, j, o, why)) {
        ++counters_.bad_orders;
        remember_refused(key);
        return;
      }
      if (!known(o.symbol)) {
        ++counters_.unknown_symbol_orders;
        remember_refused(key);
        return;
      }
      ++counters_.orders;
      if (orders_.size() >= static_cast<std::size_t>(settings_.max_open_orders)) {
        // Oldest first: an order risk never answered must not pin memory.
        while (!order_queue_.empty() && orders_.size() >= static_cast<std::size_t>(settings_.max_open_orders)) {
          if (orders_.erase(order_queue_.front()) != 0) ++counters_.evicted_orders;
          order_queue_.pop_front();
        }
      }
      orders_[key] = TrackedOrder{std::move(o), now()};
      order_queue_.push_back(key);
      // Decided orders leave orders_ but not the queue: drop them from its front,
      // and rebuild it if a long-pending order at the front holds the rest.
      while (!order_queue_.empty() && orders_.count(order_queue_.front()) == 0) order_queue_.pop_front();
      if (order_queue_.size() > 2 * orders_.size() + 64) {
        std::deque<std::string> live;
        for (const auto& k : order_queue_) {
          if (orders_.count(k) != 0) live.push_back(k);
        }
        order_queue_.swap(live);
      }
      // A decision that overtook its order (two subscriptions, two threads).
      auto orphan = std::find_if(orphans_.begin(), orphans_.end(),
                                 [&](const OrphanDecision& d) { return d.message->correlation_id == key; });
      if (orphan != orphans_.end()) {
        MessagePtr decision = orphan->message;
        orphans_.erase(orphan);
        apply_decision(*decision);
      }
    }
  }

  bool parse_order(const Message& m, const nlohmann::json& j, PaperOrder& o, std::string& why) const {
    if (!j.is_object()) return (why = "not a JSON object"), false;
    auto sym = j.find("symbol");
    if (sym == j.end() || !sym->is_string() || sym->get<std::string>().empty()) return (why = "no symbol"), false;
    o.symbol = sym->get<std::string>();
    auto q = finite_number(j, "quantity");
    if (!q) q = finite_number(j, "qty");
    if (!q || *q == 0.0) return (why = "quantity must be a non-zero number"), false;
    if (auto side = j.find("side"); side != j.end()) {
      if (!side->is_string() || *q < 0.0) return (why = "a positive quantity and side buy|sell"), false;
      const std::string s = side->get<std::string>();
      if (s == "buy" || s == "BUY") o.quantity = *q;
      else if (s == "sell" || s == "SELL") o.quantity = -*q;
      else return (why = "side must be buy or sell"), false;
    } else {
      o.quantity = *q;
    }
    std::string type = "market";
    if (auto t = j.find("type"); t != j.end() && t->is_string()) type = t->get<std::string>();
    else if (auto ot = j.find("order_type"); ot != j.end() && ot->is_string()) type = ot->get<std::string>();
    if (type == "limit") {
      auto p = finite_number(j, "limit_price");
      if (!p) p = finite_number(j, "price");
      if (!p || *p <= 0.0) return (why = "a limit order needs a price > 0"), false;
      o.type = OrderType::kLimit;
      o.limit_price = *p;
    } else if (type != "market") {
      return (why = "type must be market or limit"), false;
    }
    if (auto id = j.find("id"); id != j.end() && id->is_string()) o.id = id->get<std::string>();
    else if (auto oid = j.find("order_id"); oid != j.end() && oid->is_string()) o.id = oid->get<std::string>();
    if (o.id.empty()) o.id = m.id.to_string();
    if (auto inst = j.find("instance"); inst != j.end() && inst->is_string()) o.instance = inst->get<std::string>();
    else o.instance = m.source;
    o.origin_ns = m.origin_ns != 0 ? m.origin_ns : m.timestamp_ns;
    o.correlation_id = !m.correlation_id.empty() ? m.correlation_id : m.id.to_string();
    return true;
  }

  void remember_refused(const std::string& key) {
    // Risk answers orders refused here too; that answer may already be waiting.
    orphans_.erase(std::remove_if(orphans_.begin(), orphans_.end(),
                                  [&](const OrphanDecision& d) { return d.message->correlation_id == key; }),
                   orphans_.end());
    if (refused_.insert(key).second) refused_queue_.push_back(key);
    while (refused_queue_.size() > kMaxRefusedRemembered) {
      refused_.erase(refused_queue_.front());
      refused_queue_.pop_front();
    }
  }

  void on_decision(const Message& m) {
    if (m.type != MessageType::kOrder) return;
    std::lock_guard lock(mu_);
    {
      if (m.correlation_id.empty()) {
        ++counters_.bad_decisions;
        return;
      }
      if (orders_.count(m.correlation_id) == 0) {
        // Its order was refused here: risk answered it anyway; nothing to do.
        if (refused_.count(m.correlation_id) != 0) return;
        // The order may still be on its way on the other subscription.
        if (orphans_.size() >= kMaxOrphanDecisions) {
          orphans_.pop_front();
          ++counters_.unknown_decisions;
        }
        orphans_.push_back({std::make_shared<const Message>(m), now()});
        return;
      }
      apply_decision(m);
    }
  }

  // The order is tracked (checked by the caller): approve → executor, deny → dropped.
  void apply_decision(const Message& m) {
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    auto approved = j.is_object() ? j.find("approved") : j.end();
    if (!j.is_object() || approved == j.end() || !approved->is_boolean()) {
      ++counters_.bad_decisions;
      return;  // the order stays, waiting for a decision that can be read
    }
    auto it = orders_.find(m.correlation_id);
    PaperOrder o = std::move(it->second.order);
    orders_.erase(it);
    if (!approved->get<bool>()) {
      ++counters_.rejected;
      return;
    }
    o.reduces_exposure = j.value("reduces_exposure", false);
    // An approval risk gave before its halt can reach us after it (decisions
    // and risk.state travel on separate subscriptions): while halted, only
    // orders that reduce exposure are executed, as risk itself would decide.
    if (halted_ && settings_.cancel_on_halt && !o.reduces_exposure) {
      ++counters_.dropped_while_halted;
      return;
    }
    ++counters_.approved;
    o.decided_ns = m.timestamp_ns;
    if (m.origin_ns != 0) o.origin_ns = m.origin_ns;
    if (!executor_->add(std::move(o)).is_ok()) ++counters_.bad_orders;  // parse_order already checked it
  }

  void on_risk_state(const Message& m) {
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    if (!j.is_object() || !j.contains("state") || !j["state"].is_string()) return;
    const bool halted = j["state"].get<std::string>() == "HALTED";
    std::size_t cancelled = 0;
    {
      std::lock_guard lock(mu_);
      halted_ = halted;
      risk_state_ = j["state"].get<std::string>();
      if (!halted || !settings_.cancel_on_halt) return;
      cancelled = executor_->cancel_all().size();
      counters_.cancelled_on_halt += cancelled;
    }
    if (cancelled > 0) log("warn", "trading halted: cancelled " + std::to_string(cancelled) + " order(s) waiting to fill");
  }

  // A strategy withdraws one order (strategy.cancel.<symbol>, its `id`): gone
  // from the orders awaiting risk and from those waiting to fill.
  void on_cancel(const Message& m) {
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    auto id = j.is_object() ? j.find("id") : j.end();
    if (id == j.end() || !id->is_string()) {
      std::lock_guard lock(mu_);
      ++counters_.bad_orders;
      return;
    }
    const std::string& order_id = id->get_ref<const std::string&>();
    std::lock_guard lock(mu_);
    bool found = executor_->cancel(order_id);
    for (auto it = orders_.begin(); it != orders_.end();) {
      if (it->second.order.id == order_id) {
        remember_refused(it->first);  // risk's answer to it, if one comes, is ignored
        it = orders_.erase(it);
        found = true;
      } else {
        ++it;
      }
    }
    if (found) ++counters_.cancels;
    else ++counters_.unknown_cancels;  // filled already, or never seen: nothing changes
  }

  // ---- fills, positions, summary -----------------------------------------

  // While halted a fill may only close: risk judged "reduces exposure" against
  // the position it last heard of, so two reducing orders approved against
  // the same position would, both filled, open the other way. The part that
  // would open is dropped; false when nothing is left to fill.
  bool clip_to_closing(PaperFill& f) {
    const Position* p = book_->find(f.order.symbol);
    const double held = p ? p->quantity : 0.0;
    const bool closes = held != 0.0 && (held > 0.0) != (f.order.quantity > 0.0);
    if (!closes) {
      ++counters_.dropped_while_halted;
      return false;
    }
    if (std::fabs(f.order.quantity) > std::fabs(held)) {
      f.order.quantity = -held;
      f.commission = commission_for(settings_.execution, std::fabs(held), f.price);
      ++counters_.clipped_while_halted;
    }
    return true;
  }

  void book_fills(Outbox& out) {
    for (auto& f : fills_) {
      if (halted_ && settings_.cancel_on_halt && !clip_to_closing(f)) continue;
      FillEffect e;
      if (!book_->apply_fill(f.order.symbol, f.order.quantity, f.price, f.commission, &e).is_ok()) continue;
      ++counters_.fills;
      const Position& p = *book_->find(f.order.symbol);
      const double size = std::fabs(f.order.quantity);
      nlohmann::json fill = {{"order_id", f.order.id},
                             {"symbol", f.order.symbol},
                             {"side", f.order.quantity > 0 ? "buy" : "sell"},
                             {"quantity", size},
                             {"price", f.price},
                             {"notional", size * f.price},
                             {"commission", f.commission},
                             {"realized_pnl", e.realized},
                             {"closed_quantity", e.closed_quantity},
                             {"opened_quantity", e.opened_quantity},
                             {"order_type", f.order.type == OrderType::kLimit ? "limit" : "market"},
                             {"source", portfolio::to_string(f.source)},
                             {"market_ns", f.market_ns},
                             {"decision_ns", f.order.decided_ns},
                             {"strategy", f.order.instance},
                             {"risk_state", risk_state_},  // as this engine knew it when it filled
                             {"position", p.quantity},
                             {"remaining", std::fabs(f.remaining)}};  // after a partial fill (bar volume cap)
      auto fm = make_message("portfolio.fill." + f.order.symbol, MessageType::kFill, fill.dump(), Priority::kHigh);
      fm->origin_ns = f.order.origin_ns;
      fm->correlation_id = f.order.correlation_id;
      out.push_back(std::move(fm));
      auto pm = make_message("portfolio.position." + f.order.symbol, MessageType::kPositionUpdate,
                             position_json(f.order.symbol, p).dump(), Priority::kHigh);
      pm->origin_ns = f.order.origin_ns;
      pm->correlation_id = f.order.correlation_id;
      out.push_back(std::move(pm));
      summary_dirty_ = true;
    }
    fills_.clear();
  }

  // A price moved: the summary changes when the symbol is held.
  void mark_changed(const std::string& symbol, Outbox& out) {
    const Position* p = book_->find(symbol);
    if (p && p->quantity != 0.0) summary_dirty_ = true;
    maybe_summary(out);
  }

  void maybe_summary(Outbox& out) {
    if (!summary_dirty_) return;
    const std::int64_t t = now();
    if (last_summary_ns_ >= 0 && t - last_summary_ns_ < settings_.summary_interval_ns) return;  // the timer sends it
    summary_dirty_ = false;
    last_summary_ns_ = t;
    ++counters_.summaries;
    out.push_back(make_message("portfolio.summary", MessageType::kPortfolioUpdate, summary_json().dump()));
  }

  void on_summary_tick() {
    Outbox out;
    {
      std::lock_guard lock(mu_);
      expire_orphans();
      maybe_summary(out);
    }
    send(out);
  }

  void expire_orphans() {
    const std::int64_t t = now();
    while (!orphans_.empty() && t - orphans_.front().seen_ns >= settings_.decision_grace_ns) {
      orphans_.pop_front();
      ++counters_.unknown_decisions;
    }
  }

  // Every symbol's price, once per sample_interval, for optimize.
  void on_sample_tick() {
    std::lock_guard lock(mu_);
    expire_orphans();
    for (const auto& sym : known_) {
      const Position* p = book_->find(sym);
      if (!p) continue;
      std::optional<double> price;
      if (p->bid && p->ask) price = 0.5 * (*p->bid + *p->ask);
      else price = p->last;
      if (!price) continue;
      auto& h = history_[sym];
      h.push_back(*price);
      while (h.size() > static_cast<std::size_t>(settings_.history_length)) h.pop_front();
    }
  }

  void send(Outbox& out) {
    for (auto& m : out) publish(std::move(m));
  }

  // ---- JSON views ---------------------------------------------------------

  nlohmann::json position_json(const std::string& symbol, const Position& p) const {
    return {{"symbol", symbol},
            {"quantity", p.quantity},
            {"avg_price", p.avg_price},
            {"mark", opt(p.mark())},
            {"bid", opt(p.bid)},
            {"ask", opt(p.ask)},
            {"last", opt(p.last)},
            {"market_value", p.market_value()},
            {"unrealized_pnl", p.unrealized_pnl()},
            {"realized_pnl", p.realized_pnl},
            {"commission", p.commission},
            {"fills", p.fills}};
  }

  nlohmann::json positions_json() const {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& [sym, p] : book_->positions()) {
      if (p.fills > 0) a.push_back(position_json(sym, p));
    }
    return a;
  }

  nlohmann::json summary_json() const {
    std::size_t open = 0;
    for (const auto& [sym, p] : book_->positions()) open += p.quantity != 0.0 ? 1 : 0;
    return {{"initial_cash", book_->initial_cash()},
            {"cash", book_->cash()},
            {"equity", book_->equity()},
            {"realized_pnl", book_->realized_pnl()},
            {"unrealized_pnl", book_->unrealized_pnl()},
            {"commission", book_->commission()},
            {"gross_exposure", book_->gross_exposure()},
            {"net_exposure", book_->net_exposure()},
            {"open_positions", open},
            {"fills", counters_.fills}};
  }

  nlohmann::json pnl_json() const {
    nlohmann::json by = nlohmann::json::object();
    for (const auto& [sym, p] : book_->positions()) {
      if (p.fills == 0) continue;
      by[sym] = {{"realized_pnl", p.realized_pnl},
                 {"unrealized_pnl", p.unrealized_pnl()},
                 {"total_pnl", p.realized_pnl + p.unrealized_pnl()},
                 {"commission", p.commission}};
    }
    const double realized = book_->realized_pnl(), unrealized = book_->unrealized_pnl();
    const double initial = book_->initial_cash();
    return {{"realized_pnl", realized},
            {"unrealized_pnl", unrealized},
            {"total_pnl", realized + unrealized},
            {"commission", book_->commission()},
            {"equity", book_->equity()},
            {"initial_cash", initial},
            {"return_pct", initial > 0.0 ? 100.0 * (book_->equity() - initial) / initial : 0.0},
            {"symbols", by}};
  }

  nlohmann::json counters_json() const {
    const Counters& c = counters_;
    return {{"orders", c.orders},
            {"approved", c.approved},
            {"rejected", c.rejected},
            {"fills", c.fills},
            {"bad_orders", c.bad_orders},
            {"unknown_symbol_orders", c.unknown_symbol_orders},
            {"unknown_decisions", c.unknown_decisions},
            {"bad_decisions", c.bad_decisions},
            {"bad_quotes", c.bad_quotes},
            {"bad_trades", c.bad_trades},
            {"bad_bars", c.bad_bars},
            {"cancelled_on_halt", c.cancelled_on_halt},
            {"dropped_while_halted", c.dropped_while_halted},
            {"clipped_while_halted", c.clipped_while_halted},
            {"evicted_orders", c.evicted_orders},
            {"rebalance_orders", c.rebalance_orders},
            {"cancels", c.cancels},
            {"unknown_cancels", c.unknown_cancels},
            {"summaries", c.summaries}};
  }

  nlohmann::json pending_json() const {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& o : executor_->pending_orders()) {
      a.push_back({{"order_id", o.id},
                   {"symbol", o.symbol},
                   {"quantity", o.quantity},
                   {"type", o.type == OrderType::kLimit ? "limit" : "market"},
                   {"limit_price", o.type == OrderType::kLimit ? nlohmann::json(o.limit_price) : nlohmann::json(nullptr)},
                   {"decision_ns", o.decided_ns}});
    }
    return a;
  }

  // ---- control plane: optimize, rebalance ---------------------------------

  static double arg_number(const nlohmann::json& args, const char* key, double fallback) {
    if (!args.contains(key) || args[key].is_null()) return fallback;
    if (!args[key].is_number()) throw std::invalid_argument(std::string(key) + ": a number is required");
    return args[key].get<double>();
  }

  nlohmann::json optimize(const nlohmann::json& raw) {
    const nlohmann::json args = raw.is_object() ? raw : nlohmann::json::object();
    if (!args.contains("method") || !args["method"].is_string()) {
      throw std::invalid_argument("method: one of min_variance, max_sharpe, efficient_risk, risk_parity");
    }
    portfolio::OptimizeRequest req;
    req.method = portfolio::parse_method(args["method"].get<std::string>());
    req.risk_free_rate = arg_number(args, "rf", arg_number(args, "risk_free_rate", 0.0));
    req.target_volatility = arg_number(args, "target_volatility", 0.0);
    if (req.method == portfolio::Method::kEfficientRisk && !(req.target_volatility > 0.0)) {
      throw std::invalid_argument("target_volatility: required (> 0) for efficient_risk");
    }
    const double lookback_arg = arg_number(args, "lookback", 0.0);
    if (lookback_arg < 0.0 || lookback_arg == 1.0 || lookback_arg == 2.0) {
      throw std::invalid_argument("lookback: at least 3 prices (0 = all)");
    }
    std::vector<std::string> symbols;
    if (args.contains("symbols")) {
      if (!args["symbols"].is_array()) throw std::invalid_argument("symbols: an array of strings");
      for (const auto& s : args["symbols"]) {
        if (!s.is_string()) throw std::invalid_argument("symbols: an array of strings");
        symbols.push_back(s.get<std::string>());
      }
    }
    std::vector<portfolio::Vector> prices;
    int periods = 252;
    {
      std::lock_guard lock(mu_);
      require_started();
      periods = static_cast<int>(settings_.periods_per_year);
      if (args.contains("prices")) {
        if (!args["prices"].is_object()) throw std::invalid_argument("prices: {SYMBOL: [price, ...]}");
        if (symbols.empty()) {
          for (const auto& [sym, v] : args["prices"].items()) symbols.push_back(sym);
        }
        for (const auto& sym : symbols) {
          if (!args["prices"].contains(sym)) throw std::invalid_argument("prices: no series for " + sym);
          portfolio::Vector v;
          for (const auto& p : args["prices"][sym]) {
            if (!p.is_number()) throw std::invalid_argument("prices." + sym + ": numbers only");
            v.push_back(p.get<double>());
          }
          prices.push_back(std::move(v));
        }
      } else {
        if (symbols.empty()) {
          for (const auto& [sym, h] : history_) symbols.push_back(sym);
        }
        std::size_t common = std::numeric_limits<std::size_t>::max();
        for (const auto& sym : symbols) {
          auto it = history_.find(sym);
          if (it == history_.end()) throw std::invalid_argument("no price history for " + sym);
          common = std::min(common, it->second.size());
        }
        if (lookback_arg > 0.0) common = std::min(common, static_cast<std::size_t>(lookback_arg));
        // Every sample tick records every symbol that has a price, so the
        // histories' last `common` entries are the same ticks.
        for (const auto& sym : symbols) {
          const auto& h = history_.at(sym);
          prices.emplace_back(h.end() - static_cast<std::ptrdiff_t>(common), h.end());
        }
      }
    }
    if (symbols.empty()) throw std::invalid_argument("symbols: none given and no price history yet");
    if (lookback_arg > 0.0) {
      for (auto& p : prices) {
        if (p.size() > static_cast<std::size_t>(lookback_arg)) {
          p.erase(p.begin(), p.end() - static_cast<std::ptrdiff_t>(lookback_arg));
        }
      }
    }
    if (prices.front().size() < 3) {
      throw std::invalid_argument("need at least 3 prices per symbol (have " + std::to_string(prices.front().size()) +
                                  "; one is sampled every sample_interval)");
    }
    read_bounds(args, symbols, req);
    const portfolio::Estimates est = portfolio::estimate_from_prices(prices, periods);
    const portfolio::OptimizeResult r = portfolio::optimize(est, req);
    nlohmann::json weights = nlohmann::json::object(), rc = nlohmann::json::object(), mu = nlohmann::json::object();
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      weights[symbols[i]] = r.weights[i];
      rc[symbols[i]] = r.risk_contributions[i];
      mu[symbols[i]] = est.mean[i];
    }
    return {{"method", portfolio::to_string(req.method)},
            {"symbols", symbols},
            {"weights", weights},
            {"expected_return", r.expected_return},
            {"volatility", r.volatility},
            {"sharpe", r.sharpe},
            {"risk_free_rate", req.risk_free_rate},
            {"risk_contributions", rc},
            {"expected_returns", mu},
            {"observations", prices.front().size()},
            {"periods_per_year", periods},
            {"regularized", r.regularized},
            {"ridge", r.ridge}};
  }

  // bounds: [lo, hi] for every symbol, or {SYMBOL: [lo, hi]} (others [0, 1]).
  static void read_bounds(const nlohmann::json& args, const std::vector<std::string>& symbols,
                          portfolio::OptimizeRequest& req) {
    if (!args.contains("bounds") || args["bounds"].is_null()) return;
    auto pair = [](const nlohmann::json& b, const std::string& what) {
      if (!b.is_array() || b.size() != 2 || !b[0].is_number() || !b[1].is_number()) {
        throw std::invalid_argument("bounds" + what + ": [lower, upper]");
      }
      return std::make_pair(b[0].get<double>(), b[1].get<double>());
    };
    const nlohmann::json& b = args["bounds"];
    req.lower.assign(symbols.size(), 0.0);
    req.upper.assign(symbols.size(), 1.0);
    if (b.is_array()) {
      auto [lo, hi] = pair(b, "");
      std::fill(req.lower.begin(), req.lower.end(), lo);
      std::fill(req.upper.begin(), req.upper.end(), hi);
      return;
    }
    if (!b.is_object()) throw std::invalid_argument("bounds: [lower, upper] or {SYMBOL: [lower, upper]}");
    for (const auto& [sym, v] : b.items()) {
      auto it = std::find(symbols.begin(), symbols.end(), sym);
      if (it == symbols.end()) throw std::invalid_argument("bounds." + sym + ": not one of the symbols");
      auto [lo, hi] = pair(v, "." + sym);
      const auto i = static_cast<std::size_t>(it - symbols.begin());
      req.lower[i] = lo;
      req.upper[i] = hi;
    }
  }

  nlohmann::json rebalance(const nlohmann::json& args) {
    if (!args.is_object() || !args.contains("weights") || !args["weights"].is_object()) {
      throw std::invalid_argument("weights: {SYMBOL: weight} is required");
    }
    std::map<std::string, double> weights;
    double total = 0.0;
    for (const auto& [sym, w] : args["weights"].items()) {
      if (!w.is_number() || !std::isfinite(w.get<double>()) || w.get<double>() < 0.0) {
        throw std::invalid_argument("weights." + sym + ": a number >= 0 (long-only)");
      }
      weights[sym] = w.get<double>();
      total += w.get<double>();
    }
    if (total > 1.0 + 1e-9) throw std::invalid_argument("weights sum to more than 1 (the rest is held as cash)");
    Outbox out;
    nlohmann::json orders = nlohmann::json::array();
    double equity = 0.0;
    {
      std::lock_guard lock(mu_);
      require_started();
      equity = book_->equity();
      // Held symbols left out of the weights go to zero.
      for (const auto& [sym, p] : book_->positions()) {
        if (p.quantity != 0.0 && !weights.count(sym)) weights[sym] = 0.0;
      }
      for (const auto& [sym, w] : weights) {
        if (!known(sym)) throw std::invalid_argument("weights." + sym + ": unknown symbol (no market data)");
        const Position* p = book_->find(sym);
        std::optional<double> price;
        if (p && p->bid && p->ask) price = 0.5 * (*p->bid + *p->ask);
        else if (p) price = p->last;
        if (!price) throw std::invalid_argument("weights." + sym + ": no price yet");
      }
      for (const auto& [sym, w] : weights) {
        const Position* p = book_->find(sym);
        const double price = p->bid && p->ask ? 0.5 * (*p->bid + *p->ask) : *p->last;
        const double target = w * equity / price;
        double delta = target - p->quantity;
        // Whole steps toward the target, never past it.
        delta = std::trunc(delta / settings_.quantity_step) * settings_.quantity_step;
        if (delta == 0.0) continue;
        const std::string id = name() + "-rebalance-" + std::to_string(now()) + "-" + std::to_string(orders.size());
        nlohmann::json o = {{"id", id},
                            {"symbol", sym},
                            {"side", delta > 0 ? "buy" : "sell"},
                            {"quantity", std::fabs(delta)},
                            {"price", price},
                            {"type", "market"},
                            {"target_weight", w},
                            {"reason", "rebalance"}};
        auto m = make_message("strategy.order." + sym, MessageType::kOrder, o.dump(), Priority::kHigh);
        m->origin_ns = now();
        m->correlation_id = id;
        out.push_back(std::move(m));
        orders.push_back(o);
        ++counters_.rebalance_orders;
      }
    }
    send(out);
    return {{"equity", equity}, {"orders", orders}};
  }

  mutable std::mutex mu_;
  bool halted_ = false;  // risk.state says HALTED (guarded by mu_)
  std::string risk_state_ = "UNKNOWN";  // the last risk.state seen (guarded by mu_)
  Settings settings_;
  std::unique_ptr<PositionBook> book_;
  std::unique_ptr<PaperExecutor> executor_;
  std::vector<PaperFill> fills_;  // reused by the handlers: no allocation per quote
  std::set<std::string> known_;
  std::unordered_map<std::string, TrackedOrder> orders_;  // by order message id
  std::deque<std::string> order_queue_;                   // arrival order, for eviction
  std::deque<OrphanDecision> orphans_;
  std::set<std::string> refused_;
  std::deque<std::string> refused_queue_;
  std::map<std::string, std::deque<double>> history_;  // sampled prices per symbol
  Counters counters_;
  std::int64_t last_summary_ns_ = -1;
  bool summary_dirty_ = true;
  Clock* clock_ = nullptr;
  PeriodicTimer summary_timer_;
  PeriodicTimer sample_timer_;
};

}  // namespace

std::unique_ptr<Engine> make_portfolio_engine() { return std::make_unique<PortfolioEngine>(); }

}  // namespace nautilus
