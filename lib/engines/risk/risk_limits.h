// Risk limits: the kinds, their scopes and units, thresholds and the config
// that sets them. Pure data and parsing; the evaluation is in risk_manager.
//
// A limit's usage is value / effective_limit. Levels, with hysteresis:
//   usage ≥ warn_at            → kWarning   (alert only)
//   usage ≥ 1                  → kBreach    (trading state REDUCING)
//   usage ≥ halt_at            → kCritical  (trading state HALTED)
// A level is left only when usage < threshold · (1 − hysteresis), so a value
// hovering at a threshold does not flap.
//
// Dynamic limits (volatility regime). For a limit with `dynamic = true`:
//   effective_limit = base_limit · s
//   s = clamp((σ_baseline / σ_realized)^β, min_scale, max_scale)
// σ_realized is the standard deviation of the last `vol_short_window` sampled
// returns, σ_baseline that of the last `vol_long_window` (or the configured
// `baseline_vol`, per sample). s = 1 until `vol_min_samples` returns exist.
// Per-symbol limits use the symbol's s; portfolio limits use the smallest s
// among the symbols held (the most stressed position sets the pace).
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/priority.h"
#include "engines/config_reader.h"

namespace nautilus::risk {

enum class LimitKind : unsigned char {
  kPositionQuantity,   // |q| per symbol (shares)
  kPositionNotional,   // |q·p| per symbol (currency)
  kGrossExposure,      // Σ|q·p| (currency)
  kNetExposure,        // |Σ q·p| (currency)
  kLeverage,           // gross / equity (ratio)
  kConcentration,      // |q·p| / equity per symbol (fraction)
  kDailyLoss,          // equity at start of the UTC day − equity (currency)
  kDrawdown,           // (peak equity − equity) / peak equity (fraction)
  kVar95,              // one-sample historical VaR at 95% of the portfolio (currency)
  kVar99,              // same at 99%
  kOrderNotional,      // |q·p| of one order (currency; pre-trade only)
  kOrderRate,          // orders in the last second (per symbol, or all)
  kVpinToxicity,       // CDF of VPIN per symbol (0..1)
  kMarginUtilization,  // margin used / equity (fraction)
};
inline constexpr std::size_t kLimitKindCount = 14;
inline constexpr std::array<LimitKind, kLimitKindCount> kAllLimitKinds = {
    LimitKind::kPositionQuantity, LimitKind::kPositionNotional, LimitKind::kGrossExposure,
    LimitKind::kNetExposure,      LimitKind::kLeverage,         LimitKind::kConcentration,
    LimitKind::kDailyLoss,        LimitKind::kDrawdown,         LimitKind::kVar95,
    LimitKind::kVar99,            LimitKind::kOrderNotional,    LimitKind::kOrderRate,
    LimitKind::kVpinToxicity,     LimitKind::kMarginUtilization};

std::string_view to_string(LimitKind k);  // "position_quantity", ... (the alert topic suffix)
std::optional<LimitKind> parse_limit_kind(std::string_view s);
// Kinds measured per symbol (a global limit applies to each symbol that has no
// override of its own). The others are portfolio-wide and global only.
bool is_per_symbol(LimitKind k);

enum class Level : unsigned char { kOk, kWarning, kBreach, kCritical };
std::string_view to_string(Level l);  // "ok", "warning", "breach", "critical"
// The priority an alert of this level travels at: a recovery is normal news, a
// warning high, a breach or a critical breach urgent (never dropped, delivered
// ahead of the flood; flash_crash stays reserved to VPIN's warning).
Priority priority_of(Level l);

struct LimitSpec {
  double limit = 0.0;    // the base limit, in the kind's unit; > 0
  double warn_at = 0.8;  // usage ratio for a warning
  double halt_at = 1.5;  // usage ratio for a critical breach (HALTED); ≥ 1
  bool dynamic = false;  // scaled by the volatility regime
  bool enabled = true;
};

struct RiskConfig {
  double initial_equity = 1'000'000.0;
  double margin_rate = 0.25;           // margin used = Σ|q·p| · margin_rate
  double hysteresis = 0.1;             // a level clears below threshold · (1 − h)
  std::int64_t cooldown_ns = 30'000'000'000;  // lower state must hold this long
  std::int64_t sample_ns = 10'000'000'000;    // return sampling interval (VaR, vol)
  int var_window = 500;
  int var_min_samples = 30;
  int vol_short_window = 30;
  int vol_long_window = 500;
  int vol_min_samples = 20;
  double baseline_vol = 0.0;           // per sample; 0 = from vol_long_window
  double vol_exponent = 1.0;           // β
  double min_scale = 0.25;
  double max_scale = 1.0;
  std::int64_t vpin_halt_ns = 300'000'000'000;  // a flash crash warning halts at least this long
  double reducing_order_scale = 0.5;   // REDUCING: order-notional limit × this for adding orders
  std::map<LimitKind, LimitSpec> global;                          // kind → spec
  std::map<std::string, std::map<LimitKind, LimitSpec>> symbols;  // symbol → overrides

  // The defaults: every kind enabled with a conservative limit for 1M equity.
  static RiskConfig defaults();
  // Reads the keys of `r`'s table over defaults(): types, ranges, unknown
  // limit kinds, per-symbol limits of portfolio kinds and relations between
  // keys are reported to `r` by key path ("limits.leverage.halt_at",
  // "symbols.AAPL.leverage"). The caller accepts its own keys and calls finish().
  static RiskConfig read(ConfigReader& r);
  // read() on a table of its own, unknown keys included. Throws
  // std::invalid_argument listing every problem.
  static RiskConfig from_json(const nlohmann::json& j);
  std::vector<std::string> validate() const;
  nlohmann::json to_json() const;
  // The spec for (kind, symbol): the symbol's override, else the global one.
  const LimitSpec* find(LimitKind k, const std::string& symbol) const;
};

}  // namespace nautilus::risk
