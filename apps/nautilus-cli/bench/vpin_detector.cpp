#include "bench/vpin_detector.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

#include "engines/vpin/vpin_calculator.h"
#include "engines/vpin/vpin_engine.h"
#include "marketdata/sources/synthetic_feed.h"
#include "table.h"

namespace nautilus::cli {
namespace {

using vpin::VpinBucket;
using vpin::VpinCalculator;
using vpin::VpinConfig;

constexpr std::int64_t kSecondNs = 1'000'000'000;
constexpr std::int64_t kStartNs = 1'700'000'000'000'000'000;  // any epoch time: bars align to multiples of bar_ns
constexpr double kCrashVolatilityX = 3.0;  // CrashEpisode's default; the marketdata engine does not set it
constexpr std::size_t kMaxListed = 200;    // per list in the JSON report

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A fraction of a second in [0, 1) from (seed, run, what): phases of the
// delivery ticks and onsets against the bars differ from run to run.
std::int64_t phase_ns(std::uint64_t seed, int run, std::uint64_t what) {
  const std::uint64_t h = splitmix(seed ^ splitmix(static_cast<std::uint64_t>(run) * 0x100000001B3ull + what));
  return static_cast<std::int64_t>(h % static_cast<std::uint64_t>(kSecondNs));
}

double seconds(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }

// Nearest rank: exact on a few hundred samples.
nlohmann::json percentiles(std::vector<double> v) {
  if (v.empty()) return {{"p50", nullptr}, {"p90", nullptr}, {"max", nullptr}};
  std::sort(v.begin(), v.end());
  auto rank = [&v](double p) {
    auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(i, 1, v.size()) - 1];
  };
  return {{"p50", rank(0.5)}, {"p90", rank(0.9)}, {"max", v.back()}};
}

struct SymbolRun {
  std::string name;
  std::int64_t onset_ns = 0;
  std::unique_ptr<VpinCalculator> gated;    // the config under test
  std::unique_ptr<VpinCalculator> ungated;  // same VPIN and CDF, warning on CDF >= threshold alone
  std::optional<std::int64_t> warned_ns;    // first warning delivered at or after onset
  std::optional<double> warned_vpin, warned_cdf;
  std::uint64_t false_warnings = 0, ungated_false = 0;
  double calm_vpin_max = 0;
};

struct Totals {
  int runs = 0;
  double symbol_hours = 0, run_hours = 0, feed_seconds = 0;
  std::uint64_t false_warnings = 0, ungated_false = 0;
  int runs_with_false = 0, ungated_runs_with_false = 0;
  double calm_vpin_max = 0;
  std::vector<double> delays;
  int episodes = 0, missed = 0, within_goal = 0;
  nlohmann::json episode_list = nlohmann::json::array();
  nlohmann::json false_list = nlohmann::json::array();
};

// One run: the feed delivered in ticks of stream_interval, each tick's trades
// symbol by symbol (the marketdata engine's order), each trade handled as the
// vpin engine does it.
void run_one(const VpinDetectorConfig& cfg, const VpinConfig& gated_cfg, int run, Totals& totals) {
  const VpinConfig ungated_cfg = [&gated_cfg] {
    VpinConfig c = gated_cfg;
    c.warmup_buckets = 0;
    c.persistence_buckets = 1;
    c.vpin_floor = 0.0;
    return c;
  }();
  const std::int64_t t0 = kStartNs + phase_ns(cfg.seed, run, 1);
  const auto calm_ns = static_cast<std::int64_t>(cfg.calm_minutes * 60.0 * 1e9);
  const auto interval_ns = std::max<std::int64_t>(1'000'000, std::llround(cfg.stream_interval_s * 1e9));
  const auto watch_ns = static_cast<std::int64_t>(cfg.watch_after_onset_s * 1e9);

  md::SyntheticConfig fc;  // the marketdata engine's synthetic source defaults
  fc.seed = cfg.seed + static_cast<std::uint64_t>(run);
  fc.start_ns = t0;
  std::vector<SymbolRun> syms;
  std::int64_t last_onset = t0;
  for (std::size_t i = 0; i < cfg.symbols.size(); ++i) {
    SymbolRun s;
    s.name = cfg.symbols[i];
    s.onset_ns = t0 + calm_ns + phase_ns(cfg.seed, run, 100 + i);
    last_onset = std::max(last_onset, s.onset_ns);
    s.gated = std::make_unique<VpinCalculator>(gated_cfg);
    s.ungated = std::make_unique<VpinCalculator>(ungated_cfg);
    md::CrashEpisode ep;
    ep.symbol = s.name;
    ep.start_ns = s.onset_ns;
    ep.duration_ns = static_cast<std::int64_t>(cfg.crash_duration_s * 1e9);
    ep.plunge = cfg.crash_plunge_pct / 100.0;
    ep.volume_multiplier = cfg.crash_volume_x;
    ep.volatility_multiplier = kCrashVolatilityX;
    fc.crashes.push_back(ep);
    syms.push_back(std::move(s));
  }
  fc.max_history_steps = static_cast<std::size_t>((last_onset + watch_ns - t0) / fc.step_ns + 16);
  md::SyntheticFeed feed(fc);

  std::vector<VpinBucket> buckets;
  auto take = [&](SymbolRun& s, bool gated, std::int64_t delivered_ns) {
    for (const auto& b : buckets) {
      const bool calm = delivered_ns < s.onset_ns;
      if (!gated) {
        if (b.warning && calm) ++s.ungated_false;
        continue;
      }
      if (calm && b.vpin) s.calm_vpin_max = std::max(s.calm_vpin_max, *b.vpin);
      if (!b.warning) continue;
      if (calm) {
        ++s.false_warnings;
        if (totals.false_list.size() < kMaxListed) {
          totals.false_list.push_back({{"run", run}, {"symbol", s.name}, {"at_s", seconds(delivered_ns - t0)},
                                       {"vpin", b.vpin.value_or(0.0)}, {"cdf", b.cdf.value_or(0.0)}});
        }
      } else if (!s.warned_ns) {
        s.warned_ns = delivered_ns;
        s.warned_vpin = b.vpin;
        s.warned_cdf = b.cdf;
      }
    }
    buckets.clear();
  };

  const std::int64_t bar_ns = gated_cfg.bar_ns;
  std::optional<std::int64_t> market_bar;
  const std::int64_t end = last_onset + watch_ns;
  for (std::int64_t from = t0, tick = t0 + interval_ns; from < end; from = tick, tick += interval_ns) {
    for (std::size_t i = 0; i < syms.size(); ++i) {
      for (const auto& t : feed.trades_between(syms[i].name, from, tick)) {
        // The vpin engine: a trade entering a new bar closes every other
        // symbol's finished bar first.
        const std::int64_t bar = t.ts_ns / bar_ns;
        if (!market_bar || bar > *market_bar) {
          market_bar = bar;
          for (std::size_t j = 0; j < syms.size(); ++j) {
            if (j == i) continue;
            syms[j].gated->flush(t.ts_ns, buckets);
            take(syms[j], true, tick);
            syms[j].ungated->flush(t.ts_ns, buckets);
            take(syms[j], false, tick);
          }
        }
        (void)syms[i].gated->add_trade(t.ts_ns, t.price, t.size, buckets);
        take(syms[i], true, tick);
        (void)syms[i].ungated->add_trade(t.ts_ns, t.price, t.size, buckets);
        take(syms[i], false, tick);
      }
    }
  }

  bool any_false = false, any_ungated_false = false;
  for (auto& s : syms) {
    totals.false_warnings += s.false_warnings;
    totals.ungated_false += s.ungated_false;
    any_false = any_false || s.false_warnings > 0;
    any_ungated_false = any_ungated_false || s.ungated_false > 0;
    totals.calm_vpin_max = std::max(totals.calm_vpin_max, s.calm_vpin_max);
    totals.symbol_hours += seconds(s.onset_ns - t0) / 3600.0;
    ++totals.episodes;
    nlohmann::json e = {{"run", run}, {"symbol", s.name}, {"delay_s", nullptr}};
    if (s.warned_ns) {
      const double d = seconds(*s.warned_ns - s.onset_ns);
      totals.delays.push_back(d);
      if (d <= cfg.goal_s) ++totals.within_goal;
      e["delay_s"] = d;
      e["vpin"] = s.warned_vpin.value_or(0.0);
      e["cdf"] = s.warned_cdf.value_or(0.0);
    } else {
      ++totals.missed;
    }
    if (totals.episode_list.size() < kMaxListed) totals.episode_list.push_back(e);
  }
  totals.runs_with_false += any_false ? 1 : 0;
  totals.ungated_runs_with_false += any_ungated_false ? 1 : 0;
  totals.run_hours += cfg.calm_minutes / 60.0;
  totals.feed_seconds += seconds(end - t0);
  ++totals.runs;
}

}  // namespace

