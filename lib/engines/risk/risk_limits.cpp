#include "engines/risk/risk_limits.h"

#include <cmath>
#include <stdexcept>

namespace nautilus::risk {

namespace {
constexpr std::array<std::string_view, kLimitKindCount> kNames = {
    "position_quantity", "position_notional", "gross_exposure", "net_exposure", "leverage",
    "concentration",     "daily_loss",        "drawdown",       "var_95",       "var_99",
    "order_notional",    "order_rate",        "vpin_toxicity",  "margin_utilization"};
}  // namespace

std::string_view to_string(LimitKind k) { return kNames[static_cast<std::size_t>(k)]; }

std::optional<LimitKind> parse_limit_kind(std::string_view s) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == s) return static_cast<LimitKind>(i);
  }
  return std::nullopt;
}

bool is_per_symbol(LimitKind k) {
  switch (k) {
    case LimitKind::kPositionQuantity:
    case LimitKind::kPositionNotional:
    case LimitKind::kConcentration:
    case LimitKind::kOrderNotional:
    case LimitKind::kOrderRate:
    case LimitKind::kVpinToxicity:
      return true;
    default:
      return false;
  }
}

std::string_view to_string(Level l) {
  switch (l) {
    case Level::kOk: return "ok";
    case Level::kWarning: return "warning";
    case Level::kBreach: return "breach";
    case Level::kCritical: return "critical";
  }
  return "ok";
}

Priority priority_of(Level l) {
  switch (l) {
    case Level::kOk: return Priority::kNormal;
    case Level::kWarning: return Priority::kHigh;
    case Level::kBreach:
    case Level::kCritical: return Priority::kUrgent;
  }
  return Priority::kNormal;
}

