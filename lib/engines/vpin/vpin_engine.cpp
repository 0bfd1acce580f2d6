#include "engines/vpin/vpin_engine.h"

#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/message.h"
#include "engines/trade_fields.h"
#include "engines/vpin/vpin_calculator.h"

namespace nautilus {
namespace {

using vpin::VpinBucket;
using vpin::VpinCalculator;
using vpin::VpinConfig;

constexpr std::string_view kTradePrefix = "marketdata.real_time.trade.";

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

// What VPIN takes from a trade: the symbol (the payload's, else the topic's),
// price, size and market time (else the message's stamp).
struct TradeInput {
  std::string symbol;
  double price = 0.0;
  double size = 0.0;
  std::int64_t ts_ns = 0;
};

bool read_trade(const Message& m, TradeFields& fields, TradeInput& t) {
  if (!read_trade_fields(m.payload, fields)) return false;
  if (!fields.symbol.empty()) t.symbol.assign(fields.symbol);
  else if (m.topic.size() > kTradePrefix.size() && m.topic.starts_with(kTradePrefix)) t.symbol.assign(m.topic, kTradePrefix.size());
  if (t.symbol.empty() || !fields.price || !fields.size) return false;
  t.price = *fields.price;
  t.size = *fields.size;
  t.ts_ns = fields.ts_ns.value_or(m.timestamp_ns);
  return true;
}

// The engine's section: the VpinConfig keys over the engine defaults, and
// `symbols.<SYMBOL>` tables over those. One parse for --check-config and start.
struct Settings {
  VpinConfig global;
  std::map<std::string, VpinConfig> overrides;
  std::vector<ConfigProblem> problems;
};

Settings parse_settings(const nlohmann::json& section) {
  Settings s;
  s.global = default_vpin_engine_config();
  ConfigReader r(section);
  VpinConfig::read(r, s.global);
  ConfigReader symbols = r.table("symbols");
  for (const auto& sym : symbols.keys()) {
    ConfigReader t = symbols.table(sym);
    VpinConfig c = s.global;
    VpinConfig::read(t, c);
    s.overrides[sym] = c;
  }
  r.finish();
  s.problems = r.problems();
  return s;
}

class VpinEngine final : public Engine {
 public:
  std::string_view kind() const override { return "vpin"; }
  std::string_view description() const override {
    return "VPIN flow toxicity per symbol (volume buckets, bulk volume classification); flash crash warnings";
  }
  std::vector<std::string> subscribes_to() const override { return {std::string(kTradePrefix) + "*"}; }
  std::vector<std::string> publishes() const override { return {"vpin.toxicity.*", "vpin.alert.*"}; }

  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "state" || cmd == "status") return metrics();
    return Engine::command(cmd, args);
  }

 protected:
  std::vector<ConfigProblem> config_problems(const nlohmann::json& config) const override {
    return parse_settings(config).problems;
  }

