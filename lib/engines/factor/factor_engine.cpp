#include "engines/factor/factor_engine.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>

#include "core/message.h"
#include "core/periodic_timer.h"
#include "engines/factor/factor_model.h"

namespace nautilus {
namespace {

using factor::AssetInput;
using factor::ModelOptions;
using factor::MomentumParams;

constexpr std::size_t kMaxSymbolsPerRequest = 1000;  // the marketdata engine's bound

struct Settings {
  std::vector<std::string> universe = default_factor_universe();
  std::int64_t interval_ns = 86'400'000'000'000;
  bool sample_on_start = true;
  std::string source;  // "" = the hub's fallback chain
  std::string request_topic = "marketdata.request";
  std::size_t min_assets = 20;
  MomentumParams momentum;
  ModelOptions model;
  std::vector<ConfigProblem> problems;
};

Settings parse_settings(const nlohmann::json& section) {
  Settings s;
  ConfigReader r(section);
  s.universe = r.strings("universe", s.universe);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < s.universe.size(); ++i) {
    const std::string& sym = s.universe[i];
    if (sym.empty() || sym.size() > 32 || sym.find_first_of("*? ") != std::string::npos) {
      r.problem("universe[" + std::to_string(i) + "]", "not a symbol: '" + sym + "'");
    } else if (!seen.insert(sym).second) {
      r.problem("universe[" + std::to_string(i) + "]", "duplicate symbol " + sym);
    }
  }
  s.interval_ns = r.duration_ns("interval", s.interval_ns, 1'000'000'000, 366 * 86'400'000'000'000);
  s.sample_on_start = r.boolean("sample_on_start", s.sample_on_start);
  s.source = r.string("source", s.source);
  s.request_topic = r.string("request_topic", s.request_topic);
  if (s.request_topic.empty() || s.request_topic.find_first_of("*? ") != std::string::npos) {
    r.problem("request_topic", "must be a topic (no spaces or wildcards)");
  }
  s.min_assets = static_cast<std::size_t>(r.integer("min_assets", 20, 3, 1'000'000));
  s.model.style_winsor = r.number("style_winsor", s.model.style_winsor, 0.0, 0.49);
  s.model.return_winsor = r.number("return_winsor", s.model.return_winsor, 0.0, 0.49);
  ConfigReader m = r.table("momentum");
  s.momentum.trailing = static_cast<int>(m.integer("trailing", s.momentum.trailing, 1, 10'000));
  s.momentum.half_life = static_cast<int>(m.integer("half_life", s.momentum.half_life, 1, 10'000));
  s.momentum.lag = static_cast<int>(m.integer("lag", s.momentum.lag, 0, 10'000));
  if (s.universe.size() < s.min_assets) {
    r.problem("universe", "has " + std::to_string(s.universe.size()) + " symbols, fewer than min_assets (" +
                              std::to_string(s.min_assets) + ")");
  }
  r.finish();
  s.problems = r.problems();
  return s;
}

std::optional<double> positive(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  return std::isfinite(v) && v > 0 ? std::optional<double>(v) : std::nullopt;
}

nlohmann::json or_null(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

class FactorEngine final : public Engine {
 public:
  std::string_view kind() const override { return "factor"; }
  std::string_view description() const override {
    return "cross-sectional factor model: momentum, value, size, sectors; factor returns by WLS with sectors summing to zero";
  }
  std::vector<std::string> subscribes_to() const override { return {"marketdata.reply." + name()}; }
  std::vector<std::string> publishes() const override {
    return {"marketdata.request", "factor.returns", "factor.scores.<symbol>"};
  }

  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "show") {
      std::lock_guard lock(mu_);
      nlohmann::json j = last_returns_.is_null() ? nlohmann::json{{"step", nullptr}} : last_returns_;
      j["scores"] = last_scores_;
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
      settings_ = s;
      weights_ = factor::momentum_weights(s.momentum);
      assets_.clear();
      pending_ = {};
      counters_ = {};
      step_ = 0;
      last_returns_ = nullptr;
      last_scores_ = nlohmann::json::object();
      clock_ = &ctx.clock;
    }
    subscribe(BusKind::kEngine, "marketdata.reply." + name(), [this](const Message& m) { on_reply(m); });
    timer_.start(ctx.clock, s.interval_ns, [this] { request_sample(); });
    if (s.sample_on_start) request_sample();
  }

  void on_stop() override { timer_.stop(); }

  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    return counters_json();
  }

 private:
  struct Asset {
    std::optional<double> price, market_cap, book_value;
    std::string sector;
    std::deque<double> returns;  // oldest first, at most momentum.required()
  };
  struct Observation {
    std::optional<double> quote_mid, shares, market_cap, book_value, fundamental_price;
    std::string sector;
  };
  struct Pending {
    std::set<std::string> waiting;  // correlation ids of the unanswered chunks
    std::map<std::string, Observation> observations;
    std::int64_t requested_ns = 0;
  };
  struct Counters {
    std::uint64_t requests = 0, replies = 0, unanswered = 0, errors = 0, steps = 0, skipped = 0, published = 0;
  };

  nlohmann::json counters_json() const {
    return {{"requests", counters_.requests}, {"replies", counters_.replies},     {"unanswered", counters_.unanswered},
            {"reply_errors", counters_.errors}, {"steps", counters_.steps},       {"skipped", counters_.skipped},
            {"published", counters_.published}, {"universe", settings_.universe.size()}};
  }

  void request_sample() {
    std::vector<std::shared_ptr<Message>> out;
    {
      std::lock_guard lock(mu_);
      if (!pending_.waiting.empty()) {  // the hub never answered the last one
        ++counters_.unanswered;
        log("warn", "no complete answer from the market data hub for the last sample; dropped");
      }
      pending_ = {};
      pending_.requested_ns = clock_->now_ns();
      const auto& u = settings_.universe;
      for (std::size_t from = 0; from < u.size(); from += kMaxSymbolsPerRequest) {
        const std::size_t to = std::min(u.size(), from + kMaxSymbolsPerRequest);
        nlohmann::json req = {{"symbols", std::vector<std::string>(u.begin() + static_cast<std::ptrdiff_t>(from),
                                                                   u.begin() + static_cast<std::ptrdiff_t>(to))},
                              {"types", {"fundamental", "quote"}},
                              {"reply_to", "marketdata.reply." + name()}};
        if (!settings_.source.empty()) req["source"] = settings_.source;
        auto msg = make_message(settings_.request_topic, MessageType::kMarketData, req.dump(), Priority::kNormal, name());
        msg->correlation_id = msg->id.to_string();
        pending_.waiting.insert(msg->correlation_id);
        out.push_back(std::move(msg));
        ++counters_.requests;
      }
    }
    // The hub listens for requests on the engine bus, whatever the type says.
    for (auto& m : out) (void)router().publish(BusKind::kEngine, std::move(m));
  }

  // Data plane: a malformed reply is counted and skipped.
  void on_reply(const Message& m) {
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::vector<std::shared_ptr<Message>> out;
    {
      std::lock_guard lock(mu_);
      auto it = pending_.waiting.find(m.correlation_id);
      if (it == pending_.waiting.end()) return;  // late, or another requester's
      pending_.waiting.erase(it);
      ++counters_.replies;
      if (!j.is_object() || !j.contains("results") || !j["results"].is_array()) {
        ++counters_.errors;
      } else {
        for (const auto& r : j["results"]) record(r);
      }
      if (!pending_.waiting.empty()) return;
      step(out);
    }
    for (auto& msg : out) publish(std::move(msg));
  }

  void record(const nlohmann::json& r) {
    if (!r.is_object() || !r.contains("symbol") || !r["symbol"].is_string() || !r.contains("data") ||
        !r["data"].is_object()) {
      return;  // an error result: that symbol is missing this sample
    }
    Observation& o = pending_.observations[r["symbol"].get<std::string>()];
    const nlohmann::json& d = r["data"];
    const std::string type = r.value("type", std::string());
    if (type == "quote") {
      auto bid = positive(d, "bid"), ask = positive(d, "ask");
      if (bid && ask && *ask >= *bid) o.quote_mid = (*bid + *ask) / 2.0;
    } else if (type == "fundamental") {
      o.shares = positive(d, "shares_outstanding");
      o.market_cap = positive(d, "market_cap");
      o.book_value = positive(d, "book_value");
      o.fundamental_price = positive(d, "price");
      if (d.contains("sector") && d["sector"].is_string()) o.sector = d["sector"].get<std::string>();
    }
  }

  void step(std::vector<std::shared_ptr<Message>>& out) {
    const std::int64_t now = clock_->now_ns();
    const std::size_t keep = settings_.momentum.required();
    std::vector<AssetInput> inputs;
    std::vector<const std::string*> symbols;
    std::vector<std::string> asset_sectors;
    for (const auto& sym : settings_.universe) {
      auto ob = pending_.observations.find(sym);
      if (ob == pending_.observations.end()) continue;
      const Observation& o = ob->second;
      const std::optional<double> price = o.quote_mid ? o.quote_mid : o.fundamental_price;
      if (!price) continue;
      Asset& a = assets_[sym];
      std::optional<double> cap = o.shares ? std::optional<double>(*o.shares * *price) : o.market_cap;
      if (a.price && a.market_cap && a.book_value && !a.sector.empty()) {
        const double r = *price / *a.price - 1.0;
        a.returns.push_back(r);
        while (a.returns.size() > keep) a.returns.pop_front();
        const std::vector<double> history(a.returns.begin(), a.returns.end());
        AssetInput in;
        in.period_return = r;
        in.market_cap = *a.market_cap;
        in.book_value = *a.book_value;
        in.momentum = factor::momentum_score(history, settings_.momentum, weights_);
        inputs.push_back(in);
        symbols.push_back(&sym);
        asset_sectors.push_back(a.sector);
      }
      a.price = price;
      a.market_cap = cap;
      a.book_value = o.book_value;
      if (!o.sector.empty()) a.sector = o.sector;
    }
    pending_.observations.clear();
    if (inputs.size() < settings_.min_assets) {
      if (step_ > 0) ++counters_.skipped;  // the first sample only sets prices
      ++step_;
      return;
    }
    // Sectors sorted by name, as toraniko orders its columns.
    std::vector<std::string> sectors(asset_sectors.begin(), asset_sectors.end());
    std::sort(sectors.begin(), sectors.end());
    sectors.erase(std::unique(sectors.begin(), sectors.end()), sectors.end());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      inputs[i].sector = static_cast<int>(std::lower_bound(sectors.begin(), sectors.end(), asset_sectors[i]) -
                                          sectors.begin());
    }
    const factor::ScoredPeriod period = factor::factor_step(inputs, sectors, settings_.model);
    const auto& f = period.factors;
    const auto& cs = period.cross_section;
    nlohmann::json sector_returns = nlohmann::json::object();
    for (std::size_t s = 0; s < sectors.size(); ++s) sector_returns[sectors[s]] = f.sectors[s];
    auto style_of = [&](std::string_view style) -> std::optional<std::size_t> {
      for (std::size_t j = 0; j < cs.style_names.size(); ++j) {
        if (cs.style_names[j] == style) return j;
      }
      return std::nullopt;
    };
    nlohmann::json styles = nlohmann::json::object();
    for (const char* style : {"momentum", "value", "size"}) {
      auto j = style_of(style);
      styles[style] = j ? nlohmann::json(f.styles[*j]) : nlohmann::json(nullptr);
    }
    last_returns_ = {{"as_of_ns", now},
                     {"step", step_},
                     {"n_assets", inputs.size()},
                     {"market", f.market},
                     {"sectors", sector_returns},
                     {"styles", styles},
                     {"r_squared", f.r_squared},
                     {"sector_rank", f.sector_rank},
                     {"style_rank", f.style_rank},
                     {"notes", f.notes}};
    out.push_back(make_message("factor.returns", MessageType::kFactorUpdate, last_returns_.dump()));
    last_scores_ = nlohmann::json::object();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      nlohmann::json scores = nlohmann::json::object();
      for (const char* style : {"momentum", "value", "size"}) {
        auto j = style_of(style);
        std::optional<double> v;
        if (j && (std::string_view(style) != "momentum" || inputs[i].momentum)) v = cs.styles[*j][i];
        scores[style] = or_null(v);
      }
      nlohmann::json s = {{"symbol", *symbols[i]},
                          {"as_of_ns", now},
                          {"step", step_},
                          {"sector", asset_sectors[i]},
                          {"return", inputs[i].period_return},
                          {"residual", f.residuals[i]},
                          {"market_cap", inputs[i].market_cap},
                          {"scores", scores}};
      out.push_back(make_message("factor.scores." + *symbols[i], MessageType::kFactorUpdate, s.dump()));
      last_scores_[*symbols[i]] = std::move(s);
    }
    counters_.published += out.size();
    ++counters_.steps;
    ++step_;
  }

  mutable std::mutex mu_;
  Settings settings_;
  std::vector<double> weights_;
  std::map<std::string, Asset, std::less<>> assets_;
  Pending pending_;
  Counters counters_;
  std::uint64_t step_ = 0;
  nlohmann::json last_returns_;
  nlohmann::json last_scores_ = nlohmann::json::object();
  Clock* clock_ = nullptr;
  PeriodicTimer timer_;
};

}  // namespace

std::vector<std::string> default_factor_universe() {
  std::vector<std::string> out;
  for (const char* prefix : {"EN", "MA", "IN", "CD", "CS", "HC", "FN", "IT", "CM", "UT", "RE"}) {
    for (int i = 1; i <= 11; ++i) out.push_back(std::string(prefix) + (i < 10 ? "0" : "") + std::to_string(i));
  }
  return out;
}

std::unique_ptr<Engine> make_factor_engine() { return std::make_unique<FactorEngine>(); }

}  // namespace nautilus
