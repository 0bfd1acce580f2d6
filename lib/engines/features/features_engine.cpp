#include "engines/features/features_engine.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/message.h"
#include "core/periodic_timer.h"
#include "engines/features/bar_builder.h"
#include "engines/features/feature_set.h"
#include "engines/trade_fields.h"

namespace nautilus {
namespace {

using features::Bar;
using features::BarBuilder;
using features::FeatureParams;
using features::FeatureSet;
using features::FeatureValues;
using features::TradeResult;

constexpr std::string_view kTradePrefix = "marketdata.real_time.trade.";
constexpr std::string_view kBarPrefix = "marketdata.real_time.bar.";
constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kDay = 86'400 * kSecond;
// US equity hours, for the default annualisation: 252 days of 6.5 hours.
constexpr double kTradingSecondsPerYear = 252.0 * 23'400.0;

struct IntervalSpec {
  std::string name;  // as configured ("1m"): the topic's middle part
  std::int64_t ns = 0;
};

struct FeaturesConfig {
  std::vector<IntervalSpec> intervals;
  std::string input = "trades";
  std::int64_t close_delay_ns = 2 * kSecond;
  bool close_on_clock = true;
  std::set<std::string, std::less<>> symbols;  // empty: every symbol
  std::int64_t max_symbols = 10'000;
  FeatureParams params;
  double periods_per_year = 0.0;  // 0: from each interval (kTradingSecondsPerYear / interval)
};

struct ParsedConfig {
  FeaturesConfig config;
  std::vector<ConfigProblem> problems;
};

// The one parse of the [engines.features] section, for config_problems and on_start.
ParsedConfig parse_config(const nlohmann::json& section) {
  ParsedConfig out;
  FeaturesConfig& c = out.config;
  ConfigReader r(section);
  const std::vector<std::string> names = r.strings("intervals", {"1s", "1m"});
  if (names.empty()) r.problem("intervals", "must list at least one interval");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string key = "intervals[" + std::to_string(i) + "]";
    const std::int64_t ns = ConfigReader::parse_duration_ns(names[i]);
    if (ns < 0) {
      r.problem(key, "must be a duration like 1s, 5m or 1h (got '" + names[i] + "')");
    } else if (ns < 100 * kMs || ns > kDay) {
      r.problem(key, "must be between 100ms and 1d (got '" + names[i] + "')");
    } else if (kDay % ns != 0) {
      r.problem(key, "must divide a day evenly, so bars align on midnight UTC (got '" + names[i] + "')");
    } else if (std::any_of(c.intervals.begin(), c.intervals.end(), [&](const IntervalSpec& s) { return s.ns == ns; })) {
      r.problem(key, "repeats an interval already listed (got '" + names[i] + "')");
    } else {
      c.intervals.push_back({names[i], ns});
    }
  }
  c.input = r.one_of("input", "trades", {"trades", "bars"});
  c.close_delay_ns = r.duration_ns("close_delay", 2 * kSecond, 0, 3'600 * kSecond);
  c.close_on_clock = r.boolean("close_on_clock", true);
  for (auto& s : r.strings("symbols", {})) c.symbols.insert(std::move(s));
  c.max_symbols = r.integer("max_symbols", 10'000, 1, 1'000'000);

  FeatureParams& p = c.params;
  auto period = [&](const char* key, int fallback, int min) {
    return static_cast<int>(r.integer(key, fallback, min, 100'000));
  };
  p.sma_period = period("sma_period", p.sma_period, 1);
  p.ema_period = period("ema_period", p.ema_period, 1);
  p.rsi_period = period("rsi_period", p.rsi_period, 1);
  p.macd_fast = period("macd_fast", p.macd_fast, 1);
  p.macd_slow = period("macd_slow", p.macd_slow, 2);
  p.macd_signal = period("macd_signal", p.macd_signal, 1);
  if (p.macd_fast >= p.macd_slow) {
    r.problem("macd_fast", "must be below macd_slow (" + std::to_string(p.macd_fast) +
                               " >= " + std::to_string(p.macd_slow) + ")");
  }
  p.bollinger_period = period("bollinger_period", p.bollinger_period, 1);
  p.bollinger_k = r.number("bollinger_k", p.bollinger_k, 0.0, 100.0);
  p.atr_period = period("atr_period", p.atr_period, 1);
  p.volatility_period = period("volatility_period", p.volatility_period, 2);
  c.periods_per_year = r.number("volatility_periods_per_year", 0.0, 0.0, 1e12);
  p.vwap_period = period("vwap_period", p.vwap_period, 1);
  p.vwap_session_ns = r.duration_ns("vwap_session", kDay, 0, 366 * kDay);
  p.vwap_session_offset_ns = r.duration_ns("vwap_session_offset", 0, 0, 366 * kDay);
  if (p.vwap_session_ns > 0 && p.vwap_session_offset_ns >= p.vwap_session_ns) {
    r.problem("vwap_session_offset", "must be shorter than vwap_session");
  }
  r.finish();
  out.problems = r.problems();
  return out;
}

FeatureParams params_for(const FeaturesConfig& c, const IntervalSpec& interval) {
  FeatureParams p = c.params;
  p.volatility_periods_per_year = c.periods_per_year > 0.0
                                      ? c.periods_per_year
                                      : kTradingSecondsPerYear * static_cast<double>(kSecond) / static_cast<double>(interval.ns);
  return p;
}

// ---- payload writing: no JSON tree per bar ----

void append_double(std::string& out, double v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

// JSON-escaped, quoted: the core codec's writer.
void append_string(std::string& out, std::string_view s) { append_json_string(out, s); }

void field(std::string& out, std::string_view key) {
  out += ",\"";
  out += key;
  out += "\":";
}

void append_value(std::string& out, std::string_view key, double v) {
  field(out, key);
  append_double(out, v);
}

void append_value(std::string& out, std::string_view key, const std::optional<double>& v) {
  field(out, key);
  if (v) append_double(out, *v);
  else out += "null";
}

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

// The indicator values as (name, value), in payload order.
template <typename Fn>
void for_each_indicator(const FeatureValues& v, Fn&& fn) {
  fn("sma", v.sma);
  fn("ema", v.ema);
  fn("rsi", v.rsi);
  fn("macd", v.macd);
  fn("macd_signal", v.macd_signal);
  fn("macd_histogram", v.macd_histogram);
  fn("bollinger_upper", v.bollinger_upper);
  fn("bollinger_middle", v.bollinger_middle);
  fn("bollinger_lower", v.bollinger_lower);
  fn("atr", v.atr);
  fn("volatility", v.volatility);
  fn("vwap", v.vwap);
  fn("vwap_rolling", v.vwap_rolling);
}

struct IntervalState {
  IntervalState(std::int64_t interval_ns, const FeatureParams& params) : builder(interval_ns), set(params) {}
  BarBuilder builder;
  FeatureSet set;
  std::optional<Bar> held_bar;                   // input = bars: the latest snapshot of the forming bar
  std::int64_t closed_end_ns = std::numeric_limits<std::int64_t>::min();  // input = bars: end of the last bar closed
  std::uint64_t late_bars = 0;
  // Of the last input into the open bar, for a bar the clock closes: its
  // correlation id, or its message id when it has none (rendered only then,
  // so no string is made per trade).
  std::int64_t last_origin_ns = 0;
  std::string last_correlation;
  MessageId last_id;
};

struct SymbolState {
  std::vector<IntervalState> intervals;
};

// A closed and computed bar, published after the lock is released.
struct Update {
  std::string topic;
  std::string payload;
  std::int64_t origin_ns = 0;
  std::string correlation;
};

class FeaturesEngine final : public Engine {
 public:
  std::string_view kind() const override { return "features"; }
  std::string_view description() const override {
    return "streaming technical indicators per symbol and bar interval (SMA, EMA, RSI, MACD, Bollinger, ATR, "
           "realized volatility, VWAP)";
  }
  std::vector<std::string> subscribes_to() const override {
    return {std::string(kTradePrefix) + "*", std::string(kBarPrefix) + "*"};
  }
  std::vector<std::string> publishes() const override { return {"features.<interval>.<symbol>"}; }

  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "status" || cmd == "state") return metrics();
    if (cmd == "reset_vwap") return reset_vwap(args);
    return Engine::command(cmd, args);
  }

 protected:
  std::vector<ConfigProblem> config_problems(const nlohmann::json& config) const override {
    return parse_config(config).problems;
  }

  void on_start(EngineContext& ctx) override {
    ParsedConfig parsed = parse_config(ctx.config);
    if (!parsed.problems.empty()) throw std::invalid_argument(join_problems(parsed.problems));
    std::int64_t check_ns = kSecond;
    for (const auto& i : parsed.config.intervals) check_ns = std::min(check_ns, i.ns);
    {
      std::lock_guard lock(mu_);
      config_ = std::move(parsed.config);
      interval_params_.clear();
      for (const auto& i : config_.intervals) interval_params_.push_back(params_for(config_, i));
      symbols_.clear();
      trades_ = malformed_ = bars_in_ = unmatched_bars_ = symbols_dropped_ = published_ = publish_failures_ = 0;
      refused_by_reason_.fill(0);
    }
    clock_ = &ctx.clock;
    if (config_.input == "trades") {
      subscribe(BusKind::kMarketData, std::string(kTradePrefix) + "*", [this](const Message& m) { on_trade(m); });
    } else {
      subscribe(BusKind::kMarketData, std::string(kBarPrefix) + "*", [this](const Message& m) { on_bar(m); });
    }
    if (config_.close_on_clock) timer_.start(ctx.clock, check_ns, [this] { on_clock(); });
  }

  void on_stop() override { timer_.stop(); }

  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    nlohmann::json syms = nlohmann::json::object();
    std::uint64_t late = 0, refused = 0;
    for (const auto& [sym, state] : symbols_) {
      nlohmann::json row = nlohmann::json::object();
      for (std::size_t i = 0; i < state.intervals.size(); ++i) {
        const IntervalState& is = state.intervals[i];
        const std::string prefix = config_.intervals[i].name + ".";
        late += is.builder.late_trades() + is.late_bars;
        refused += is.set.refused();
        row[prefix + "bars"] = is.set.bars();
        if (is.set.bars() == 0) continue;
        const Bar& b = is.set.last_bar();
        row[prefix + "close_ns"] = b.end_ns;
        row[prefix + "close"] = b.close;
        row[prefix + "volume"] = b.volume;
        for_each_indicator(is.set.values(),
                           [&](const char* name, const std::optional<double>& v) { row[prefix + name] = opt(v); });
      }
      syms[sym] = std::move(row);
    }
    nlohmann::json reasons = nlohmann::json::object();
    std::array<std::uint64_t, features::kBarProblemCount> by_reason = refused_by_reason_;
    for (std::size_t r = 1; r < by_reason.size(); ++r) {
      reasons[std::string(features::to_string(static_cast<features::BarProblem>(r)))] = by_reason[r];
    }
    nlohmann::json intervals = nlohmann::json::array();
    for (const auto& i : config_.intervals) intervals.push_back(i.name);
    return {{"symbols", syms},
            {"trades", trades_},
            {"malformed", malformed_},
            {"late", late},
            {"bars_in", bars_in_},
            {"unmatched_bars", unmatched_bars_},
            {"refused_bars", refused},
            {"refused_by_reason", reasons},
            {"symbols_dropped", symbols_dropped_},
            {"published", published_},
            {"publish_failures", publish_failures_},
            {"input", config_.input},
            {"intervals", intervals}};
  }

 private:
  static std::string_view symbol_of(const Message& m, std::string_view prefix) {
    std::string_view topic = m.topic;
    if (topic.size() > prefix.size() && topic.substr(0, prefix.size()) == prefix) return topic.substr(prefix.size());
    return {};
  }

  // nullptr when the symbol is filtered out or over max_symbols.
  SymbolState* state_of(std::string_view symbol) {
    auto it = symbols_.find(symbol);
    if (it != symbols_.end()) return &it->second;
    if (!config_.symbols.empty() && config_.symbols.find(symbol) == config_.symbols.end()) return nullptr;
    if (symbols_.size() >= static_cast<std::size_t>(config_.max_symbols)) {
      ++symbols_dropped_;
      return nullptr;
    }
    SymbolState s;
    s.intervals.reserve(config_.intervals.size());
    for (std::size_t i = 0; i < config_.intervals.size(); ++i) {
      s.intervals.emplace_back(config_.intervals[i].ns, interval_params_[i]);
    }
    return &symbols_.emplace(std::string(symbol), std::move(s)).first->second;
  }

  static const nlohmann::json* number_field(const nlohmann::json& j, std::initializer_list<const char*> keys) {
    for (const char* key : keys) {
      auto it = j.find(key);
      if (it != j.end()) return it->is_number() ? &*it : nullptr;
    }
    return nullptr;
  }

  // Data plane: a malformed trade is counted and skipped, never thrown.
  void on_trade(const Message& m) {
    const std::string_view symbol = symbol_of(m, kTradePrefix);
    TradeFields trade;
    const bool read = read_trade_fields(m.payload, trade);
    const std::int64_t origin = m.origin_ns != 0 ? m.origin_ns : m.timestamp_ns;
    std::vector<Update> out;
    {
      std::lock_guard lock(mu_);
      const double p = trade.price.value_or(0.0);
      const double q = trade.size.value_or(0.0);
      if (symbol.empty() || !read || !trade.price || !trade.size || !std::isfinite(p) || !std::isfinite(q) || p <= 0.0 ||
          q <= 0.0) {
        ++malformed_;
        return;
      }
      SymbolState* state = state_of(symbol);
      if (!state) return;
      ++trades_;
      const std::int64_t ts = trade.ts_ns.value_or(m.timestamp_ns);
      for (std::size_t i = 0; i < state->intervals.size(); ++i) {
        IntervalState& is = state->intervals[i];
        Bar closed;
        const TradeResult r = is.builder.add_trade(ts, p, q, closed);
        if (r == TradeResult::kClosedBar) {
          // The trade that closed the bar is the chain's trigger.
          if (auto u = compute(symbol, i, is, closed, origin, m)) out.push_back(std::move(*u));
        }
        if (r == TradeResult::kAdded || r == TradeResult::kClosedBar) remember_input(is, origin, m);
      }
    }
    publish_all(out);
  }

  // Data plane: a bar snapshot from the hub (input = "bars").
  void on_bar(const Message& m) {
    const std::string_view symbol = symbol_of(m, kBarPrefix);
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    const std::int64_t origin = m.origin_ns != 0 ? m.origin_ns : m.timestamp_ns;
    std::vector<Update> out;
    {
      std::lock_guard lock(mu_);
      if (symbol.empty() || !j.is_object()) {
        ++malformed_;
        return;
      }
      const nlohmann::json* o = number_field(j, {"open"});
      const nlohmann::json* h = number_field(j, {"high"});
      const nlohmann::json* l = number_field(j, {"low"});
      const nlohmann::json* c = number_field(j, {"close"});
      const nlohmann::json* v = number_field(j, {"volume"});
      auto start = j.find("start_ns");
      std::int64_t interval_ns = -1;
      if (auto in = j.find("interval_ns"); in != j.end() && in->is_number_integer()) {
        interval_ns = in->get<std::int64_t>();
      } else if (auto is = j.find("interval_s"); is != j.end() && is->is_number_integer()) {
        interval_ns = is->get<std::int64_t>() * kSecond;
      }
      if (!o || !h || !l || !c || !v || start == j.end() || !start->is_number_integer() || interval_ns <= 0) {
        ++malformed_;
        return;
      }
      ++bars_in_;
      std::size_t index = config_.intervals.size();
      for (std::size_t i = 0; i < config_.intervals.size(); ++i) {
        if (config_.intervals[i].ns == interval_ns) index = i;
      }
      if (index == config_.intervals.size()) {
        ++unmatched_bars_;
        return;
      }
      SymbolState* state = state_of(symbol);
      if (!state) return;
      Bar b;
      b.start_ns = start->get<std::int64_t>();
      b.end_ns = b.start_ns + interval_ns;
      b.open = o->get<double>();
      b.high = h->get<double>();
      b.low = l->get<double>();
      b.close = c->get<double>();
      b.volume = v->get<double>();
      const nlohmann::json* vw = number_field(j, {"vwap"});
      b.vwap = vw ? vw->get<double>() : features::typical_price(b.high, b.low, b.close);
      if (auto t = j.find("trades"); t != j.end() && t->is_number_unsigned()) b.trades = t->get<std::uint64_t>();
      const bool closed = j.value("closed", false);

      IntervalState& is = state->intervals[index];
      if (b.start_ns < is.closed_end_ns || (is.held_bar && b.start_ns < is.held_bar->start_ns)) {
        ++is.late_bars;
        return;
      }
      if (is.held_bar && b.start_ns > is.held_bar->start_ns) {
        // A newer bar started: the held one is final.
        Bar held = *is.held_bar;
        is.held_bar.reset();
        is.closed_end_ns = held.end_ns;
        if (auto u = compute(symbol, index, is, held, origin, m)) out.push_back(std::move(*u));
      }
      remember_input(is, origin, m);
      if (closed) {
        is.held_bar.reset();
        is.closed_end_ns = b.end_ns;
        if (auto u = compute(symbol, index, is, b, origin, m)) out.push_back(std::move(*u));
      } else {
        is.held_bar = b;
      }
    }
    publish_all(out);
  }

  // The clock timer: closes every bar that ended close_delay ago, symbols in
  // name order and intervals in config order (a deterministic order).
  void on_clock() {
    std::vector<Update> out;
    {
      std::lock_guard lock(mu_);
      const std::int64_t due = clock_->now_ns() - config_.close_delay_ns;
      for (auto& [sym, state] : symbols_) {
        for (std::size_t i = 0; i < state.intervals.size(); ++i) {
          IntervalState& is = state.intervals[i];
          std::optional<Bar> bar = is.builder.close_due(due);
          if (!bar && is.held_bar && is.held_bar->end_ns <= due) {
            bar = is.held_bar;
            is.held_bar.reset();
            is.closed_end_ns = bar->end_ns;
          }
          if (!bar) continue;
          const std::string correlation = !is.last_correlation.empty() ? is.last_correlation : is.last_id.to_string();
          if (auto u = compute_from(sym, i, is, *bar, is.last_origin_ns, correlation)) out.push_back(std::move(*u));
        }
      }
    }
    publish_all(out);
  }

  static void remember_input(IntervalState& is, std::int64_t origin, const Message& m) {
    is.last_origin_ns = origin;
    is.last_correlation.assign(m.correlation_id);  // reuses its capacity
    is.last_id = m.id;
  }

  std::optional<Update> compute(std::string_view symbol, std::size_t index, IntervalState& is, const Bar& bar,
                                std::int64_t origin, const Message& trigger) {
    return compute_from(symbol, index, is, bar, origin,
                        !trigger.correlation_id.empty() ? trigger.correlation_id : trigger.id.to_string());
  }

  // Updates the indicators with a closed bar and renders its feature_update.
  std::optional<Update> compute_from(std::string_view symbol, std::size_t index, IntervalState& is, const Bar& bar,
                                     std::int64_t origin, const std::string& correlation) {
    const Status s = is.set.update(bar);
    if (!s.is_ok()) {
      ++refused_by_reason_[static_cast<std::size_t>(features::check_bar(bar))];
      return std::nullopt;
    }
    const IntervalSpec& interval = config_.intervals[index];
    Update u;
    u.origin_ns = origin;
    u.correlation = correlation;
    u.topic.reserve(10 + interval.name.size() + symbol.size());
    u.topic = "features.";
    u.topic += interval.name;
    u.topic += '.';
    u.topic += symbol;
    std::string& p = u.payload;
    p.reserve(640);
    p = "{\"symbol\":";
    append_string(p, symbol);
    field(p, "interval");
    append_string(p, interval.name);
    field(p, "bar_index");
    append_int(p, static_cast<std::int64_t>(is.set.bars() - 1));
    field(p, "start_ns");
    append_int(p, bar.start_ns);
    field(p, "close_ns");
    append_int(p, bar.end_ns);
    append_value(p, "open", bar.open);
    append_value(p, "high", bar.high);
    append_value(p, "low", bar.low);
    append_value(p, "close", bar.close);
    append_value(p, "volume", bar.volume);
    append_value(p, "bar_vwap", bar.vwap);
    field(p, "trades");
    append_int(p, static_cast<std::int64_t>(bar.trades));
    for_each_indicator(is.set.values(), [&](const char* name, const std::optional<double>& v) { append_value(p, name, v); });
    p += '}';
    return u;
  }

  void publish_all(std::vector<Update>& updates) {
    // Outside the lock: a full subscriber queue may block the publisher.
    for (auto& u : updates) {
      auto msg = make_message(std::move(u.topic), MessageType::kFeatureUpdate, std::move(u.payload), Priority::kNormal);
      msg->origin_ns = u.origin_ns;
      msg->correlation_id = std::move(u.correlation);
      const bool ok = publish(std::move(msg));
      std::lock_guard lock(mu_);
      ++(ok ? published_ : publish_failures_);
    }
  }

  nlohmann::json reset_vwap(const nlohmann::json& args) {
    if (!args.is_null() && !args.is_object()) throw std::invalid_argument("reset_vwap takes {symbol?, interval?}");
    const std::string symbol = args.is_object() ? args.value("symbol", std::string()) : std::string();
    const std::string interval = args.is_object() ? args.value("interval", std::string()) : std::string();
    std::lock_guard lock(mu_);
    if (!interval.empty() && std::none_of(config_.intervals.begin(), config_.intervals.end(),
                                          [&](const IntervalSpec& s) { return s.name == interval; })) {
      throw std::invalid_argument("no interval '" + interval + "' is configured");
    }
    std::uint64_t reset = 0;
    for (auto& [sym, state] : symbols_) {
      if (!symbol.empty() && sym != symbol) continue;
      for (std::size_t i = 0; i < state.intervals.size(); ++i) {
        if (!interval.empty() && config_.intervals[i].name != interval) continue;
        state.intervals[i].set.reset_session_vwap();
        ++reset;
      }
    }
    return {{"reset", reset}};
  }

  mutable std::mutex mu_;
  FeaturesConfig config_;
  std::vector<FeatureParams> interval_params_;
  std::map<std::string, SymbolState, std::less<>> symbols_;
  Clock* clock_ = nullptr;
  PeriodicTimer timer_;
  std::uint64_t trades_ = 0, malformed_ = 0, bars_in_ = 0, unmatched_bars_ = 0, symbols_dropped_ = 0;
  std::uint64_t published_ = 0, publish_failures_ = 0;
  std::array<std::uint64_t, features::kBarProblemCount> refused_by_reason_{};
};

}  // namespace

std::unique_ptr<Engine> make_features_engine() { return std::make_unique<FeaturesEngine>(); }

}  // namespace nautilus