nlohmann::json run_vpin_detector(const VpinDetectorConfig& cfg, const std::atomic<bool>& stop) {
  const VpinConfig vc = VpinConfig::from_json(cfg.vpin, default_vpin_engine_config());
  const auto start = std::chrono::steady_clock::now();
  Totals t;
  for (int run = 0; run < cfg.runs && !stop.load(); ++run) run_one(cfg, vc, run, t);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  auto rate = [](double n, double hours) { return hours > 0 ? nlohmann::json(n / hours) : nlohmann::json(nullptr); };
  const bool calm_ok = t.runs > 0 && t.runs_with_false == 0;
  const bool crash_ok = t.episodes > 0 && t.within_goal == t.episodes;
  nlohmann::json r = {
      {"scenario", "vpin-detector"},
      {"runs", t.runs},
      {"runs_requested", cfg.runs},
      {"seed", cfg.seed},
      {"calm_minutes", cfg.calm_minutes},
      {"symbols", cfg.symbols},
      {"stream_interval_s", cfg.stream_interval_s},
      {"crash_episode",
       {{"duration_s", cfg.crash_duration_s}, {"plunge_pct", cfg.crash_plunge_pct},
        {"volume_x", cfg.crash_volume_x}, {"volatility_x", kCrashVolatilityX}}},
      {"vpin", vc.to_json()},
      {"calm",
       {{"symbol_hours", t.symbol_hours},
        {"run_hours", t.run_hours},
        {"false_warnings", t.false_warnings},
        {"false_warnings_per_symbol_hour", rate(static_cast<double>(t.false_warnings), t.symbol_hours)},
        {"false_halts_per_hour", rate(static_cast<double>(t.false_warnings), t.run_hours)},
        {"runs_with_false_warning", t.runs_with_false},
        {"ungated_false_warnings", t.ungated_false},
        {"ungated_false_warnings_per_symbol_hour", rate(static_cast<double>(t.ungated_false), t.symbol_hours)},
        {"ungated_runs_with_false_warning", t.ungated_runs_with_false},
        {"vpin_max", t.calm_vpin_max}}},
      {"crash",
       {{"episodes", t.episodes},
        {"caught", t.delays.size()},
        {"within_goal", t.within_goal},
        {"missed", t.missed},
        {"goal_s", cfg.goal_s},
        {"watch_s", cfg.watch_after_onset_s},
        {"delay_s", percentiles(t.delays)}}},
      {"goals",
       {{"no_false_halt_in_calm_runs", calm_ok}, {"every_episode_within_goal", crash_ok}, {"pass", calm_ok && crash_ok}}},
      {"feed_seconds", t.feed_seconds},
      {"elapsed_s", elapsed},
      {"speedup", elapsed > 0 ? t.feed_seconds / elapsed : 0.0},
      {"interrupted", t.runs < cfg.runs},
      {"episodes", t.episode_list},
      {"false_warning_list", t.false_list}};
  return r;
}

