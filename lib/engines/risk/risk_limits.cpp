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

bool read_number(const nlohmann::json& j, const std::string& where, double& out, std::vector<std::string>& errors) {
  if (!j.is_number()) {
    errors.push_back(where + " must be a number");
    return false;
  }
  out = j.get<double>();
  if (!std::isfinite(out)) {
    errors.push_back(where + " must be finite");
    return false;
  }
  return true;
}

void read_int(const nlohmann::json& j, const std::string& where, int& out, std::vector<std::string>& errors) {
  if (!j.is_number_integer()) {
    errors.push_back(where + " must be an integer");
    return;
  }
  out = j.get<int>();
}

void read_seconds(const nlohmann::json& j, const std::string& where, std::int64_t& out_ns,
                  std::vector<std::string>& errors) {
  double s = 0;
  if (read_number(j, where, s, errors)) out_ns = static_cast<std::int64_t>(std::llround(s * 1e9));
}

// A limit is a number (the limit) or a table {limit, warn_at, halt_at, dynamic, enabled}.
void read_limits(const nlohmann::json& j, const std::string& where, bool per_symbol,
                 std::map<LimitKind, LimitSpec>& out, const std::map<LimitKind, LimitSpec>& base,
                 std::vector<std::string>& errors) {
  if (!j.is_object()) {
    errors.push_back(where + " must be a table");
    return;
  }
  for (const auto& [key, value] : j.items()) {
    const std::string at = where + "." + key;
    auto kind = parse_limit_kind(key);
    if (!kind) {
      errors.push_back(at + ": unknown limit kind");
      continue;
    }
    if (per_symbol && !is_per_symbol(*kind)) {
      errors.push_back(at + ": " + key + " is portfolio-wide and has no per-symbol limit");
      continue;
    }
    LimitSpec spec;
    if (auto it = base.find(*kind); it != base.end()) spec = it->second;
    if (value.is_number()) {
      read_number(value, at, spec.limit, errors);
    } else if (value.is_object()) {
      for (const auto& [k, v] : value.items()) {
        if (k == "limit") read_number(v, at + ".limit", spec.limit, errors);
        else if (k == "warn_at") read_number(v, at + ".warn_at", spec.warn_at, errors);
        else if (k == "halt_at") read_number(v, at + ".halt_at", spec.halt_at, errors);
        else if (k == "dynamic" && v.is_boolean()) spec.dynamic = v.get<bool>();
        else if (k == "enabled" && v.is_boolean()) spec.enabled = v.get<bool>();
        else errors.push_back(at + "." + k + ": unknown key or wrong type");
      }
    } else if (value.is_boolean()) {
      spec.enabled = value.get<bool>();  // `drawdown = false` disables the kind
    } else {
      errors.push_back(at + " must be a number or a table");
    }
    out[*kind] = spec;
  }
}

}  // namespace

RiskConfig RiskConfig::from_json(const nlohmann::json& j) {
  RiskConfig c = defaults();
  std::vector<std::string> errors;
  if (!j.is_null() && !j.is_object()) throw std::invalid_argument("risk config must be a table");
  if (j.is_object()) {
    for (const auto& [key, v] : j.items()) {
      if (key == "initial_equity") read_number(v, key, c.initial_equity, errors);
      else if (key == "margin_rate") read_number(v, key, c.margin_rate, errors);
      else if (key == "hysteresis") read_number(v, key, c.hysteresis, errors);
      else if (key == "cooldown_seconds") read_seconds(v, key, c.cooldown_ns, errors);
      else if (key == "sample_seconds") read_seconds(v, key, c.sample_ns, errors);
      else if (key == "var_window") read_int(v, key, c.var_window, errors);
      else if (key == "var_min_samples") read_int(v, key, c.var_min_samples, errors);
      else if (key == "vol_short_window") read_int(v, key, c.vol_short_window, errors);
      else if (key == "vol_long_window") read_int(v, key, c.vol_long_window, errors);
      else if (key == "vol_min_samples") read_int(v, key, c.vol_min_samples, errors);
      else if (key == "baseline_vol") read_number(v, key, c.baseline_vol, errors);
      else if (key == "vol_exponent") read_number(v, key, c.vol_exponent, errors);
      else if (key == "min_scale") read_number(v, key, c.min_scale, errors);
      else if (key == "max_scale") read_number(v, key, c.max_scale, errors);
      else if (key == "vpin_halt_seconds") read_seconds(v, key, c.vpin_halt_ns, errors);
      else if (key == "reducing_order_scale") read_number(v, key, c.reducing_order_scale, errors);
      else if (key == "limits") read_limits(v, "limits", false, c.global, c.global, errors);
      else if (key == "symbols") {
        if (!v.is_object()) {
          errors.emplace_back("symbols must be a table");
          continue;
        }
        for (const auto& [sym, lims] : v.items()) {
          // An override starts from the global spec of its kind (thresholds, dynamic).
          read_limits(lims, "symbols." + sym, true, c.symbols[sym], c.global, errors);
        }
      } else if (key == "kind" || key == "autostart" || key == "enabled") {
        // host keys, not ours
      } else {
        errors.push_back(key + ": unknown key");
      }
    }
  }
  if (errors.empty()) errors = c.validate();
  if (!errors.empty()) {
    std::string msg = "invalid risk config:";
    for (const auto& e : errors) msg += " " + e + ";";
    throw std::invalid_argument(msg);
  }
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
