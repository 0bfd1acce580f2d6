#include "engines/analytics/analytics_engine.h"
#include "engines/payload_fields.h"

#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "core/message.h"
#include "core/periodic_timer.h"
#include "engines/analytics/attribution.h"
#include "engines/analytics/performance.h"

namespace nautilus {
namespace {

using analytics::CarinoLinker;
using analytics::Figure;
using analytics::PerformanceTracker;
using analytics::Segment;
using analytics::SeriesConfig;

constexpr std::string_view kQuotePrefix = "marketdata.real_time.quote.";
constexpr std::int64_t kSecondNs = 1'000'000'000;
constexpr double kTradingSecondsPerDay = 23'400.0;  // 6.5 h: the US equity session
constexpr std::size_t kMaxOrdersRemembered = 100'000;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kCash = "cash";
constexpr const char* kUnclassified = "unclassified";
constexpr const char* kUnattributed = "unattributed";

struct BenchmarkSegment {
  double weight = 0.0;
  double period_return = 0.0;  // per sample interval
};

// The engine's section, one parse for --check-config and start.
struct Settings {
  std::int64_t sample_interval_ns = 60 * kSecondNs;
  std::int64_t publish_interval_ns = 10 * kSecondNs;
  double periods_per_year = 0.0;
  double trading_days_per_year = 252.0;
  double risk_free_rate = 0.0;  // annual
  double var_confidence = 0.95;
  std::int64_t var_window = 1000;
  double strategy_capital = 0.0;  // 0: the portfolio's first equity
  std::map<std::string, std::string> sectors;  // symbol → sector
  std::map<std::string, BenchmarkSegment> benchmark_sectors, benchmark_strategies;
  std::vector<ConfigProblem> problems;

  SeriesConfig interval_series() const {
    return {periods_per_year, risk_free_rate / periods_per_year, var_confidence, static_cast<std::size_t>(var_window)};
  }
  SeriesConfig daily_series() const {
    return {trading_days_per_year, risk_free_rate / trading_days_per_year, var_confidence,
            static_cast<std::size_t>(var_window)};
  }
};

void read_benchmark(ConfigReader parent, const char* key, std::map<std::string, BenchmarkSegment>& out) {
  ConfigReader table = parent.table(key);
  double total = 0.0;
  for (const auto& name : table.keys()) {
    if (name == kCash) {
      table.problem(name, "'cash' is the rest of the weight, not configurable");
      table.accept(name);
      continue;
    }
    ConfigReader seg = table.table(name);
    BenchmarkSegment b;
    b.weight = seg.number("weight", 0.0, 0.0, 1.0);
    b.period_return = seg.number("return", 0.0, -0.99, 10.0);
    total += b.weight;
    out[name] = b;
  }
  if (total > 1.0 + 1e-9) table.problem("", "weights sum to " + std::to_string(total) + " (at most 1; cash takes the rest)");
}

Settings parse_settings(const nlohmann::json& section) {
  Settings s;
  ConfigReader r(section);
  s.sample_interval_ns = r.duration_ns("sample_interval", s.sample_interval_ns, 1'000'000, analytics::kNsPerDay);
  s.publish_interval_ns = r.duration_ns("publish_interval", s.publish_interval_ns, 1'000'000, analytics::kNsPerDay);
  const double default_periods = 252.0 * kTradingSecondsPerDay * 1e9 / static_cast<double>(s.sample_interval_ns);
  s.periods_per_year = r.number("periods_per_year", default_periods, 1.0, 1e10);
  s.trading_days_per_year = r.number("trading_days_per_year", s.trading_days_per_year, 1.0, 366.0);
  s.risk_free_rate = r.number("risk_free_rate", s.risk_free_rate, -1.0, 1.0);
  s.var_confidence = r.number("var_confidence", s.var_confidence, 0.5, 0.9999);
  s.var_window = r.integer("var_window", s.var_window, 2, 1'000'000);
  s.strategy_capital = r.number("strategy_capital", s.strategy_capital, 0.0, 1e15);
  ConfigReader sectors = r.table("sectors");
  for (const auto& sym : sectors.keys()) {
    std::string sector = sectors.string(sym, "");
    if (sector.empty()) sectors.problem(sym, "a sector name");
    else if (sector == kCash) sectors.problem(sym, "'cash' is reserved for the cash segment");
    else s.sectors[sym] = std::move(sector);
  }
  ConfigReader benchmark = r.table("benchmark");
  read_benchmark(benchmark, "sectors", s.benchmark_sectors);
  read_benchmark(benchmark, "strategies", s.benchmark_strategies);
  r.finish();
  s.problems = r.problems();
  return s;
}

using payload::finite_number;

using payload::text;

// A symbol's position as the portfolio reports it, marked by quotes between fills.
struct SymbolBook {
  double quantity = 0.0, avg_price = 0.0, realized_pnl = 0.0;
  std::optional<double> bid, ask, last_mark;
  std::string strategy;                    // empty: not known
  double pnl_at_tick = 0.0, value_at_tick = 0.0;  // at the last sample: the attribution period's start

