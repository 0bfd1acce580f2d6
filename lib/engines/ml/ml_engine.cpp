#include "engines/ml/ml_engine.h"

#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/codec.h"
#include "core/message.h"
#include "engines/ml/regime_detector.h"

namespace nautilus {
namespace {

using ml::DetectorConfig;
using ml::Regime;
using ml::RegimeDetector;
using ml::RegimeOutput;
using ml::StepResult;

constexpr std::string_view kBarPrefix = "marketdata.real_time.bar.";
constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kDay = 86'400 * kSecond;

struct MlConfig {
  std::string source = "features";
  std::string interval = "1s";  // as configured: the middle of features.<interval>.<SYMBOL>
  std::int64_t interval_ns = kSecond;
  DetectorConfig detector;
  std::int64_t max_symbols = 10'000;
};

struct ParsedConfig {
  MlConfig config;
  std::vector<ConfigProblem> problems;
};

std::string number_text(double x) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, res.ptr);
}

// parameters.means / parameters.variances: one number per state.
void read_state_vector(ConfigReader& r, const char* key, int states, bool positive, ml::StateVector& out) {
  const nlohmann::json& v = r.raw(key);
  const auto k = static_cast<std::size_t>(states);
  if (v.is_null()) {
    r.problem(key, "required: an array of " + std::to_string(states) + " numbers, one per state");
    return;
  }
  if (!v.is_array() || v.size() != k) {
    r.problem(key, "must be an array of " + std::to_string(states) + " numbers, one per state (got " +
                       (v.is_array() ? std::to_string(v.size()) + " elements" : std::string(v.type_name())) + ")");
    return;
  }
  for (std::size_t i = 0; i < k; ++i) {
    const std::string at = std::string(key) + "[" + std::to_string(i) + "]";
    if (!v[i].is_number()) {
      r.problem(at, std::string("must be a number (got ") + v[i].type_name() + ")");
      continue;
    }
    const double x = v[i].get<double>();
    if (!std::isfinite(x) || (positive && x <= 0.0)) {
      r.problem(at, std::string(positive ? "must be a positive number" : "must be finite") + " (got " + number_text(x) + ")");
      continue;
    }
    out[i] = x;
  }
}

// parameters.transition: `states` rows of `states` probabilities, row i = to-state i,
// column j = from-state j, so that transition[i][j] = Pr(S_t = i | S_{t−1} = j).
bool read_transition(ConfigReader& r, int states, ml::TransitionMatrix& out) {
  const nlohmann::json& v = r.raw("transition");
  const auto k = static_cast<std::size_t>(states);
  const std::string shape = "an array of " + std::to_string(states) + " rows of " + std::to_string(states) +
                            " probabilities, transition[i][j] = Pr(S_t = i | S_t-1 = j)";
  if (v.is_null()) {
    r.problem("transition", "required: " + shape);
    return false;
  }
  if (!v.is_array() || v.size() != k) {
    r.problem("transition", "must be " + shape);
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < k; ++i) {
    const std::string row = "transition[" + std::to_string(i) + "]";
    if (!v[i].is_array() || v[i].size() != k) {
      r.problem(row, "must be an array of " + std::to_string(states) + " probabilities");
      ok = false;
      continue;
    }
    for (std::size_t j = 0; j < k; ++j) {
      const std::string at = row + "[" + std::to_string(j) + "]";
      const auto& e = v[i][j];
      const double x = e.is_number() ? e.get<double>() : -1.0;
      if (!e.is_number() || !std::isfinite(x) || x < 0.0 || x > 1.0) {
        r.problem(at, "must be a probability in [0, 1] (got " + (e.is_number() ? number_text(x) : std::string(e.type_name())) + ")");
        ok = false;
        continue;
      }
      out[i][j] = x;
    }
  }
  if (!ok) return false;
  for (std::size_t j = 0; j < k; ++j) {
    double column = 0.0;
    for (std::size_t i = 0; i < k; ++i) column += out[i][j];
    if (std::fabs(column - 1.0) > 1e-9) {
      r.problem("transition", "column " + std::to_string(j) + " sums to " + number_text(column) +
                                  "; each column must sum to 1 (transition[i][j] = Pr(S_t = i | S_t-1 = j): "
                                  "the probabilities of leaving state j)");
      ok = false;
    }
  }
  return ok;
}

