#include "marketdata/marketdata_engine.h"

#include "engines/config_reader.h"

#include <algorithm>
#include <charconv>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/message.h"
#include "engines/config_reader.h"
#include "core/periodic_timer.h"
#include "marketdata/redis_shared_cache.h"
#include "marketdata/sources/http_source.h"
#include "marketdata/sources/replay_source.h"
#include "marketdata/sources/synthetic_fundamentals.h"
#include "marketdata/sources/synthetic_source.h"

namespace nautilus::md {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::size_t kMaxSymbolsPerRequest = 1000;
constexpr std::size_t kMaxStreamedSymbols = 10'000;
const std::vector<std::string> kDefaultSymbols = {"AAPL", "MSFT", "SPY", "ES", "BTCUSD"};
// What a synthetic source without `symbols` serves (nautilusd.conf(5)).
const std::vector<std::string> kDefaultUniverse = {
    "AAPL", "MSFT", "GOOGL", "AMZN", "META", "NVDA", "TSLA", "JPM", "BAC", "XOM", "JNJ", "PG", "V", "MA", "UNH",
    "HD",   "KO",   "PEP",   "IBM",  "INTC", "AMD",  "NFLX", "DIS", "SPY", "QQQ", "IWM", "DIA", "ES", "NQ", "CL",
    "GC",   "ZN",   "BTCUSD", "ETHUSD", "EURUSD", "USDJPY", "GBPUSD"};

MessageType message_type_of(DataType t) {
  switch (t) {
    case DataType::kTick: return MessageType::kTick;
    case DataType::kQuote: return MessageType::kQuote;
    case DataType::kTrade: return MessageType::kTrade;
    case DataType::kBar: return MessageType::kBar;
    case DataType::kLevel2: return MessageType::kLevel2;
    case DataType::kNews: return MessageType::kNews;
    case DataType::kFundamental: return MessageType::kFundamental;
    case DataType::kEconomic: return MessageType::kEconomic;
  }
  return MessageType::kMarketData;
}

// Control-plane arguments arrive as JSON values or, from GET query strings, as
// text: accept an array or a comma-separated string.
std::vector<std::string> string_list(const nlohmann::json& args, const char* plural, const char* singular) {
  std::vector<std::string> out;
  auto add_text = [&](const std::string& s) {
    std::size_t start = 0;
    while (start <= s.size()) {
      std::size_t comma = s.find(',', start);
      std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) out.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  };
  for (const char* key : {plural, singular}) {
    if (!args.contains(key)) continue;
    const auto& v = args.at(key);
    if (v.is_string()) {
      add_text(v.get<std::string>());
    } else if (v.is_array()) {
      for (const auto& e : v) {
        if (!e.is_string()) throw std::invalid_argument(std::string(plural) + ": expected strings");
        add_text(e.get<std::string>());
      }
    } else if (!v.is_null()) {
      throw std::invalid_argument(std::string(plural) + ": expected a string or an array of strings");
    }
  }
  return out;
}

bool flag(const nlohmann::json& args, const char* key) {
  if (!args.contains(key)) return false;
  const auto& v = args.at(key);
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<long long>() != 0;
  if (v.is_string()) {
    auto s = v.get<std::string>();
    if (s == "true" || s == "1" || s == "yes" || s.empty()) return true;
    if (s == "false" || s == "0" || s == "no") return false;
  }
  throw std::invalid_argument(std::string(key) + ": expected a boolean");
}

std::string text(const nlohmann::json& args, const char* key) {
  if (!args.contains(key) || args.at(key).is_null()) return {};
  if (!args.at(key).is_string()) throw std::invalid_argument(std::string(key) + ": expected a string");
  return args.at(key).get<std::string>();
}

std::vector<DataType> parse_types(const std::vector<std::string>& names, std::vector<DataType> fallback) {
  if (names.empty()) return fallback;
  std::vector<DataType> out;
  for (const auto& n : names) {
    auto t = parse_data_type(n);
    if (!t) {
      throw std::invalid_argument("unknown data type '" + n +
                                  "' (tick, quote, trade, bar, level2, news, fundamental, economic)");
    }
    if (std::find(out.begin(), out.end(), *t) == out.end()) out.push_back(*t);
  }
  return out;
}

// A string or an array of strings, each possibly comma-separated (config
// `symbols`, `stream_types`), read through the config reader.
std::vector<std::string> config_list(ConfigReader& r, const char* key, std::vector<std::string> fallback) {
  const nlohmann::json& v = r.raw(key);
  if (v.is_null()) return fallback;
  if (!v.is_string() && !v.is_array()) {
    r.problem(key, "must be a string or an array of strings");
    return fallback;
  }
  try {
    nlohmann::json args = {{key, v}};
    return string_list(args, key, key);
  } catch (const std::invalid_argument&) {
    r.problem(key, "must be a string or an array of strings");
    return fallback;
  }
}

RateLimit rate_limit_of(ConfigReader& r) {
  RateLimit rl;
  rl.per_second = r.number("rate_per_s", 0.0, 0.0, 1e9);
  rl.burst = r.number("burst", std::max(1.0, rl.per_second), 1.0, 1e9);
  return rl;
}

// An HTTP provider's table: every key but `kind` defaults to the provider's
// documented values (http_providers()).
std::unique_ptr<Source> make_http_source_from(const HttpProvider& p, ConfigReader& r) {
  HttpSourceConfig c;
  c.kind = std::string(p.kind);
  c.name = r.string("name", std::string(p.kind));
  c.key = r.string("key", "");
  c.base_url = r.string("base_url", std::string(p.base_url));
  c.aux_url = r.string("aux_url", std::string(p.aux_url));
  if (r.has("priority")) c.priority = static_cast<int>(r.integer("priority", p.priority, -1'000'000, 1'000'000));
  if (r.has("rate_per_s") || r.has("burst")) {
    RateLimit rl;
    rl.per_second = r.number("rate_per_s", p.rate_limit.per_second, 0.0, 1e9);
    rl.burst = r.number("burst", std::max(1.0, p.rate_limit.burst), 1.0, 1e9);
    c.rate_limit = rl;
  }
  c.http.timeout_ms = r.integer("timeout_ms", c.http.timeout_ms, 1, 600'000);
  c.http.connect_timeout_ms = std::min(c.http.timeout_ms, r.integer("connect_timeout_ms", c.http.connect_timeout_ms, 1, 600'000));
  c.http.max_body_bytes = static_cast<std::size_t>(
      r.integer("max_body_bytes", p.kind == "edgar" ? 64 << 20 : static_cast<std::int64_t>(c.http.max_body_bytes), 1024, 1LL << 32));
  c.user_agent_set = r.has("user_agent");
  c.http.user_agent = r.string("user_agent", c.http.user_agent);
  c.http.verify_tls = r.boolean("verify_tls", true);
  c.observations = r.integer("observations", c.observations, 1, 100'000);
  c.bar_interval = r.string("bar_interval", "");
  c.history = r.boolean("history", c.history);
  for (const char* url_key : {"base_url", "aux_url"}) {
    std::string url = url_key == std::string_view("base_url") ? c.base_url : c.aux_url;
    if (!url.empty() && !url.starts_with("http://") && !url.starts_with("https://")) {
      r.problem(url_key, "must start with http:// or https://");
    }
  }
  return make_http_source(std::move(c));
}

// Reads one [[engines.marketdata.sources]] table; nullptr when it has problems.
std::unique_ptr<Source> make_source(Clock& clock, ConfigReader& r, const std::vector<std::string>& stream_symbols) {
  const std::size_t problems_before = r.problems().size();
  std::string kind = r.one_of("kind", "synthetic",
                              {"synthetic", "replay", "ibkr", "alphavantage", "yahoo", "fred", "tradingeconomics",
                               "dbnomics", "edgar", "datagov"});
  if (r.problems().size() != problems_before) {  // an unknown kind: its other keys mean nothing
    for (const auto& k : r.keys()) r.accept(k);
    return nullptr;
  }
  if (const HttpProvider* provider = find_http_provider(kind)) return make_http_source_from(*provider, r);
  if (kind == "synthetic") {
    SyntheticSourceConfig c;
    c.name = r.string("name", "synthetic");
    c.priority = static_cast<int>(r.integer("priority", 1000, -1'000'000, 1'000'000));
    c.rate_limit = rate_limit_of(r);
    c.feed.seed = static_cast<std::uint64_t>(r.integer("seed", 42, 0, INT64_MAX));
    c.feed.start_ns = clock.now_ns();
    c.feed.start_price = r.number("start_price", 0.0, 0.0, 1e9);
    c.feed.volatility = r.number("volatility", 0.30, 0.0, 100.0);
    c.feed.drift = r.number("drift", 0.0, -100.0, 100.0);
    c.feed.jumps_per_hour = r.number("jumps_per_hour", 0.5, 0.0, 1e6);
    c.feed.jump_stddev = r.number("jump_stddev", 0.01, 0.0, 1.0);
    c.feed.trades_per_second = r.number("trades_per_second", 5.0, 0.0, 1e6);
    c.feed.step_ns = r.integer("step_ms", 100, 1, 3'600'000) * kMs;
    for (auto& cr : r.tables("crashes")) {
      CrashEpisode e;
      e.symbol = cr.string("symbol", "");
      e.start_ns = c.feed.start_ns + static_cast<std::int64_t>(cr.number("at_s", 60.0, 0.0, 1e8) * 1e9);
      e.duration_ns = static_cast<std::int64_t>(cr.number("duration_s", 30.0, 0.001, 1e8) * 1e9);
      e.plunge = cr.number("plunge_pct", 10.0, -99.999, 99.999) / 100.0;
      e.volume_multiplier = cr.number("volume_x", 5.0, 0.001, 1e6);
      c.feed.crashes.push_back(e);
    }
    for (const auto& sym : config_list(r, "symbols", {})) c.symbols.insert(sym);
    for (const auto& sym : config_list(r, "symbol", {})) c.symbols.insert(sym);
    // No `symbols`: the default universe plus what the engine streams. An
    // unknown symbol is "not found", never an invented price.
    if (c.symbols.empty()) {
      c.symbols.insert(kDefaultUniverse.begin(), kDefaultUniverse.end());
      c.symbols.insert(synthetic_universe().begin(), synthetic_universe().end());  // the fundamentals' universe
      c.symbols.insert(stream_symbols.begin(), stream_symbols.end());
    }
    return std::make_unique<SyntheticSource>(c);
  }
  ReplayConfig c;
  c.name = r.string("name", "replay");
  c.priority = static_cast<int>(r.integer("priority", 2000, -1'000'000, 1'000'000));
  c.rate_limit = rate_limit_of(r);
  c.speed = r.number("speed", 1.0, 1e-6, 1e6);
  const std::string mode = r.string("mode", "snapshot");
  if (mode == "every_row") c.mode = ReplayMode::kEveryRow;
  else if (mode != "snapshot") r.problem("mode", "must be \"snapshot\" or \"every_row\", not \"" + mode + "\"");
  std::string path = r.string("path", "");
  if (path.empty()) {
    r.problem("path", "a replay source needs a CSV file");
    return nullptr;
  }
  ReplayTable table;
  Status st = ReplayTable::load(path, table);
  if (!st.is_ok()) {
    r.problem("path", st.message());
    return nullptr;
  }
  return std::make_unique<ReplaySource>(c, std::move(table));
}

// The engine's own keys beside the hub's.
struct StreamConfig {
  std::int64_t interval_ms = 1000;
  std::vector<DataType> types;
  std::vector<std::string> symbols;
};

StreamConfig read_stream_config(ConfigReader& r) {
  StreamConfig sc;
  sc.interval_ms = r.integer("stream_interval_ms", 1000, 10, 3'600'000);
  std::vector<std::string> names = config_list(r, "stream_types", {});
  for (auto& n : config_list(r, "stream_type", {})) names.push_back(n);
  try {
    sc.types = parse_types(names, {DataType::kQuote, DataType::kTrade, DataType::kBar});
  } catch (const std::invalid_argument& e) {
    r.problem("stream_types", e.what());
  }
  sc.symbols = r.has("symbols") ? config_list(r, "symbols", {}) : kDefaultSymbols;
  for (const auto& s : config_list(r, "symbol", {})) sc.symbols.push_back(s);
  for (const auto& s : sc.symbols) {
    if (!valid_symbol(s)) r.problem("symbols", "invalid symbol '" + s + "'");
  }
  return sc;
}

std::unique_ptr<Hub> read_hub_config(Clock& clock, ConfigReader& r);

// An integer argument (JSON number or query-string text) within [lo, hi].
std::int64_t integer_arg(const nlohmann::json& args, const char* key, std::int64_t fallback, std::int64_t lo,
                         std::int64_t hi) {
  if (!args.contains(key) || args.at(key).is_null()) return fallback;
  const auto& v = args.at(key);
  std::int64_t n = 0;
  if (v.is_number_integer()) {
    n = v.get<std::int64_t>();
  } else if (v.is_string()) {
    const std::string t = v.get<std::string>();
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    if (ec != std::errc() || p != t.data() + t.size()) throw std::invalid_argument(std::string(key) + ": expected an integer");
  } else {
    throw std::invalid_argument(std::string(key) + ": expected an integer");
  }
  if (n < lo || n > hi) {
    throw std::invalid_argument(std::string(key) + ": must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return n;
}

class MarketDataEngine final : public Engine {
 public:
  explicit MarketDataEngine(std::shared_ptr<HistoryReader> history) : history_(std::move(history)) {}

  std::string_view kind() const override { return "marketdata"; }
  std::string_view description() const override {
    return "market data hub: cache, sources, fallback; streams marketdata.real_time.<type>.<symbol>";
  }
  std::vector<std::string> subscribes_to() const override { return {"marketdata.request*", "marketdata.subscribe*"}; }
  std::vector<std::string> publishes() const override {
    return {"marketdata.real_time.<type>.<symbol>", "marketdata.reply.<requester>"};
  }

  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "get") return cmd_get(args);
    if (cmd == "sources") return cmd_sources();
    if (cmd == "probe") return cmd_probe();
    if (cmd == "stats") return cmd_stats();
    if (cmd == "history") return cmd_history(args);
    if (cmd == "subscribe" || cmd == "unsubscribe") {
      auto symbols = string_list(args, "symbols", "symbol");
      if (symbols.empty()) throw std::invalid_argument("symbols: at least one");
      for (const auto& s : symbols) {
        if (!valid_symbol(s)) throw std::invalid_argument("invalid symbol '" + s + "'");
      }
      cmd == "subscribe" ? stream_add(symbols) : stream_remove(symbols);
      return {{"streaming", streamed_list()}};
    }
    return Engine::command(cmd, args);
  }

  std::vector<ConfigProblem> config_problems(const nlohmann::json& config) const override {
    SimulatedClock clock;  // sources are built (a replay file is read), nothing connects
    ConfigReader r(config);
    (void)read_hub_config(clock, r);
    (void)read_stream_config(r);
    r.finish();
    return r.problems();
  }

 protected:
  void on_start(EngineContext& ctx) override {
    ConfigReader r(ctx.config);
    auto hub = std::shared_ptr<Hub>(read_hub_config(ctx.clock, r));
    if (history_) hub->set_history(history_);
    StreamConfig sc = read_stream_config(r);
    r.finish();
    r.throw_if_problems();
    std::int64_t interval_ms = sc.interval_ms;
    auto types = sc.types;
    std::vector<std::string> symbols = sc.symbols;
    // Trades are streamed in full (every trade since the last tick) from the
    // first synthetic source, so trade consumers (VPIN) see the whole tape;
    // other types are snapshots through the cache.
    std::shared_ptr<SyntheticFeed> tape;
    for (const auto& st : hub->sources()) {
      if (st.kind == "synthetic") {
        tape = static_cast<SyntheticSource*>(hub->find_source(st.name))->shared_feed();
        tape_source_ = st.name;
        break;
      }
    }
    // Replays in every_row mode publish their whole file; the snapshot stream
    // leaves their (type, symbol) pairs alone so nothing is published twice.
    std::vector<ReplaySource*> every_row;
    for (const auto& st : hub->sources()) {
      if (st.kind != "replay") continue;
      auto* replay = static_cast<ReplaySource*>(hub->find_source(st.name));
      if (replay->mode() == ReplayMode::kEveryRow) every_row.push_back(replay);
    }
    {
      std::lock_guard lock(mu_);
      hub_ = hub;
      tape_ = tape;
      every_row_ = every_row;
      stream_types_ = types;
      interval_ns_ = interval_ms * kMs;
      streamed_.clear();
      last_published_.clear();
      last_trade_ns_ = ctx.clock.now_ns();
    }
    stream_add(symbols);
    clock_ = &ctx.clock;
    subscribe(BusKind::kEngine, "marketdata.request*", [this](const Message& m) { on_request(m); });
    subscribe(BusKind::kEngine, "marketdata.subscribe*", [this](const Message& m) { on_subscribe(m); });
    timer_.start(ctx.clock, interval_ns_, [this] { stream_tick(); });
  }

  void on_stop() override {
    timer_.stop();
    std::lock_guard lock(mu_);
    every_row_.clear();
    hub_.reset();
    tape_.reset();
  }

  nlohmann::json metrics() const override {
    auto hub = current_hub();
    if (!hub) return nlohmann::json::object();
    nlohmann::json j = to_json(hub->stats());
    j["published"] = published_.load();
    j["requests_answered"] = answered_.load();
    j["streaming_symbols"] = streamed_list().size();
    return j;
  }

 private:
  std::shared_ptr<Hub> current_hub() const {
    std::lock_guard lock(mu_);
    return hub_;
  }
  std::shared_ptr<Hub> running_hub() const {
    auto hub = current_hub();
    if (!hub) throw std::runtime_error("the marketdata engine is not running");
    return hub;
  }

  std::vector<std::string> streamed_list() const {
    std::lock_guard lock(mu_);
    return {streamed_.begin(), streamed_.end()};
  }
  void stream_add(const std::vector<std::string>& symbols) {
    std::lock_guard lock(mu_);
    for (const auto& s : symbols) {
      if (streamed_.size() >= kMaxStreamedSymbols) break;
      streamed_.insert(s);
    }
  }
  void stream_remove(const std::vector<std::string>& symbols) {
    std::lock_guard lock(mu_);
    for (const auto& s : symbols) streamed_.erase(s);
  }

  void publish_data(const std::string& symbol, DataType type, const std::string& source, const std::string& payload) {
    // {"symbol":..,"type":..,"source":..,<the data's own fields>}
    std::string body = "{\"symbol\":";
    append_json(body, symbol);
    body += ",\"type\":\"";
    body += to_string(type);
    body += "\",\"source\":";
    append_json(body, source);
    if (payload.size() > 2) {
      body += ',';
      body.append(payload, 1, std::string::npos);
    } else {
      body += '}';
    }
    std::string topic = "marketdata.real_time.";
    topic += to_string(type);
    topic += '.';
    topic += symbol;
    if (publish(make_message(std::move(topic), message_type_of(type), std::move(body)))) ++published_;
  }

  static void append_json(std::string& out, const std::string& s) { out += nlohmann::json(s).dump(); }

  void stream_tick() {
    std::shared_ptr<Hub> hub;
    std::shared_ptr<SyntheticFeed> tape;
    std::vector<ReplaySource*> every_row;  // owned by `hub`, held here
    std::vector<std::string> symbols;
    std::vector<DataType> types;
    std::int64_t from = 0;
    const std::int64_t now = clock_->now_ns();
    {
      std::lock_guard lock(mu_);
      hub = hub_;
      tape = tape_;
      every_row = every_row_;
      symbols.assign(streamed_.begin(), streamed_.end());
      types = stream_types_;
      from = last_trade_ns_;
      last_trade_ns_ = now;
    }
    if (!hub) return;
    for (ReplaySource* replay : every_row) {
      const DataType type = replay->row_type();
      for (const ReplayRow* row : replay->advance(now)) publish_data(row->symbol, type, replay->info().name, row->payload);
    }
    auto replayed_in_full = [&every_row](DataType type, const std::string& symbol) {
      for (const ReplaySource* replay : every_row) {
        if (replay->row_type() == type && replay->has_symbol(symbol)) return true;
      }
      return false;
    };
    GetOptions opt;
    opt.client = "stream";
    for (DataType type : types) {
      for (const auto& symbol : symbols) {
        if (replayed_in_full(type, symbol)) continue;
        if (type == DataType::kTrade && tape) {
          for (const auto& t : tape->trades_between(symbol, from, now)) {
            publish_data(symbol, type, tape_source_, trade_json(t));
          }
          continue;
        }
        GetResult r = hub->get(symbol, type, opt);
        if (!r.ok()) continue;
        // Publish only what changed: a cached answer is the same data again.
        Key key{symbol, type};
        {
          std::lock_guard lock(mu_);
          auto& last = last_published_[key];
          if (last == r.data) continue;
          last = r.data;
        }
        publish_data(symbol, type, r.data->source, r.data->payload);
      }
    }
    bool all_down = true;
    auto sources = hub->sources();
    for (const auto& s : sources) all_down = all_down && s.health == "down";
    all_down = all_down && !sources.empty();
    SharedTierStats shared = hub->shared_tier_stats();
    bool shared_down = shared.enabled && !shared.tier.up;
    std::string why;
    if (all_down) why = "every market data source is down";
    if (shared_down) {
      why += why.empty() ? "" : "; ";
      why += "shared cache unreachable (" + shared.tier.last_error + "), serving local-only";
    }
    if (why != degraded_reason_) {
      degraded_reason_ = why;
      set_degraded(!why.empty(), why);
    }
  }

  nlohmann::json answer(const nlohmann::json& args, std::string_view client) {
    auto hub = running_hub();
    auto symbols = string_list(args, "symbols", "symbol");
    if (symbols.empty()) throw std::invalid_argument("symbols: at least one symbol");
    if (symbols.size() > kMaxSymbolsPerRequest) throw std::invalid_argument("symbols: at most 1000 per request");
    auto types = parse_types(string_list(args, "types", "type"), {DataType::kQuote});
    std::string source = text(args, "source");
    GetOptions opt;
    opt.client = client;
    opt.source = source;
    opt.fresh = flag(args, "fresh");
    nlohmann::json results = nlohmann::json::array();
    for (const auto& symbol : symbols) {
      for (DataType t : types) results.push_back(to_json(hub->get(symbol, t, opt), symbol, t));
    }
    return {{"results", results}};
  }

  nlohmann::json cmd_get(const nlohmann::json& args) {
    std::string client = text(args, "client");
    return answer(args, client.empty() ? "control" : client);
  }

  // {symbol, type (bar), from_ns, to_ns, limit}: the store first, then the
  // sources that keep history (Hub::history).
  nlohmann::json cmd_history(const nlohmann::json& args) {
    auto hub = running_hub();
    HistoryRequest req;
    req.symbol = text(args, "symbol");
    if (!valid_symbol(req.symbol)) throw std::invalid_argument("symbol: a valid symbol is required");
    req.type = parse_types(string_list(args, "type", "type"), {DataType::kBar}).front();
    req.from_ns = integer_arg(args, "from_ns", 0, 0, INT64_MAX);
    req.to_ns = integer_arg(args, "to_ns", INT64_MAX, 0, INT64_MAX);
    req.limit = static_cast<std::size_t>(integer_arg(args, "limit", 10'000, 1, 100'000));
    HistoryResult r = hub->history(req);
    nlohmann::json points = nlohmann::json::array();
    for (const auto& d : r.points) {
      auto payload = nlohmann::json::parse(d->payload, nullptr, /*allow_exceptions=*/false);
      points.push_back({{"ts_ns", d->as_of_ns},
                        {"source", d->source},
                        {"payload", payload.is_discarded() ? nlohmann::json(d->payload) : payload}});
    }
    nlohmann::json j = {{"symbol", req.symbol}, {"type", std::string(to_string(req.type))}, {"points", points},
                        {"count", r.points.size()}, {"truncated", r.points.size() >= req.limit}};
    if (r.ok()) {
      j["answered_by"] = r.answered_by;
    } else {
      j["error"] = std::string(to_string(r.error));
      j["message"] = r.message;
    }
    return j;
  }

  nlohmann::json cmd_sources() {
    auto hub = running_hub();
    std::int64_t now = hub->clock().now_ns();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : hub->sources()) list.push_back(to_json(s, now));
    nlohmann::json chains = nlohmann::json::object();
    for (auto t : all_data_types()) chains[std::string(to_string(t))] = hub->chain(t);
    return {{"sources", list}, {"chains", chains}};
  }

  // One real call per enabled HTTP source (its provider's probe symbol,
  // through the hub so limits and breakers apply), for checking keys.
  nlohmann::json cmd_probe() {
    auto hub = running_hub();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& st : hub->sources()) {
      nlohmann::json row = {{"name", st.name}, {"kind", st.kind}};
      auto* http = dynamic_cast<HttpSource*>(hub->find_source(st.name));
      if (http == nullptr) {
        row["result"] = "skipped";
        row["message"] = "not an HTTP source";
      } else if (!http->info().disabled.empty()) {
        row["result"] = "disabled";
        row["message"] = st.health;
      } else {
        GetOptions opt;
        opt.client = "probe";
        opt.source = st.name;
        opt.fresh = true;
        const HttpProvider& p = http->provider();
        GetResult r = hub->get(p.probe_symbol, p.probe_type, opt);
        row["symbol"] = p.probe_symbol;
        row["type"] = to_string(p.probe_type);
        row["result"] = r.ok() ? std::string("ok") : std::string(to_string(r.error));
        row["message"] = r.message;
      }
      list.push_back(row);
    }
    return {{"probes", list}};
  }

  nlohmann::json cmd_stats() {
    auto hub = running_hub();
    nlohmann::json j = to_json(hub->stats());
    j["published"] = published_.load();
    j["requests_answered"] = answered_.load();
    j["streaming"] = streamed_list();
    return j;
  }

  void on_request(const Message& m) {
    nlohmann::json reply;
    auto args = nlohmann::json::parse(m.payload, nullptr, /*allow_exceptions=*/false);
    std::string reply_to;
    if (args.is_object() && args.contains("reply_to") && args["reply_to"].is_string()) {
      reply_to = args["reply_to"].get<std::string>();
    }
    if (reply_to.empty()) reply_to = "marketdata.reply." + (m.source.empty() ? std::string("anonymous") : m.source);
    try {
      if (!args.is_object()) throw std::invalid_argument("the request payload must be a JSON object");
      reply = answer(args, m.source);
    } catch (const std::exception& e) {
      reply = {{"error", "bad_request"}, {"message", e.what()}};
    }
    auto msg = make_message(reply_to, MessageType::kMarketData, reply.dump(), m.priority, name());
    msg->correlation_id = m.correlation_id.empty() ? m.id.to_string() : m.correlation_id;
    msg->origin_ns = m.origin_ns != 0 ? m.origin_ns : m.timestamp_ns;
    // Replies go to the requester on the engine bus, whatever their type says.
    if (router().publish(BusKind::kEngine, std::move(msg)).is_ok()) ++answered_;
  }

  void on_subscribe(const Message& m) {
    auto args = nlohmann::json::parse(m.payload, nullptr, false);
    if (!args.is_object()) return;
    std::vector<std::string> symbols;
    try {
      symbols = string_list(args, "symbols", "symbol");
    } catch (const std::exception&) {
      return;  // counted nowhere else; a bad subscribe changes nothing
    }
    std::vector<std::string> ok;
    for (auto& s : symbols) {
      if (valid_symbol(s)) ok.push_back(std::move(s));
    }
    if (args.value("unsubscribe", false)) {
      stream_remove(ok);
    } else {
      stream_add(ok);
    }
  }

  const std::shared_ptr<HistoryReader> history_;  // null: the sources only
  mutable std::mutex mu_;
  std::shared_ptr<Hub> hub_;
  std::shared_ptr<SyntheticFeed> tape_;
  std::string tape_source_;
  std::vector<ReplaySource*> every_row_;  // sources of hub_
  std::set<std::string> streamed_;
  std::vector<DataType> stream_types_;
  std::unordered_map<Key, DataPtr, KeyHash, KeyEq> last_published_;
  std::int64_t last_trade_ns_ = 0;
  std::int64_t interval_ns_ = 0;
  std::string degraded_reason_;

  Clock* clock_ = nullptr;
  PeriodicTimer timer_;
  std::atomic<std::uint64_t> published_{0}, answered_{0};
};

}  // namespace

namespace {

std::unique_ptr<Hub> read_hub_config(Clock& clock, ConfigReader& r) {
  HubConfig hc;
  {
    ConfigReader c = r.table("cache");
    hc.cache.capacity = static_cast<std::size_t>(c.integer("capacity", static_cast<std::int64_t>(hc.cache.capacity), 1, 1'000'000'000));
    ConfigReader ttl = c.table("ttl_ms");
    for (const auto& k : ttl.keys()) {
      auto t = parse_data_type(k);
      double ms = ttl.number(k, 0.0, 0.0, 1e12);
      if (!t) ttl.problem(k, "unknown data type (tick, quote, trade, bar, level2, news, fundamental, economic)");
      else hc.cache.set_ttl(*t, static_cast<std::int64_t>(ms * 1e6));
    }
    hc.stale_while_revalidate = c.boolean("stale_while_revalidate", false);
  }
  hc.prefetch = r.boolean("prefetch", true);
  std::shared_ptr<SharedCache> shared;
  RedisSharedCacheConfig sc;
  std::string url = r.string("shared_cache", "");
  hc.shared_lock_ttl_ns = r.integer("shared_cache_lock_ttl_ms", hc.shared_lock_ttl_ns / kMs, 1, 600'000) * kMs;
  sc.timeout_ms = static_cast<int>(r.integer("shared_cache_timeout_ms", sc.timeout_ms, 1, 600'000));
  sc.retry_ms = static_cast<int>(r.integer("shared_cache_retry_ms", sc.retry_ms, 1, 3'600'000));
  if (!url.empty()) {
    sc.url = url;
    try {
      shared = make_redis_shared_cache(sc);  // checks the URL; does not connect
    } catch (const std::invalid_argument& e) {
      r.problem("shared_cache", e.what());
    }
  }
  {
    ConfigReader b = r.table("breaker");
    hc.breaker.failure_threshold = static_cast<int>(b.integer("failures", hc.breaker.failure_threshold, 1, 1'000'000));
    hc.breaker.cooldown_ns = b.integer("cooldown_ms", hc.breaker.cooldown_ns / kMs, 0, 86'400'000) * kMs;
  }
  auto hub = std::make_unique<Hub>(clock, hc);
  if (shared) hub->set_shared_cache(std::move(shared));
  std::vector<std::string> stream_symbols = kDefaultSymbols;
  if (const nlohmann::json& listed = r.raw("symbols"); listed.is_array() || listed.is_string()) {
    try {
      stream_symbols = string_list(nlohmann::json{{"symbols", listed}}, "symbols", "symbols");
    } catch (const std::invalid_argument&) {
      // read_stream_config() reports what is wrong with the list
    }
  }
  auto source_readers = r.tables("sources");
  for (std::size_t i = 0; i < source_readers.size(); ++i) {
    auto src = make_source(clock, source_readers[i], stream_symbols);
    if (!src) continue;
    try {
      hub->add_source(std::move(src));
    } catch (const std::invalid_argument& e) {  // e.g. two sources with one name
      source_readers[i].problem("name", e.what());
    }
  }
  if (hub->sources().empty()) {
    static const nlohmann::json kDefaultSource = nlohmann::json::object();
    ConfigReader none(kDefaultSource);
    hub->add_source(make_source(clock, none, stream_symbols));
  }
  return hub;
}

}  // namespace

std::unique_ptr<Hub> make_hub_from_config(Clock& clock, const nlohmann::json& config) {
  ConfigReader r(config);
  auto hub = read_hub_config(clock, r);
  r.throw_if_problems();  // the engine's stream keys may sit beside the hub's: no finish()
  return hub;
}

std::unique_ptr<Engine> make_marketdata_engine(std::shared_ptr<HistoryReader> history) {
  return std::make_unique<MarketDataEngine>(std::move(history));
}

void register_marketdata_engine(EngineRegistry& registry, std::shared_ptr<HistoryReader> history) {
  registry.add({"marketdata",
                "market data hub: cache, sources, fallback; streams marketdata.real_time.<type>.<symbol>",
                [history] { return make_marketdata_engine(history); }});
}

std::string HistoryLink::describe() const {
  std::lock_guard lock(mu_);
  return target_ ? target_->describe() : "no history store";
}

std::vector<DataPtr> HistoryLink::read(const HistoryRequest& request) {
  std::shared_ptr<HistoryReader> target;
  {
    std::lock_guard lock(mu_);
    target = target_;
  }
  return target ? target->read(request) : std::vector<DataPtr>{};
}

void HistoryLink::set(std::shared_ptr<HistoryReader> target) {
  std::lock_guard lock(mu_);
  target_ = std::move(target);
}

}  // namespace nautilus::md