RiskConfig RiskConfig::defaults() {
  RiskConfig c;
  auto set = [&c](LimitKind k, double limit, bool dynamic, double halt_at = 1.5) {
    LimitSpec s;
    s.limit = limit;
    s.dynamic = dynamic;
    s.halt_at = halt_at;
    c.global[k] = s;
  };
  set(LimitKind::kPositionQuantity, 10'000, true);
  set(LimitKind::kPositionNotional, 250'000, true);
  set(LimitKind::kGrossExposure, 2'000'000, true);
  set(LimitKind::kNetExposure, 1'000'000, true);
  set(LimitKind::kLeverage, 2.0, true);
  set(LimitKind::kConcentration, 0.25, true);
  set(LimitKind::kDailyLoss, 50'000, false, 1.0);  // hitting the loss limit halts
  set(LimitKind::kDrawdown, 0.10, false, 1.0);
  set(LimitKind::kVar95, 25'000, true);
  set(LimitKind::kVar99, 40'000, true);
  set(LimitKind::kOrderNotional, 100'000, true);
  set(LimitKind::kOrderRate, 10, false, 3.0);
  set(LimitKind::kVpinToxicity, 0.95, false);  // the flash crash warning halts
  set(LimitKind::kMarginUtilization, 0.8, false, 1.25);  // 100% utilisation halts
  return c;
}

namespace {

std::string kind_list(bool per_symbol_only) {
  std::string out;
  for (LimitKind k : kAllLimitKinds) {
    if (per_symbol_only && !is_per_symbol(k)) continue;
    out += (out.empty() ? "" : ", ") + std::string(to_string(k));
  }
  return out;
}

// A limit is a number (the limit), a boolean (enabled) or a table
// {limit, warn_at, halt_at, dynamic, enabled}, over `base`'s spec of its kind.
void read_limits(ConfigReader& table, bool per_symbol, std::map<LimitKind, LimitSpec>& out,
                 const std::map<LimitKind, LimitSpec>& base) {
  for (const auto& key : table.keys()) {
    auto kind = parse_limit_kind(key);
    if (!kind) {
      table.accept(key);
      table.problem(key, "unknown limit kind (known: " + kind_list(per_symbol) + ")");
      continue;
    }
    if (per_symbol && !is_per_symbol(*kind)) {
      table.accept(key);
      table.problem(key, key + " is portfolio-wide and has no per-symbol limit (per-symbol kinds: " +
                             kind_list(true) + ")");
      continue;
    }
    LimitSpec spec;
    if (auto it = base.find(*kind); it != base.end()) spec = it->second;
    const nlohmann::json& v = table.raw(key);
    if (v.is_boolean()) {
      spec.enabled = v.get<bool>();  // `drawdown = false` disables the kind
    } else if (v.is_object()) {
      ConfigReader t = table.table(key);
      spec.limit = t.number("limit", spec.limit, 0.0, 1e15);
      spec.warn_at = t.number("warn_at", spec.warn_at, 0.0, 1.0);
      spec.halt_at = t.number("halt_at", spec.halt_at, 1.0, 1000.0);
      spec.dynamic = t.boolean("dynamic", spec.dynamic);
      spec.enabled = t.boolean("enabled", spec.enabled);
      if (!(spec.limit > 0)) t.problem("limit", "must be above 0");
      if (!(spec.warn_at > 0)) t.problem("warn_at", "must be above 0");
    } else {
      // A number: the limit itself, read through the reader for its checks.
      spec.limit = table.number(key, spec.limit, 0.0, 1e15);
      if (v.is_number() && !(spec.limit > 0)) table.problem(key, "must be above 0");
    }
    out[*kind] = spec;
  }
}

// Checks that the reader's number range cannot express (open bounds, relations).
void check_relations(ConfigReader& r, const RiskConfig& c) {
  if (!(c.initial_equity > 0)) r.problem("initial_equity", "must be above 0");
  if (!(c.margin_rate > 0)) r.problem("margin_rate", "must be above 0");
  if (!(c.hysteresis < 1)) r.problem("hysteresis", "must be below 1");
  if (!(c.sample_ns > 0)) r.problem("sample_seconds", "must be above 0");
  if (!(c.min_scale > 0)) r.problem("min_scale", "must be above 0");
  if (!(c.reducing_order_scale > 0)) r.problem("reducing_order_scale", "must be above 0");
  if (c.var_min_samples > c.var_window) {
    r.problem("var_min_samples", "must be at most var_window (" + std::to_string(c.var_window) + ")");
  }
  if (c.vol_long_window < c.vol_short_window) {
    r.problem("vol_long_window", "must be at least vol_short_window (" + std::to_string(c.vol_short_window) + ")");
  }
  if (c.vol_long_window > c.var_window) {
    r.problem("vol_long_window", "must be at most var_window (" + std::to_string(c.var_window) + ", the samples kept)");
  }
  if (c.vol_min_samples > c.vol_long_window) {
    r.problem("vol_min_samples", "must be at most vol_long_window (" + std::to_string(c.vol_long_window) + ")");
  }
}

}  // namespace

RiskConfig RiskConfig::read(ConfigReader& r) {
  RiskConfig c = defaults();
  auto seconds = [&r](std::string_view key, std::int64_t fallback_ns, double max_s) {
    const double s = r.number(key, static_cast<double>(fallback_ns) / 1e9, 0.0, max_s);
    return static_cast<std::int64_t>(std::llround(s * 1e9));
  };
  auto count = [&r](std::string_view key, int fallback) {
    return static_cast<int>(r.integer(key, fallback, 2, 1'000'000));
  };
  c.initial_equity = r.number("initial_equity", c.initial_equity, 0.0, 1e15);
  c.margin_rate = r.number("margin_rate", c.margin_rate, 0.0, 1.0);
  c.hysteresis = r.number("hysteresis", c.hysteresis, 0.0, 1.0);
  c.cooldown_ns = seconds("cooldown_seconds", c.cooldown_ns, 7 * 86'400.0);
  c.sample_ns = seconds("sample_seconds", c.sample_ns, 86'400.0);
  c.var_window = count("var_window", c.var_window);
  c.var_min_samples = count("var_min_samples", c.var_min_samples);
  c.vol_short_window = count("vol_short_window", c.vol_short_window);
  c.vol_long_window = count("vol_long_window", c.vol_long_window);
  c.vol_min_samples = count("vol_min_samples", c.vol_min_samples);
  c.baseline_vol = r.number("baseline_vol", c.baseline_vol, 0.0, 10.0);
  c.vol_exponent = r.number("vol_exponent", c.vol_exponent, 0.0, 10.0);
  c.min_scale = r.number("min_scale", c.min_scale, 0.0, 1.0);
  c.max_scale = r.number("max_scale", c.max_scale, 1.0, 1000.0);
  c.vpin_halt_ns = seconds("vpin_halt_seconds", c.vpin_halt_ns, 7 * 86'400.0);
  c.reducing_order_scale = r.number("reducing_order_scale", c.reducing_order_scale, 0.0, 1.0);
  ConfigReader limits = r.table("limits");
  read_limits(limits, false, c.global, c.global);
  ConfigReader symbols = r.table("symbols");
  for (const auto& sym : symbols.keys()) {
    ConfigReader t = symbols.table(sym);
    // An override starts from the global spec of its kind (thresholds, dynamic).
    read_limits(t, true, c.symbols[sym], c.global);
  }
  check_relations(r, c);
  return c;
}

RiskConfig RiskConfig::from_json(const nlohmann::json& j) {
  ConfigReader r(j);
  RiskConfig c = read(r);
  r.finish();
  r.throw_if_problems();
  return c;
}

std::vector<std::string> RiskConfig::validate() const {
  std::vector<std::string> e;
  if (!(initial_equity > 0)) e.emplace_back("initial_equity must be > 0");
  if (!(margin_rate > 0 && margin_rate <= 1)) e.emplace_back("margin_rate must be in (0, 1]");
  if (!(hysteresis >= 0 && hysteresis < 1)) e.emplace_back("hysteresis must be in [0, 1)");
  if (cooldown_ns < 0) e.emplace_back("cooldown_seconds must be >= 0");
  if (sample_ns <= 0) e.emplace_back("sample_seconds must be > 0");
  if (var_window < 2) e.emplace_back("var_window must be >= 2");
  if (var_min_samples < 2 || var_min_samples > var_window) e.emplace_back("var_min_samples must be in [2, var_window]");
  if (vol_short_window < 2) e.emplace_back("vol_short_window must be >= 2");
  if (vol_long_window < vol_short_window) e.emplace_back("vol_long_window must be >= vol_short_window");
  if (vol_long_window > var_window) e.emplace_back("vol_long_window must be <= var_window (the samples kept)");
  if (vol_min_samples < 2 || vol_min_samples > vol_long_window) e.emplace_back("vol_min_samples must be in [2, vol_long_window]");
  if (baseline_vol < 0) e.emplace_back("baseline_vol must be >= 0");
  if (!(vol_exponent >= 0)) e.emplace_back("vol_exponent must be >= 0");
  if (!(min_scale > 0 && min_scale <= 1)) e.emplace_back("min_scale must be in (0, 1]");
  if (!(max_scale >= 1)) e.emplace_back("max_scale must be >= 1");
  if (vpin_halt_ns < 0) e.emplace_back("vpin_halt_seconds must be >= 0");
  if (!(reducing_order_scale > 0 && reducing_order_scale <= 1)) e.emplace_back("reducing_order_scale must be in (0, 1]");
  auto check = [&e](const std::string& where, const LimitSpec& s) {
    if (!(s.limit > 0)) e.push_back(where + ": limit must be > 0");
    if (!(s.warn_at > 0 && s.warn_at <= 1)) e.push_back(where + ": warn_at must be in (0, 1]");
    if (!(s.halt_at >= 1)) e.push_back(where + ": halt_at must be >= 1");
  };
  for (const auto& [k, s] : global) check("limits." + std::string(to_string(k)), s);
  for (const auto& [sym, m] : symbols) {
    for (const auto& [k, s] : m) check("symbols." + sym + "." + std::string(to_string(k)), s);
  }
  return e;
}

nlohmann::json RiskConfig::to_json() const {
  auto spec_json = [](const LimitSpec& s) {
    return nlohmann::json{{"limit", s.limit}, {"warn_at", s.warn_at}, {"halt_at", s.halt_at},
                          {"dynamic", s.dynamic}, {"enabled", s.enabled}};
  };
  nlohmann::json limits = nlohmann::json::object();
  for (const auto& [k, s] : global) limits[std::string(to_string(k))] = spec_json(s);
  nlohmann::json syms = nlohmann::json::object();
  for (const auto& [sym, m] : symbols) {
    for (const auto& [k, s] : m) syms[sym][std::string(to_string(k))] = spec_json(s);
  }
  return {{"initial_equity", initial_equity},
          {"margin_rate", margin_rate},
          {"hysteresis", hysteresis},
          {"cooldown_seconds", static_cast<double>(cooldown_ns) / 1e9},
          {"sample_seconds", static_cast<double>(sample_ns) / 1e9},
          {"var_window", var_window},
          {"var_min_samples", var_min_samples},
          {"vol_short_window", vol_short_window},
          {"vol_long_window", vol_long_window},
          {"vol_min_samples", vol_min_samples},
          {"baseline_vol", baseline_vol},
          {"vol_exponent", vol_exponent},
          {"min_scale", min_scale},
          {"max_scale", max_scale},
          {"vpin_halt_seconds", static_cast<double>(vpin_halt_ns) / 1e9},
          {"reducing_order_scale", reducing_order_scale},
          {"limits", limits},
          {"symbols", syms}};
}

const LimitSpec* RiskConfig::find(LimitKind k, const std::string& symbol) const {
  if (!symbol.empty()) {
    if (auto it = symbols.find(symbol); it != symbols.end()) {
      if (auto jt = it->second.find(k); jt != it->second.end()) return &jt->second;
    }
  }
  auto it = global.find(k);
  return it == global.end() ? nullptr : &it->second;
}

}  // namespace nautilus::risk