  std::optional<double> mark() const {
    if (quantity > 0.0 && bid) return bid;
    if (quantity < 0.0 && ask) return ask;
    return last_mark;
  }
  double market_value() const { return quantity * mark().value_or(avg_price); }
  double pnl() const {
    const auto m = mark();
    return realized_pnl + (m ? quantity * (*m - avg_price) : 0.0);
  }
};

class AnalyticsEngine final : public Engine {
 public:
  std::string_view kind() const override { return "analytics"; }
  std::string_view description() const override {
    return "performance (returns, Sharpe, Sortino, drawdown, VaR, CVaR, trades) of the portfolio and each strategy; "
           "Brinson-Fachler attribution by sector and strategy";
  }
  std::vector<std::string> subscribes_to() const override {
    return {"portfolio.summary", "portfolio.position.*", "portfolio.fill.*", "strategy.order.*",
            std::string(kQuotePrefix) + "*"};
  }
  std::vector<std::string> publishes() const override {
    return {"analytics.performance.portfolio", "analytics.performance.*"};
  }

  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "report") {
      std::lock_guard lock(mu_);
      return report_json();
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
      settings_ = std::move(s);
      portfolio_ = std::make_unique<PerformanceTracker>(settings_.interval_series(), settings_.daily_series());
      strategies_.clear();
      symbols_.clear();
      order_strategy_.clear();
      order_queue_.clear();
      sector_link_ = CarinoLinker();
      strategy_link_ = CarinoLinker();
      equity_.reset();
      equity_at_tick_.reset();
      capital_.reset();
      publish_slot_.reset();
      unattributed_sector_ = unattributed_strategy_ = 0.0;
      counters_ = {};
    }
    subscribe(BusKind::kEngine, "portfolio.summary", [this](const Message& m) { on_summary(m); });
    subscribe(BusKind::kEngine, "portfolio.position.*", [this](const Message& m) { on_position(m); });
    subscribe(BusKind::kEngine, "portfolio.fill.*", [this](const Message& m) { on_fill(m); });
    subscribe(BusKind::kEngine, "strategy.order.*", [this](const Message& m) { on_order(m); });
    subscribe(BusKind::kMarketData, std::string(kQuotePrefix) + "*", [this](const Message& m) { on_quote(m); });
    // One timer: publishing right after a sample, never racing it at the same instant.
    sample_timer_.start(ctx.clock, settings_.sample_interval_ns, [this] { on_sample_tick(); });
  }