  void on_start(EngineContext& ctx) override {
    Settings settings = parse_settings(ctx.config);
    if (!settings.problems.empty()) throw std::invalid_argument(join_problems(settings.problems));
    {
      std::lock_guard lock(mu_);
      config_ = settings.global;
      overrides_ = std::move(settings.overrides);
      calculators_.clear();
      market_bar_.reset();
      malformed_ = warnings_ = buckets_published_ = 0;
    }
    subscribe(BusKind::kMarketData, std::string(kTradePrefix) + "*", [this](const Message& m) { on_trade(m); });
  }

  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    nlohmann::json syms = nlohmann::json::object();
    for (const auto& [sym, calc] : calculators_) {
      auto s = calc->snapshot();
      syms[sym] = {{"vpin", opt(s.vpin)},
                   {"cdf", opt(s.cdf)},
                   {"bucket_fill", s.bucket_fill},
                   {"bucket_volume", s.bucket_volume},
                   {"buckets", s.buckets},
                   {"bars", s.bars},
                   {"trades", s.trades},
                   {"late_trades", s.late_trades},
                   {"sigma_dp", opt(s.sigma)},
                   {"armed", s.armed},
                   {"hot_run", s.hot_run}};
    }
    return {{"symbols", syms},
            {"malformed_trades", malformed_},
            {"buckets_published", buckets_published_},
            {"warnings", warnings_},
            {"config", config_.to_json()}};
  }

 private:
  // Data plane: a malformed trade is counted and skipped, never thrown.
  void on_trade(const Message& m) {
    TradeFields fields;
    TradeInput t;
    const bool ok = read_trade(m, fields, t);
    std::vector<std::pair<std::string, VpinBucket>> out;
    {
      std::lock_guard lock(mu_);
      if (!ok) {
        ++malformed_;
        return;
      }
      const std::string& symbol = t.symbol;
      const std::int64_t ts = t.ts_ns;

      // Market time: a trade entering a new bar closes every symbol's finished bar.
      const std::int64_t bar = ts / config_.bar_ns;
      std::vector<VpinBucket> buckets;
      if (!market_bar_ || bar > *market_bar_) {
        market_bar_ = bar;
        for (auto& [sym, calc] : calculators_) {
          if (sym == symbol) continue;
          buckets.clear();
          calc->flush(ts, buckets);
          for (auto& b : buckets) out.emplace_back(sym, b);
        }
      }
      VpinCalculator& calc = calculator(symbol);
      buckets.clear();
      if (!calc.add_trade(ts, t.price, t.size, buckets).is_ok()) {
        ++malformed_;
        return;
      }
      for (auto& b : buckets) out.emplace_back(symbol, b);
      buckets_published_ += out.size();
      for (const auto& [sym, b] : out) warnings_ += b.warning ? 1 : 0;
    }
    // Publish outside the lock: a full subscriber queue may block the publisher.
    // Warnings first: one trade can close a bar of every symbol, and the
    // flash_crash warning must not wait behind dozens of normal-priority
    // toxicity messages being built (it overtakes its own, as risk expects).
    if (out.empty()) return;
    const std::int64_t origin = m.origin_ns != 0 ? m.origin_ns : m.timestamp_ns;
    const std::string correlation = !m.correlation_id.empty() ? m.correlation_id : m.id.to_string();
    for (const auto& [sym, b] : out) {
      if (b.warning) publish_warning(sym, b, origin, correlation);
    }
    for (const auto& [sym, b] : out) publish_bucket(sym, b, origin, correlation);
  }

  VpinCalculator& calculator(const std::string& symbol) {
    auto it = calculators_.find(symbol);
    if (it == calculators_.end()) {
      auto o = overrides_.find(symbol);
      it = calculators_.emplace(symbol, std::make_unique<VpinCalculator>(o != overrides_.end() ? o->second : config_)).first;
    }
    return *it->second;
  }

  void publish_bucket(const std::string& symbol, const VpinBucket& b, std::int64_t origin, const std::string& correlation) {
    double bucket_volume = b.buy_volume + b.sell_volume;
    nlohmann::json payload = {{"symbol", symbol},
                              {"bucket", b.index},
                              {"vpin", opt(b.vpin)},
                              {"cdf", opt(b.cdf)},
                              {"buy_volume", b.buy_volume},
                              {"sell_volume", b.sell_volume},
                              {"bucket_volume", bucket_volume},
                              {"end_ns", b.end_ns}};
    auto msg = make_message("vpin.toxicity." + symbol, MessageType::kVpinToxicity, payload.dump(), Priority::kNormal);
    msg->origin_ns = origin;
    msg->correlation_id = correlation;
    publish(std::move(msg));
  }

  void publish_warning(const std::string& symbol, const VpinBucket& b, std::int64_t origin, const std::string& correlation) {
    double threshold = 0;
    {
      std::lock_guard lock(mu_);
      auto o = overrides_.find(symbol);
      threshold = (o != overrides_.end() ? o->second : config_).cdf_threshold;
    }
    char text[160];
    std::snprintf(text, sizeof text, "VPIN %.3f (CDF %.4f >= %.4f) on %d consecutive buckets of %s",
                  b.vpin.value_or(0.0), b.cdf.value_or(0.0), threshold, b.hot_run, symbol.c_str());
    nlohmann::json alert = {{"symbol", symbol}, {"vpin", opt(b.vpin)}, {"cdf", opt(b.cdf)},
                            {"threshold", threshold}, {"bucket", b.index}, {"end_ns", b.end_ns},
                            {"consecutive_buckets", b.hot_run}, {"message", text}};
    auto w = make_message("vpin.alert." + symbol, MessageType::kFlashCrashWarning, alert.dump(), Priority::kFlashCrash);
    w->origin_ns = origin;
    w->correlation_id = correlation;
    publish(std::move(w));
  }

  mutable std::mutex mu_;
  VpinConfig config_;
  std::map<std::string, VpinConfig> overrides_;
  std::map<std::string, std::unique_ptr<VpinCalculator>> calculators_;
  std::optional<std::int64_t> market_bar_;
  std::uint64_t malformed_ = 0, warnings_ = 0, buckets_published_ = 0;
};

}  // namespace

vpin::VpinConfig default_vpin_engine_config() {
  VpinConfig c;
  c.bar_ns = kDefaultBarSeconds * 1'000'000'000LL;
  c.bucket_volume = kDefaultBucketVolume;
  c.window_buckets = kDefaultWindowBuckets;
  c.sigma_window = kDefaultSigmaWindow;
  c.cdf_window = kDefaultCdfWindow;
  c.min_cdf_samples = kDefaultMinCdfSamples;
  c.cdf_threshold = kDefaultCdfThreshold;
  c.rearm_cdf = kDefaultRearmCdf;
  c.warmup_buckets = kDefaultWarmupBuckets;
  c.persistence_buckets = kDefaultPersistenceBuckets;
  c.vpin_floor = kDefaultVpinFloor;
  return c;
}

std::unique_ptr<Engine> make_vpin_engine() { return std::make_unique<VpinEngine>(); }

}  // namespace nautilus