// The one parse of the [engines.ml] section, for config_problems and on_start.
ParsedConfig parse_config(const nlohmann::json& section) {
  ParsedConfig out;
  MlConfig& c = out.config;
  DetectorConfig& d = c.detector;
  ConfigReader r(section);
  c.source = r.one_of("source", "features", {"features", "bars"});
  c.interval = r.string("interval", "1s");
  c.interval_ns = ConfigReader::parse_duration_ns(c.interval);
  if (c.interval_ns < 0) {
    r.problem("interval", "must be a duration like 1s, 5m or 1h (got '" + c.interval + "')");
    c.interval_ns = kSecond;
  } else if (c.interval_ns < 100 * kMs || c.interval_ns > kDay) {
    r.problem("interval", "must be between 100ms and 1d (got '" + c.interval + "')");
  }
  d.states = static_cast<int>(r.integer("states", 2, 2, ml::kMaxStates));
  d.fit_em = r.one_of("fit", "em", {"em", "fixed"}) == "em";
  if (r.has("parameters")) {
    ConfigReader p = r.table("parameters");
    ml::MsParams params;
    params.states = d.states;
    read_state_vector(p, "means", d.states, false, params.mean);
    read_state_vector(p, "variances", d.states, true, params.variance);
    const std::size_t before = r.problems().size();
    if (read_transition(p, d.states, params.transition) && r.problems().size() == before) {
      for (const auto& why : ml::validate(params)) p.problem("transition", why);
    }
    d.params = params;
    d.has_params = true;
  } else if (!d.fit_em) {
    r.problem("parameters", "required when fit = \"fixed\" (means, variances, transition)");
  }
  d.warmup_bars = static_cast<int>(r.integer("warmup_bars", 60, 4, 1'000'000));
  d.window_bars = static_cast<int>(r.integer("window_bars", 500, 4, 1'000'000));
  if (d.fit_em && d.warmup_bars < 2 * d.states) {
    r.problem("warmup_bars", "must be at least 2 per state (" + std::to_string(2 * d.states) + ")");
  }
  if (d.fit_em && d.window_bars < d.warmup_bars) {
    r.problem("window_bars", "must be at least warmup_bars (" + std::to_string(d.window_bars) + " < " +
                                 std::to_string(d.warmup_bars) + ")");
  }
  d.refit_every_bars = static_cast<int>(r.integer("refit_every_bars", 60, 0, 1'000'000));
  d.em.max_iterations = static_cast<int>(r.integer("max_iterations", 100, 1, 100'000));
  d.em.tolerance = r.number("tolerance", 1e-6, 1e-15, 1e6);
  d.em.variance_floor = r.number("variance_floor", 1e-12, 1e-300, 1.0);
  d.min_probability = r.number("min_probability", 0.9, 0.0, 1.0);
  d.min_bars = static_cast<int>(r.integer("min_bars", 10, 1, 1'000'000));
  c.max_symbols = r.integer("max_symbols", 10'000, 1, 1'000'000);
  r.finish();
  out.problems = r.problems();
  if (out.problems.empty()) {
    // Everything the detector would refuse was reported above with its key;
    // this only guards against the two lists drifting apart.
    for (const auto& why : d.validate()) out.problems.push_back({"", why});
  }
  return out;
}

// ---- payload writing: no JSON tree per bar ----

void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
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

void key(std::string& out, std::string_view k) {
  out += ",\"";
  out += k;
  out += "\":";
}

// One bar's result, copied out of the lock to be published.
struct Pending {
  std::string symbol;
  std::string interval;
  std::int64_t close_ns = 0;
  RegimeOutput output;
  std::int64_t origin_ns = 0;
  std::string correlation;
  bool initial = false;  // the symbol's first output: its regime is announced (from null)
};

class MlEngine final : public Engine {
 public:
  std::string_view kind() const override { return "ml"; }
  std::string_view description() const override {
    return "online market regime detection (bull/bear/high_vol) per symbol: Markov-switching filter, EM refits, "
           "predictions";
  }
  std::vector<std::string> subscribes_to() const override {
    std::lock_guard lock(mu_);
    return {input_pattern(config_)};
  }
  std::vector<std::string> publishes() const override { return {"ml.prediction.*", "ml.regime.*"}; }

  std::vector<ConfigProblem> config_problems(const nlohmann::json& config) const override {
    return parse_config(config).problems;
  }

  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "state" || cmd == "status") return metrics();
    return Engine::command(cmd, args);
  }

 protected:
  void on_start(EngineContext& ctx) override {
    ParsedConfig parsed = parse_config(ctx.config);
    if (!parsed.problems.empty()) throw std::invalid_argument(join_problems(parsed.problems));
    std::string pattern;
    {
      std::lock_guard lock(mu_);
      config_ = std::move(parsed.config);
      symbols_.clear();
      counters_ = {};
      pattern = input_pattern(config_);
      feature_prefix_ = "features." + config_.interval + ".";
    }
    if (config_.source == "bars") {
      subscribe(BusKind::kMarketData, pattern, [this](const Message& m) { on_bar(m); });
    } else {
      subscribe(BusKind::kEngine, pattern, [this](const Message& m) { on_feature(m); });
    }
  }

  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    nlohmann::json syms = nlohmann::json::object();
    for (const auto& [sym, s] : symbols_) {
      const auto& d = *s.detector;
      nlohmann::json row = {{"state", d.ready() ? "ready" : "warming_up"},
                            {"bars", d.counters().returns},
                            {"fits", d.counters().fits},
                            {"changes", s.changes}};
      if (d.ready() && d.last().bar > 0) {
        const RegimeOutput& o = d.last();
        row["regime"] = to_string(o.regime);
        row["most_likely"] = to_string(o.most_likely);
        for (Regime r : {Regime::kBull, Regime::kBear, Regime::kHighVol}) {
          const double p = o.probability_of(r);
          row[std::string("p_") + std::string(to_string(r))] = std::isfinite(p) ? nlohmann::json(p) : nlohmann::json(nullptr);
        }
        row["loglik"] = o.log_likelihood;
        row["predictive_mean"] = o.next.mean;
        row["predictive_variance"] = o.next.variance;
      } else {
        row["regime"] = nullptr;
      }
      syms[sym] = row;
    }
    return {{"symbols", syms},
            {"inputs", counters_.inputs},
            {"malformed", counters_.malformed},
            {"refused_closes", counters_.refused},
            {"late_bars", counters_.late},
            {"unmatched_bars", counters_.unmatched},
            {"symbols_refused", counters_.symbols_refused},
            {"predictions", counters_.predictions},
            {"regime_changes", counters_.changes},
            {"failed_fits", counters_.failed_fits},
            {"source", config_.source},
            {"interval", config_.interval},
            {"states", config_.detector.states},
            {"fit", config_.detector.fit_em ? "em" : "fixed"}};
  }

 private:
  struct SymbolState {
    std::unique_ptr<RegimeDetector> detector;
    // source = "bars": the forming bar's latest snapshot.
    bool holding = false;
    std::int64_t start_ns = 0;
    double close = 0.0;
    bool closed_any = false;
    std::int64_t last_closed_start_ns = 0;
    std::uint64_t changes = 0;
    bool announced = false;
  };
  struct Counters {
    std::uint64_t inputs = 0, malformed = 0, refused = 0, late = 0, unmatched = 0, symbols_refused = 0;
    std::uint64_t predictions = 0, changes = 0, failed_fits = 0;
  };

  static std::string input_pattern(const MlConfig& c) {
    return c.source == "bars" ? std::string(kBarPrefix) + "*" : "features." + c.interval + ".*";
  }

  static std::string symbol_of(const nlohmann::json& j, const std::string& topic, std::string_view prefix) {
    if (auto s = j.find("symbol"); s != j.end() && s->is_string() && !s->get<std::string>().empty()) {
      return s->get<std::string>();
    }
    if (topic.size() > prefix.size() && topic.compare(0, prefix.size(), prefix) == 0) return topic.substr(prefix.size());
    return {};
  }

  static bool number(const nlohmann::json& j, const char* name, double& out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number()) return false;
    out = it->get<double>();
    return true;
  }
  static bool integer(const nlohmann::json& j, const char* name, std::int64_t& out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number_integer()) return false;
    out = it->get<std::int64_t>();
    return true;
  }

  // The symbol's state, created on first sight; null past max_symbols. Under mu_.
  SymbolState* state_for(const std::string& symbol) {
    auto it = symbols_.find(symbol);
    if (it != symbols_.end()) return &it->second;
    if (static_cast<std::int64_t>(symbols_.size()) >= config_.max_symbols) {
      ++counters_.symbols_refused;
      return nullptr;
    }
    SymbolState s;
    s.detector = std::make_unique<RegimeDetector>(config_.detector);
    return &symbols_.emplace(symbol, std::move(s)).first->second;
  }

  // A closed bar into the symbol's detector. Under mu_.
  std::optional<Pending> feed(const std::string& symbol, SymbolState& s, double close, std::int64_t close_ns,
                              const Message& m) {
    Pending p;
    const std::uint64_t failed_before = s.detector->counters().failed_fits;
    const StepResult r = s.detector->on_close(close, p.output);
    counters_.failed_fits += s.detector->counters().failed_fits - failed_before;
    if (r == StepResult::kRefused) ++counters_.refused;
    if (r != StepResult::kOutput) return std::nullopt;
    ++counters_.predictions;
    if (p.output.changed) {
      ++counters_.changes;
      ++s.changes;
    }
    p.initial = !s.announced;
    s.announced = true;
    p.symbol = symbol;
    p.interval = config_.interval;
    p.close_ns = close_ns;
    p.origin_ns = m.origin_ns != 0 ? m.origin_ns : m.timestamp_ns;
    p.correlation = !m.correlation_id.empty() ? m.correlation_id : m.id.to_string();
    return p;
  }

  // Data plane: malformed input is counted and skipped, never thrown.
  void on_feature(const Message& m) {
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    std::optional<Pending> out;
    {
      std::lock_guard lock(mu_);
      ++counters_.inputs;
      double close = 0.0;
      std::string symbol;
      if (!j.is_discarded() && j.is_object()) symbol = symbol_of(j, m.topic, feature_prefix_);
      if (symbol.empty() || !number(j, "close", close)) {
        ++counters_.malformed;
        return;
      }
      std::int64_t close_ns = m.timestamp_ns;
      (void)integer(j, "close_ns", close_ns);
      SymbolState* s = state_for(symbol);
      if (!s) return;
      out = feed(symbol, *s, close, close_ns, m);
    }
    if (out) publish_result(*out);
  }

  void on_bar(const Message& m) {
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    // At most two bars close on one snapshot: the held one (a later start) and
    // the snapshot's own (closed: true).
    std::optional<Pending> out[2];
    {
      std::lock_guard lock(mu_);
      ++counters_.inputs;
      double close = 0.0;
      std::int64_t start_ns = 0;
      std::string symbol;
      if (!j.is_discarded() && j.is_object()) symbol = symbol_of(j, m.topic, kBarPrefix);
      if (symbol.empty() || !number(j, "close", close) || !integer(j, "start_ns", start_ns)) {
        ++counters_.malformed;
        return;
      }
      std::int64_t interval_ns = -1, interval_s = -1;
      if (integer(j, "interval_ns", interval_ns) || integer(j, "interval_s", interval_s)) {
        if (interval_ns < 0) interval_ns = interval_s * kSecond;
        if (interval_ns != config_.interval_ns) {
          ++counters_.unmatched;
          return;
        }
      }
      SymbolState* s = state_for(symbol);
      if (!s) return;
      if ((s->closed_any && start_ns <= s->last_closed_start_ns) || (s->holding && start_ns < s->start_ns)) {
        ++counters_.late;
        return;
      }
      if (s->holding && start_ns > s->start_ns) {
        // A later bar has begun: the held one is closed.
        out[0] = feed(symbol, *s, s->close, s->start_ns + config_.interval_ns, m);
        s->closed_any = true;
        s->last_closed_start_ns = s->start_ns;
      }
      s->holding = true;
      s->start_ns = start_ns;
      s->close = close;
      auto closed = j.find("closed");
      if (closed != j.end() && closed->is_boolean() && closed->get<bool>()) {
        out[1] = feed(symbol, *s, close, start_ns + config_.interval_ns, m);
        s->holding = false;
        s->closed_any = true;
        s->last_closed_start_ns = start_ns;
      }
    }
    for (const auto& o : out) {
      if (o) publish_result(*o);
    }
  }

  void publish_result(const Pending& p) {
    const RegimeOutput& o = p.output;
    const std::string& interval = p.interval;
    // The change first, at high priority: a consumer acting on regimes must not
    // wait behind the normal-priority predictions.
    if (o.changed || p.initial) {
      std::string body = "{\"symbol\":";
      append_string(body, p.symbol);
      key(body, "interval");
      append_string(body, interval);
      key(body, "bar");
      append_int(body, static_cast<std::int64_t>(o.bar));
      key(body, "close_ns");
      append_int(body, p.close_ns);
      key(body, "regime");
      append_string(body, to_string(o.regime));
      key(body, "from");
      if (o.changed) append_string(body, to_string(o.previous));
      else body += "null";
      key(body, "to");
      append_string(body, to_string(o.regime));
      key(body, "probability");
      append_double(body, o.probability_of(o.regime));
      key(body, "bars_in_previous");
      append_int(body, static_cast<std::int64_t>(o.bars_in_previous));
      body += '}';
      auto msg = make_message("ml.regime." + p.symbol, MessageType::kRegimeChange, std::move(body), Priority::kHigh);
      msg->origin_ns = p.origin_ns;
      msg->correlation_id = p.correlation;
      publish(std::move(msg));
    }
    std::string body;
    body.reserve(512);
    body = "{\"symbol\":";
    append_string(body, p.symbol);
    key(body, "interval");
    append_string(body, interval);
    key(body, "bar");
    append_int(body, static_cast<std::int64_t>(o.bar));
    key(body, "close_ns");
    append_int(body, p.close_ns);
    key(body, "regime");
    append_string(body, to_string(o.regime));
    key(body, "most_likely");
    append_string(body, to_string(o.most_likely));
    key(body, "probabilities");
    body += '{';
    bool first = true;
    for (Regime r : {Regime::kBull, Regime::kBear, Regime::kHighVol}) {
      const double pr = o.probability_of(r);
      if (!std::isfinite(pr)) continue;  // a label the model does not use (high_vol with 2 states)
      if (!first) body += ',';
      first = false;
      append_string(body, to_string(r));
      body += ':';
      append_double(body, pr);
    }
    body += '}';
    key(body, "predictive_mean");
    append_double(body, o.next.mean);
    key(body, "predictive_variance");
    append_double(body, o.next.variance);
    key(body, "log_likelihood");
    append_double(body, o.log_likelihood);
    key(body, "refitted");
    body += o.refitted ? "true" : "false";
    key(body, "fits");
    append_int(body, static_cast<std::int64_t>(o.fits));
    key(body, "states");
    body += '[';
    for (int i = 0; i < o.params.states; ++i) {
      const auto u = static_cast<std::size_t>(i);
      if (i > 0) body += ',';
      body += "{\"label\":";
      append_string(body, to_string(o.labels[u]));
      key(body, "mean");
      append_double(body, o.params.mean[u]);
      key(body, "variance");
      append_double(body, o.params.variance[u]);
      key(body, "probability");
      append_double(body, o.probability[u]);
      body += '}';
    }
    body += "]}";
    auto msg = make_message("ml.prediction." + p.symbol, MessageType::kMlPrediction, std::move(body), Priority::kNormal);
    msg->origin_ns = p.origin_ns;
    msg->correlation_id = p.correlation;
    publish(std::move(msg));
  }

  mutable std::mutex mu_;
  MlConfig config_;
  std::string feature_prefix_ = "features.1s.";
  std::map<std::string, SymbolState> symbols_;
  Counters counters_;
};

}  // namespace

std::unique_ptr<Engine> make_ml_engine() { return std::make_unique<MlEngine>(); }

}  // namespace nautilus