bool vpin_detector_passed(const nlohmann::json& report) {
  return report.value("goals", nlohmann::json::object()).value("pass", false);
}

void print_vpin_detector(const nlohmann::json& r, std::ostream& out) {
  const auto& calm = r["calm"];
  const auto& crash = r["crash"];
  auto num = [](const nlohmann::json& v, int digits) {
    return v.is_number() ? format_fixed(v.get<double>(), digits) : std::string("-");
  };
  auto yes = [](bool b) { return b ? "met" : "NOT met"; };
  out << "vpin-detector: " << r["runs"] << " runs x " << r["symbols"].size() << " symbols, "
      << num(r["calm_minutes"], 0) << " calm minutes each, then a crash of "
      << num(r["crash_episode"]["plunge_pct"], 0) << "% over " << num(r["crash_episode"]["duration_s"], 0) << " s on "
      << num(r["crash_episode"]["volume_x"], 0) << "x volume\n";
  out << "  calm market (" << num(calm["symbol_hours"], 1) << " symbol-hours)\n";
  out << "    false warnings          " << calm["false_warnings"] << " ("
      << num(calm["false_warnings_per_symbol_hour"], 3) << " per symbol-hour, " << num(calm["false_halts_per_hour"], 3)
      << " halts per daemon-hour)\n";
  out << "    runs with a false halt  " << calm["runs_with_false_warning"] << " of " << r["runs"] << "\n";
  out << "    ungated (CDF alone)     " << calm["ungated_false_warnings"] << " false warnings, "
      << calm["ungated_runs_with_false_warning"] << " runs with one\n";
  out << "    highest calm VPIN       " << num(calm["vpin_max"], 3) << "\n";
  out << "  crash episodes (" << crash["episodes"] << ")\n";
  out << "    onset -> warning        p50 " << num(crash["delay_s"]["p50"], 2) << " s, p90 "
      << num(crash["delay_s"]["p90"], 2) << " s, max " << num(crash["delay_s"]["max"], 2) << " s\n";
  out << "    within " << num(crash["goal_s"], 0) << " s              " << crash["within_goal"] << " of "
      << crash["episodes"] << " (missed within " << num(crash["watch_s"], 0) << " s: " << crash["missed"] << ")\n";
  out << "  goals: no false halt in a calm run " << yes(r["goals"]["no_false_halt_in_calm_runs"].get<bool>())
      << "; every crash within " << num(crash["goal_s"], 0) << " s "
      << yes(r["goals"]["every_episode_within_goal"].get<bool>()) << "\n";
  out << "  " << num(r["feed_seconds"], 0) << " s of feed in " << num(r["elapsed_s"], 2) << " s (x"
      << num(r["speedup"], 0) << ")" << (r.value("interrupted", false) ? ", interrupted" : "") << "\n";
}

}  // namespace nautilus::cli
