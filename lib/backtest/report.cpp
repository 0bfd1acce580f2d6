#include "backtest/report.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include "engines/analytics/performance.h"

namespace nautilus::backtest {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string duration_text(std::int64_t ns) {
  if (ns == 0) return "0";
  if (ns % kSec == 0) return std::to_string(ns / kSec) + "s";
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

double jnum(const nlohmann::json& j, const char* key, double fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

// "1.23 %" or "-" with the reason kept for the JSON.
std::string figure_text(const nlohmann::json& j, const char* key, bool percent) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return "-";
  return percent ? fixed(it->get<double>() * 100.0, 2) + " %" : fixed(it->get<double>(), 3);
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

// A number for CSV: shortest text that reads back the same (as JSON does).
std::string csv_number(double v) { return nlohmann::json(v).dump(); }

}  // namespace

std::string iso_time(std::int64_t ns) {
  const std::int64_t secs = ns >= 0 ? ns / kSec : (ns - kSec + 1) / kSec;
  const std::int64_t frac = ns - secs * kSec;
  // Civil from days (H. Hinnant).
  std::int64_t z = (secs >= 0 ? secs : secs - 86'399) / 86'400;
  const std::int64_t sod = secs - z * 86'400;
  z += 719'468;
  const std::int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const auto doe = static_cast<unsigned>(z - era * 146'097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y0 = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = y0 + (m <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04" PRId64 "-%02u-%02uT%02" PRId64 ":%02" PRId64 ":%02" PRId64, y, m, d,
                sod / 3600, sod / 60 % 60, sod % 60);
  std::string out = buf;
  if (frac != 0) {
    std::snprintf(buf, sizeof buf, ".%09" PRId64, frac);
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

nlohmann::json execution_model(const BacktestConfig& config) {
  nlohmann::json section = nlohmann::json::object();
  for (const auto& spec : config.engines) {
    if (spec.kind == "portfolio") {
      section = spec.config;
      break;
    }
  }
  // The portfolio engine's defaults (portfolio_engine.cpp parse_settings).
  const double slip_bps = jnum(section, "slippage_bps", 0.0), slip_ticks = jnum(section, "slippage_ticks", 0.0);
  const double tick = jnum(section, "tick_size", 0.01);
  const double per_share = jnum(section, "commission_per_share", 0.0), c_bps = jnum(section, "commission_bps", 0.0);
  const double c_min = jnum(section, "commission_min", 0.0), share = jnum(section, "max_volume_share", 0.0);
  auto dur = [&](const char* key) {
    auto it = section.find(key);
    return it != section.end() && it->is_string() ? ConfigReader::parse_duration_ns(it->get<std::string>())
                                                  : std::int64_t{0};
  };
  const std::int64_t latency = dur("latency"), jitter = dur("latency_jitter");
  const auto seed = static_cast<std::int64_t>(jnum(section, "latency_seed", 1.0));
  auto on_trades = section.find("fill_on_trades");
  const bool trades_fill = on_trades != section.end() && on_trades->is_boolean() && on_trades->get<bool>();
  std::string fill = std::string("market orders at the next quote (ask/bid)") + (trades_fill ? ", the next trade" : "") +
                     " or the next bar's open; slippage " + fixed(slip_bps, 2) +
                     " bps + " + fixed(slip_ticks, 2) + " ticks of " + fixed(tick, 4) + "; commission " +
                     fixed(per_share, 4) + "/share + " + fixed(c_bps, 2) + " bps, min " + fixed(c_min, 2) + "; " +
                     (share > 0.0 ? "partial fills: at most " + fixed(share * 100.0, 2) + " % of a bar's volume"
                                  : "no volume cap");
  std::string lat = jitter > 0 ? "fixed " + duration_text(latency) + " + uniform [0, " + duration_text(jitter) +
                                     "] seeded " + std::to_string(seed)
                               : "fixed " + duration_text(latency);
  return {{"fill",
           {{"slippage_bps", slip_bps},
            {"slippage_ticks", slip_ticks},
            {"tick_size", tick},
            {"commission_per_share", per_share},
            {"commission_bps", c_bps},
            {"commission_min", c_min},
            {"max_volume_share", share},
            {"fill_on_trades", trades_fill},
            {"text", fill}}},
          {"latency", {{"latency_ns", latency}, {"jitter_ns", jitter}, {"seed", seed}, {"text", lat}}}};
}

nlohmann::json build_report(const ReportInputs& in) {
  const BacktestConfig& cfg = *in.config;
  const RunResult& r = *in.result;
  nlohmann::json j;
  j["config"] = cfg.source;
  j["overrides"] = cfg.overrides;
  nlohmann::json data = nlohmann::json::array();
  for (const auto& d : in.data) data.push_back({{"path", d.path}, {"kind", to_string(d.kind)}, {"rows", d.rows}});
  j["data"] = data;
  j["from"] = iso_time(r.first_ns);
  j["to"] = iso_time(r.last_ns);
  j["engines"] = r.engines;
  j["skipped_engines"] = cfg.skipped;
  j["market_events"] = r.market_events;
  j["engine_messages"] = r.engine_messages;
  j["model"] = execution_model(cfg);
  j["decisions"] = {{"orders", r.decisions.orders},
                    {"approved", r.decisions.approved},
                    {"denied", r.decisions.denied},
                    {"risk_state_changes", r.decisions.risk_state_changes},
                    {"halts", r.decisions.halts},
                    {"vpin_warnings", r.decisions.vpin_warnings}};

  // Analytics: the analytics engine's calculator over the sampled curve.
  analytics::SeriesConfig interval;
  interval.periods_per_year = cfg.settings.periods_per_year;
  analytics::SeriesConfig daily;
  analytics::PerformanceTracker total(interval, daily);
  for (const auto& e : r.equity) total.curve.add_sample(e.ts_ns, e.equity);
  std::map<std::string, analytics::TradeStats> by_strategy;
  for (const auto& f : r.fills) {
    total.trades.add_fill(f.notional, f.closed_quantity, f.realized_pnl);
    by_strategy[f.strategy.empty() ? "(none)" : f.strategy].add_fill(f.notional, f.closed_quantity, f.realized_pnl);
  }
  nlohmann::json analytics_json = total.to_json();
  analytics_json["periods_per_year"] = cfg.settings.periods_per_year;
  j["analytics"] = analytics_json;
  nlohmann::json strategies = nlohmann::json::object();
  for (const auto& [name, t] : by_strategy) {
    nlohmann::json s = {{"fills", t.fills()},
                        {"closed_trades", t.closed_trades()},
                        {"traded_notional", t.traded_notional()},
                        {"realized_pnl", t.realized_pnl()}};
    nlohmann::json undefined = nlohmann::json::object();
    analytics::put_figure(s, undefined, "win_rate", "win_rate", t.win_rate());
    analytics::put_figure(s, undefined, "profit_factor", "profit_factor", t.profit_factor());
    s["undefined"] = undefined;
    strategies[name] = s;
  }
  j["strategies"] = strategies;

  nlohmann::json summary = nlohmann::json::object();
  if (!r.equity.empty()) {
    const EquityRow& last = r.equity.back();
    double max_dd = 0.0;
    for (const auto& e : r.equity) max_dd = std::min(max_dd, e.drawdown);
    summary = {{"initial_cash", r.initial_cash},
               {"final_equity", last.equity},
               {"pnl", last.equity - r.initial_cash},
               {"realized_pnl", last.realized},
               {"unrealized_pnl", last.unrealized},
               {"commission", last.commission},
               {"max_drawdown", max_dd},
               {"samples", r.equity.size()}};
  }
  j["summary"] = summary;
  nlohmann::json trades = nlohmann::json::array();
  for (const auto& f : r.fills) {
    trades.push_back({{"time", iso_time(f.ts_ns)},
                      {"ts_ns", f.ts_ns},
                      {"market_ns", f.market_ns},
                      {"decision_ns", f.decision_ns},
                      {"order_id", f.order_id},
                      {"strategy", f.strategy},
                      {"symbol", f.symbol},
                      {"side", f.side},
                      {"quantity", f.quantity},
                      {"price", f.price},
                      {"commission", f.commission},
                      {"realized_pnl", f.realized_pnl},
                      {"remaining", f.remaining},
                      {"position", f.position},
                      {"source", f.source}});
  }
  j["trades"] = trades;
  // The last sample's positions.
  nlohmann::json positions = nlohmann::json::array();
  if (!r.positions.empty()) {
    const std::int64_t last_ts = r.positions.back().ts_ns;
    for (const auto& p : r.positions) {
      if (p.ts_ns != last_ts) continue;
      positions.push_back({{"symbol", p.symbol},
                           {"quantity", p.quantity},
                           {"avg_price", p.avg_price},
                           {"market_value", p.market_value},
                           {"unrealized_pnl", p.unrealized},
                           {"realized_pnl", p.realized}});
    }
  }
  j["positions"] = positions;
  return j;
}

std::string report_table(const nlohmann::json& j) {
  std::string out;
  auto line = [&](const std::string& label, const std::string& value) {
    std::string l = label;
    l.resize(std::max<std::size_t>(l.size(), 22), ' ');
    out += l + value + "\n";
  };
  line("config", j.value("config", std::string()));
  for (const auto& d : j["data"]) {
    line("data", d["path"].get<std::string>() + " (" + d["kind"].get<std::string>() + ", " +
                     std::to_string(d["rows"].get<std::size_t>()) + " rows)");
  }
  line("range", j["from"].get<std::string>() + " .. " + j["to"].get<std::string>());
  std::string engines;
  for (const auto& e : j["engines"]) engines += (engines.empty() ? "" : ", ") + e.get<std::string>();
  line("engines", engines);
  for (const auto& s : j["skipped_engines"]) line("not run", s.get<std::string>());
  line("fill model", j["model"]["fill"]["text"].get<std::string>());
  line("latency model", j["model"]["latency"]["text"].get<std::string>());
  line("market events", std::to_string(j["market_events"].get<std::size_t>()));
  const auto& d = j["decisions"];
  line("decisions", std::to_string(d["orders"].get<std::uint64_t>()) + " orders, " +
                        std::to_string(d["approved"].get<std::uint64_t>()) + " approved, " +
                        std::to_string(d["denied"].get<std::uint64_t>()) + " denied, " +
                        std::to_string(d["halts"].get<std::uint64_t>()) + " halts, " +
                        std::to_string(d["vpin_warnings"].get<std::uint64_t>()) + " VPIN warnings");
  out += "\n";
  const auto& s = j["summary"];
  if (!s.empty()) {
    line("initial cash", fixed(s["initial_cash"].get<double>(), 2));
    line("final equity", fixed(s["final_equity"].get<double>(), 2));
    line("P&L", fixed(s["pnl"].get<double>(), 2) + "  (realized " + fixed(s["realized_pnl"].get<double>(), 2) +
                    ", unrealized " + fixed(s["unrealized_pnl"].get<double>(), 2) + ", commission " +
                    fixed(s["commission"].get<double>(), 2) + ")");
    line("max drawdown", fixed(s["max_drawdown"].get<double>() * 100.0, 2) + " %");
  } else {
    line("equity", "no portfolio engine: no equity curve");
  }
  const auto& a = j["analytics"];
  const auto& iv = a["interval"];
  line("return", figure_text(iv, "cumulative_return", true) + "  (annualised " + figure_text(iv, "annual_return", true) +
                     ")");
  line("Sharpe / Sortino", figure_text(iv, "sharpe", false) + " / " + figure_text(iv, "sortino", false));
  line("volatility (annual)", figure_text(iv, "annual_volatility", true));
  line("VaR 95 % (historical)", figure_text(iv, "var_historical", true));
  const auto& t = a["trades"];
  line("fills / closed trades", std::to_string(t["fills"].get<std::size_t>()) + " / " +
                                    std::to_string(t["closed_trades"].get<std::size_t>()));
  line("win rate", figure_text(t, "win_rate", true) + "   profit factor " + figure_text(t, "profit_factor", false));
  if (!j["strategies"].empty()) {
    out += "\nstrategy              fills  closed  realized P&L  win rate  profit factor\n";
    for (const auto& [name, st] : j["strategies"].items()) {
      char buf[256];
      std::snprintf(buf, sizeof buf, "%-20s %6zu %7zu %13s %9s %14s\n", name.c_str(), st["fills"].get<std::size_t>(),
                    st["closed_trades"].get<std::size_t>(), fixed(st["realized_pnl"].get<double>(), 2).c_str(),
                    figure_text(st, "win_rate", true).c_str(), figure_text(st, "profit_factor", false).c_str());
      out += buf;
    }
  }
  if (!j["trades"].empty()) {
    out += "\ntime                      symbol   side  quantity       price   commission  realized P&L\n";
    const auto& tr = j["trades"];
    const std::size_t n = tr.size(), shown = std::min<std::size_t>(n, 20);
    for (std::size_t i = 0; i < shown; ++i) {
      const auto& f = tr[i];
      char buf[256];
      std::snprintf(buf, sizeof buf, "%-25s %-8s %-5s %8s %11s %12s %13s\n", f["time"].get<std::string>().c_str(),
                    f["symbol"].get<std::string>().c_str(), f["side"].get<std::string>().c_str(),
                    fixed(f["quantity"].get<double>(), 0).c_str(), fixed(f["price"].get<double>(), 4).c_str(),
                    fixed(f["commission"].get<double>(), 2).c_str(), fixed(f["realized_pnl"].get<double>(), 2).c_str());
      out += buf;
    }
    if (n > shown) out += "... " + std::to_string(n - shown) + " more in trades.csv (--out)\n";
  }
  if (!j["positions"].empty()) {
    out += "\nposition  quantity   avg price  market value  unrealized\n";
    for (const auto& p : j["positions"]) {
      char buf[256];
      std::snprintf(buf, sizeof buf, "%-8s %9s %11s %13s %11s\n", p["symbol"].get<std::string>().c_str(),
                    fixed(p["quantity"].get<double>(), 0).c_str(), fixed(p["avg_price"].get<double>(), 4).c_str(),
                    fixed(p["market_value"].get<double>(), 2).c_str(), fixed(p["unrealized_pnl"].get<double>(), 2).c_str());
      out += buf;
    }
  }
  return out;
}

std::string equity_svg(const std::vector<EquityRow>& equity) {
  constexpr double kWidth = 900, kLeft = 90, kRight = 20, kTop = 30, kEquityH = 240, kGap = 40, kDrawH = 120;
  const double plot_w = kWidth - kLeft - kRight, height = kTop + kEquityH + kGap + kDrawH + 40;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed(kWidth, 0) + "\" height=\"" +
                  fixed(height, 0) + "\" viewBox=\"0 0 " + fixed(kWidth, 0) + " " + fixed(height, 0) +
                  "\" font-family=\"sans-serif\" font-size=\"12\">\n"
                  "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (equity.empty()) return s + "<text x=\"20\" y=\"40\">no equity samples</text>\n</svg>\n";
  const std::int64_t t0 = equity.front().ts_ns, t1 = std::max(equity.back().ts_ns, t0 + 1);
  double lo = equity.front().equity, hi = lo, dd_lo = 0.0;
  for (const auto& e : equity) {
    lo = std::min(lo, e.equity);
    hi = std::max(hi, e.equity);
    dd_lo = std::min(dd_lo, e.drawdown);
  }
  if (hi - lo < 1e-9) {
    hi += 1.0;
    lo -= 1.0;
  }
  if (dd_lo > -1e-12) dd_lo = -0.01;
  auto x = [&](std::int64_t t) { return kLeft + plot_w * static_cast<double>(t - t0) / static_cast<double>(t1 - t0); };
  auto y_eq = [&](double v) { return kTop + kEquityH * (1.0 - (v - lo) / (hi - lo)); };
  const double dd_top = kTop + kEquityH + kGap;
  auto y_dd = [&](double v) { return dd_top + kDrawH * (v / dd_lo); };
  s += "<text x=\"" + fixed(kLeft, 0) + "\" y=\"18\" font-size=\"14\">equity</text>\n";
  s += "<rect x=\"" + fixed(kLeft, 1) + "\" y=\"" + fixed(kTop, 1) + "\" width=\"" + fixed(plot_w, 1) + "\" height=\"" +
       fixed(kEquityH, 1) + "\" fill=\"none\" stroke=\"#ccc\"/>\n";
  s += "<text x=\"" + fixed(kLeft - 6, 0) + "\" y=\"" + fixed(kTop + 4, 1) + "\" text-anchor=\"end\">" + fixed(hi, 2) +
       "</text>\n";
  s += "<text x=\"" + fixed(kLeft - 6, 0) + "\" y=\"" + fixed(kTop + kEquityH, 1) + "\" text-anchor=\"end\">" +
       fixed(lo, 2) + "</text>\n";
  s += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"";
  for (const auto& e : equity) s += fixed(x(e.ts_ns), 2) + "," + fixed(y_eq(e.equity), 2) + " ";
  s += "\"/>\n";
  s += "<text x=\"" + fixed(kLeft, 0) + "\" y=\"" + fixed(dd_top - 8, 1) + "\" font-size=\"14\">drawdown</text>\n";
  s += "<rect x=\"" + fixed(kLeft, 1) + "\" y=\"" + fixed(dd_top, 1) + "\" width=\"" + fixed(plot_w, 1) + "\" height=\"" +
       fixed(kDrawH, 1) + "\" fill=\"none\" stroke=\"#ccc\"/>\n";
  s += "<text x=\"" + fixed(kLeft - 6, 0) + "\" y=\"" + fixed(dd_top + 4, 1) + "\" text-anchor=\"end\">0 %</text>\n";
  s += "<text x=\"" + fixed(kLeft - 6, 0) + "\" y=\"" + fixed(dd_top + kDrawH, 1) + "\" text-anchor=\"end\">" +
       fixed(dd_lo * 100.0, 2) + " %</text>\n";
  s += "<polygon fill=\"#d62728\" fill-opacity=\"0.35\" stroke=\"#d62728\" points=\"" + fixed(x(t0), 2) + "," +
       fixed(dd_top, 2) + " ";
  for (const auto& e : equity) s += fixed(x(e.ts_ns), 2) + "," + fixed(y_dd(e.drawdown), 2) + " ";
  s += fixed(x(equity.back().ts_ns), 2) + "," + fixed(dd_top, 2) + "\"/>\n";
  const double axis_y = dd_top + kDrawH + 18;
  s += "<text x=\"" + fixed(kLeft, 0) + "\" y=\"" + fixed(axis_y, 1) + "\">" + iso_time(t0) + "</text>\n";
  s += "<text x=\"" + fixed(kWidth - kRight, 0) + "\" y=\"" + fixed(axis_y, 1) + "\" text-anchor=\"end\">" +
       iso_time(equity.back().ts_ns) + "</text>\n";
  return s + "</svg>\n";
}

void write_report_files(const std::string& dir, const nlohmann::json& report, const RunResult& r) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir + ": " + ec.message());
  const std::filesystem::path d(dir);
  write_file(d / "report.json", report.dump(2) + "\n");
  std::string eq = "time,ts_ns,equity,cash,realized_pnl,unrealized_pnl,commission,gross_exposure,drawdown\n";
  for (const auto& e : r.equity) {
    eq += iso_time(e.ts_ns) + "," + std::to_string(e.ts_ns) + "," + csv_number(e.equity) + "," + csv_number(e.cash) +
          "," + csv_number(e.realized) + "," + csv_number(e.unrealized) + "," + csv_number(e.commission) + "," +
          csv_number(e.gross_exposure) + "," + csv_number(e.drawdown) + "\n";
  }
  write_file(d / "equity.csv", eq);
  std::string tr = "time,ts_ns,market_ns,decision_ns,order_id,strategy,symbol,side,quantity,price,commission,realized_pnl,"
                   "remaining,position,source\n";
  for (const auto& f : r.fills) {
    tr += iso_time(f.ts_ns) + "," + std::to_string(f.ts_ns) + "," + std::to_string(f.market_ns) + "," +
          std::to_string(f.decision_ns) + "," + f.order_id + "," + f.strategy + "," + f.symbol + "," + f.side + "," +
          csv_number(f.quantity) + "," + csv_number(f.price) + "," + csv_number(f.commission) + "," +
          csv_number(f.realized_pnl) + "," + csv_number(f.remaining) + "," + csv_number(f.position) + "," + f.source +
          "\n";
  }
  write_file(d / "trades.csv", tr);
  std::string pos = "time,ts_ns,symbol,quantity,avg_price,market_value,unrealized_pnl,realized_pnl\n";
  for (const auto& p : r.positions) {
    pos += iso_time(p.ts_ns) + "," + std::to_string(p.ts_ns) + "," + p.symbol + "," + csv_number(p.quantity) + "," +
           csv_number(p.avg_price) + "," + csv_number(p.market_value) + "," + csv_number(p.unrealized) + "," +
           csv_number(p.realized) + "\n";
  }
  write_file(d / "positions.csv", pos);
  write_file(d / "events.ndjson", r.event_log);
  write_file(d / "equity.svg", equity_svg(r.equity));
}

}  // namespace nautilus::backtest