  void on_stop() override { sample_timer_.stop(); }

  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    nlohmann::json strategies = nlohmann::json::object();
    for (const auto& [name, t] : strategies_) strategies[name] = flat(*t);
    const Counters& c = counters_;
    return {{"portfolio", portfolio_ ? flat(*portfolio_) : nlohmann::json::object()},
            {"strategies", strategies},
            {"counters",
             {{"summaries", c.summaries},
              {"positions", c.positions},
              {"fills", c.fills},
              {"orders", c.orders},
              {"quotes", c.quotes},
              {"malformed", c.malformed},
              {"unattributed_fills", c.unattributed_fills},
              {"samples", c.samples},
              {"published", c.published}}}};
  }

 private:
  struct Counters {
    std::uint64_t summaries = 0, positions = 0, fills = 0, orders = 0, quotes = 0, malformed = 0;
    std::uint64_t unattributed_fills = 0, samples = 0, published = 0;
  };

  std::int64_t now() { return clock().now_ns(); }

  // ---- data plane: a malformed message is counted and skipped --------------

  void on_summary(const Message& m) {
    if (m.type != MessageType::kPortfolioUpdate) return;
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::lock_guard lock(mu_);
    const double equity = j.is_object() ? finite_number(j, "equity").value_or(kNaN) : kNaN;
    if (std::isnan(equity)) {
      ++counters_.malformed;
      return;
    }
    ++counters_.summaries;
    equity_ = equity;
    if (!capital_) capital_ = settings_.strategy_capital > 0.0 ? settings_.strategy_capital : equity;
  }

  void on_position(const Message& m) {
    if (m.type != MessageType::kPositionUpdate) return;
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::lock_guard lock(mu_);
    const std::string symbol = j.is_object() ? text(j, "symbol") : std::string();
    const double q = j.is_object() ? finite_number(j, "quantity").value_or(kNaN) : kNaN;
    if (symbol.empty() || std::isnan(q)) {
      ++counters_.malformed;
      return;
    }
    ++counters_.positions;
    SymbolBook& b = symbols_[symbol];
    b.quantity = q;
    b.avg_price = finite_number(j, "avg_price").value_or(0.0);
    if (auto r = finite_number(j, "realized_pnl")) b.realized_pnl = *r;
    if (auto mark = finite_number(j, "mark")) b.last_mark = *mark;
    if (auto bid = finite_number(j, "bid")) b.bid = *bid;
    if (auto ask = finite_number(j, "ask")) b.ask = *ask;
  }

  void on_fill(const Message& m) {
    if (m.type != MessageType::kFill) return;
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::lock_guard lock(mu_);
    const std::string symbol = j.is_object() ? text(j, "symbol") : std::string();
    // NaN for "absent" rather than optionals: g++ -O3 sees a maybe-uninitialized optional here.
    const double quantity = j.is_object() ? finite_number(j, "quantity").value_or(kNaN) : kNaN;
    const double price = j.is_object() ? finite_number(j, "price").value_or(kNaN) : kNaN;
    if (symbol.empty() || std::isnan(quantity) || std::isnan(price)) {
      ++counters_.malformed;
      return;
    }
    ++counters_.fills;
    const double notional = finite_number(j, "notional").value_or(quantity * price);
    const double closed = finite_number(j, "closed_quantity").value_or(0.0);
    const double realized = finite_number(j, "realized_pnl").value_or(0.0);
    SymbolBook& b = symbols_[symbol];
    b.last_mark = price;
    std::string strategy = text(j, "instance");
    if (strategy.empty()) strategy = text(j, "strategy");
    if (strategy.empty()) {
      if (auto it = order_strategy_.find(text(j, "order_id")); it != order_strategy_.end()) strategy = it->second;
    }
    if (strategy.empty()) strategy = b.strategy;
    if (!strategy.empty()) b.strategy = strategy;
    portfolio_->trades.add_fill(notional, closed, realized);
    if (strategy.empty()) {
      ++counters_.unattributed_fills;
      return;
    }
    strategy_tracker(strategy).trades.add_fill(notional, closed, realized);
  }

  void on_order(const Message& m) {
    if (m.type != MessageType::kOrder) return;
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    if (!j.is_object()) return;  // risk's decisions share no topic with orders; anything else is not ours
    std::string id = text(j, "id"), instance = text(j, "instance"), symbol = text(j, "symbol");
    if (instance.empty()) return;  // an order nobody claims (a rebalance): no strategy
    std::lock_guard lock(mu_);
    ++counters_.orders;
    if (!symbol.empty()) symbols_[symbol].strategy = instance;  // one instance per symbol
    if (id.empty()) return;
    if (order_strategy_.emplace(id, instance).second) order_queue_.push_back(std::move(id));
    while (order_queue_.size() > kMaxOrdersRemembered) {
      order_strategy_.erase(order_queue_.front());
      order_queue_.pop_front();
    }
  }

  void on_quote(const Message& m) {
    if (m.topic.size() <= kQuotePrefix.size()) return;
    std::lock_guard lock(mu_);
    // Only symbols the portfolio reported: the topic says which before any parsing.
    auto it = symbols_.find(std::string_view(m.topic).substr(kQuotePrefix.size()));
    if (it == symbols_.end()) return;
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    const double bid = j.is_object() ? finite_number(j, "bid").value_or(kNaN) : kNaN;
    const double ask = j.is_object() ? finite_number(j, "ask").value_or(kNaN) : kNaN;
    if (!(bid > 0.0) || !(ask >= bid)) {  // NaN fails both
      ++counters_.malformed;
      return;
    }
    ++counters_.quotes;
    it->second.bid = bid;
    it->second.ask = ask;
  }

  // ---- sampling and attribution (engine clock) -----------------------------

  PerformanceTracker& strategy_tracker(const std::string& name) {
    auto it = strategies_.find(name);
    if (it == strategies_.end()) {
      it = strategies_
               .emplace(name, std::make_unique<PerformanceTracker>(settings_.interval_series(), settings_.daily_series()))
               .first;
    }
    return *it->second;
  }

  void on_sample_tick() {
    std::vector<std::shared_ptr<Message>> out;
    {
      std::lock_guard lock(mu_);
      if (!equity_) return;
      const std::int64_t t = now();
      sample(t);
      // The first sample, then the first of each publish_interval of the clock.
      const std::int64_t slot = t / settings_.publish_interval_ns;
      if (!publish_slot_ || slot != *publish_slot_) {
        publish_slot_ = slot;
        build_publications(t, out);
      }
    }
    // Outside the lock: a full subscriber queue may block the publisher.
    for (auto& m : out) publish(std::move(m));
  }

  void sample(std::int64_t t) {
    ++counters_.samples;
    portfolio_->curve.add_sample(t, *equity_);
    std::map<std::string, double> strategy_pnl;
    for (const auto& [sym, b] : symbols_) {
      if (!b.strategy.empty()) strategy_pnl[b.strategy] += b.pnl();
    }
    for (const auto& [name, pnl] : strategy_pnl) strategy_tracker(name).curve.add_sample(t, *capital_ + pnl);
    if (equity_at_tick_ && *equity_at_tick_ > 0.0) {
      attribute(sector_link_, settings_.benchmark_sectors, unattributed_sector_,
                [this](const std::string& sym, const SymbolBook&) {
                  auto s = settings_.sectors.find(sym);
                  return s != settings_.sectors.end() ? s->second : std::string(kUnclassified);
                });
      attribute(strategy_link_, settings_.benchmark_strategies, unattributed_strategy_,
                [](const std::string&, const SymbolBook& b) { return b.strategy.empty() ? std::string(kUnattributed) : b.strategy; });
    }
    for (auto& [sym, b] : symbols_) {
      b.pnl_at_tick = b.pnl();
      b.value_at_tick = b.market_value();
    }
    equity_at_tick_ = *equity_;
  }

  // One Brinson–Fachler period from the last sample to this one, grouping the
  // symbols by `segment_of`.
  template <typename SegmentOf>
  void attribute(CarinoLinker& link, const std::map<std::string, BenchmarkSegment>& benchmark, double& unattributed,
                 SegmentOf segment_of) {
    const double e0 = *equity_at_tick_;
    struct Group {
      double value = 0.0, pnl = 0.0;
    };
    std::map<std::string, Group> groups;
    for (const auto& [sym, b] : symbols_) {
      Group& g = groups[segment_of(sym, b)];
      g.value += b.value_at_tick;
      g.pnl += b.pnl() - b.pnl_at_tick;
    }
    for (const auto& [name, bench] : benchmark) groups.try_emplace(name);
    std::vector<Segment> segments;
    segments.reserve(groups.size() + 1);
    double wp_sum = 0.0, wb_sum = 0.0;
    for (const auto& [name, g] : groups) {
      Segment s;
      s.name = name;
      if (g.value != 0.0) {
        s.portfolio_weight = g.value / e0;
        s.portfolio_return = g.pnl / g.value;
      } else {
        unattributed += g.pnl / e0;  // held nothing at the start: no weight to carry its return
      }
      if (auto b = benchmark.find(name); b != benchmark.end()) {
        s.benchmark_weight = b->second.weight;
        s.benchmark_return = b->second.period_return;
      }
      wp_sum += s.portfolio_weight;
      wb_sum += s.benchmark_weight;
      segments.push_back(std::move(s));
    }
    Segment cash;
    cash.name = kCash;
    cash.portfolio_weight = 1.0 - wp_sum;
    cash.benchmark_weight = 1.0 - wb_sum;
    segments.push_back(std::move(cash));
    link.add(segments, analytics::brinson_fachler(segments));
  }

  // ---- publishing and views ---------------------------------------------

  void build_publications(std::int64_t t, std::vector<std::shared_ptr<Message>>& out) {
    nlohmann::json p = subject_json("portfolio", "portfolio", *portfolio_, t);
    p["attribution"] = attribution_json();
    out.push_back(make_message("analytics.performance.portfolio", MessageType::kPerformanceMetric, p.dump()));
    for (const auto& [name, tracker] : strategies_) {
      out.push_back(make_message("analytics.performance." + name, MessageType::kPerformanceMetric,
                                 subject_json("strategy", name, *tracker, t).dump()));
    }
    counters_.published += out.size();
  }

  static nlohmann::json subject_json(const char* subject, const std::string& name, const PerformanceTracker& t,
                                     std::int64_t time_ns) {
    nlohmann::json j = t.to_json();
    j["subject"] = subject;
    j["name"] = name;
    j["time_ns"] = time_ns;
    return j;
  }

  nlohmann::json attribution_json() const {
    nlohmann::json sector = sector_link_.to_json(), strategy = strategy_link_.to_json();
    sector["unattributed_return"] = unattributed_sector_;
    strategy["unattributed_return"] = unattributed_strategy_;
    return {{"sector", sector}, {"strategy", strategy}};
  }

  nlohmann::json report_json() {
    const std::int64_t t = now();
    nlohmann::json strategies = nlohmann::json::object();
    for (const auto& [name, tracker] : strategies_) strategies[name] = subject_json("strategy", name, *tracker, t);
    nlohmann::json portfolio = portfolio_ ? subject_json("portfolio", "portfolio", *portfolio_, t) : nlohmann::json();
    return {{"time_ns", t},
            {"portfolio", portfolio},
            {"strategies", strategies},
            {"attribution", attribution_json()},
            {"config",
             {{"sample_interval_ns", settings_.sample_interval_ns},
              {"publish_interval_ns", settings_.publish_interval_ns},
              {"periods_per_year", settings_.periods_per_year},
              {"trading_days_per_year", settings_.trading_days_per_year},
              {"risk_free_rate", settings_.risk_free_rate},
              {"var_confidence", settings_.var_confidence},
              {"var_window", settings_.var_window},
              {"strategy_capital", capital_ ? nlohmann::json(*capital_) : nlohmann::json()}}}};
  }

  // The headline figures as flat scalars (null when undefined).
  static nlohmann::json flat(const PerformanceTracker& t) {
    const nlohmann::json j = t.to_json();
    nlohmann::json f = {{"equity", j["equity"]}, {"samples", j["samples"]}};
    for (const char* k : {"returns", "cumulative_return", "annual_return", "annual_volatility", "sharpe", "sortino",
                          "max_drawdown", "calmar", "var_historical", "var_parametric", "cvar"}) {
      f[k] = j["interval"][k];
      f[std::string("daily_") + k] = j["daily"][k];
    }
    for (const char* k : {"win_rate", "profit_factor", "turnover", "closed_trades", "realized_pnl"}) f[k] = j["trades"][k];
    return f;
  }

  mutable std::mutex mu_;
  Settings settings_;
  std::unique_ptr<PerformanceTracker> portfolio_;
  std::map<std::string, std::unique_ptr<PerformanceTracker>> strategies_;
  std::map<std::string, SymbolBook, std::less<>> symbols_;
  std::unordered_map<std::string, std::string> order_strategy_;  // order id → instance
  std::deque<std::string> order_queue_;                         // for eviction, oldest first
  CarinoLinker sector_link_, strategy_link_;
  double unattributed_sector_ = 0.0, unattributed_strategy_ = 0.0;
  std::optional<double> equity_, equity_at_tick_, capital_;
  std::optional<std::int64_t> publish_slot_;
  Counters counters_;
  PeriodicTimer sample_timer_;
};

}  // namespace

std::unique_ptr<Engine> make_analytics_engine() { return std::make_unique<AnalyticsEngine>(); }

}  // namespace nautilus
