#include "backtest/sweep.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace nautilus::backtest {

SweepParam parse_sweep_param(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw std::invalid_argument("--param '" + text + "' is not KEY=v1,v2,...");
  }
  SweepParam p;
  p.key = text.substr(0, eq);
  std::size_t start = eq + 1;
  for (;;) {
    const auto comma = text.find(',', start);
    std::string v = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (v.empty()) throw std::invalid_argument("--param '" + text + "': empty value");
    p.values.push_back(std::move(v));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return p;
}

std::vector<std::vector<std::string>> sweep_grid(const std::vector<SweepParam>& params) {
  std::vector<std::vector<std::string>> grid{{}};
  for (const auto& p : params) {
    std::vector<std::vector<std::string>> next;
    for (const auto& combo : grid) {
      for (const auto& v : p.values) {
        auto c = combo;
        c.push_back(p.key + "=" + v);
        next.push_back(std::move(c));
      }
    }
    grid = std::move(next);
  }
  return grid;
}

std::optional<double> sweep_metric(const nlohmann::json& report, const std::string& metric) {
  auto get = [](const nlohmann::json& j, const char* key) -> std::optional<double> {
    if (!j.is_object()) return std::nullopt;
    auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  };
  const nlohmann::json empty = nlohmann::json::object();
  const auto& a = report.contains("analytics") ? report["analytics"] : empty;
  const auto& interval = a.contains("interval") ? a["interval"] : empty;
  const auto& trades = a.contains("trades") ? a["trades"] : empty;
  const auto& summary = report.contains("summary") ? report["summary"] : empty;
  if (metric == "pnl") return get(summary, "pnl");
  if (metric == "return") return get(interval, "cumulative_return");
  if (metric == "sharpe") return get(interval, "sharpe");
  if (metric == "sortino") return get(interval, "sortino");
  if (metric == "max_drawdown") return get(summary, "max_drawdown");
  if (metric == "win_rate") return get(trades, "win_rate");
  if (metric == "profit_factor") return get(trades, "profit_factor");
  if (metric == "fills") return get(trades, "fills");
  throw std::invalid_argument("unknown metric '" + metric + "'");
}

nlohmann::json sweep_table(std::vector<SweepRow> rows, const std::string& metric) {
  auto value = [&](const SweepRow& r) -> std::optional<double> {
    auto it = r.figures.find(metric);
    if (it == r.figures.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const SweepRow& a, const SweepRow& b) {
    const auto va = value(a), vb = value(b);
    if (va.has_value() != vb.has_value()) return va.has_value();
    if (va && *va != *vb) return *va > *vb;
    return a.index < b.index;
  });
  nlohmann::json out = {{"metric", metric}, {"rows", nlohmann::json::array()}};
  for (const auto& r : rows) {
    nlohmann::json params = nlohmann::json::object();
    for (const auto& o : r.overrides) {
      const auto eq = o.find('=');
      params[o.substr(0, eq)] = o.substr(eq + 1);
    }
    out["rows"].push_back({{"index", r.index}, {"params", params}, {"figures", r.figures}});
  }
  return out;
}

std::string sweep_table_text(const nlohmann::json& table) {
  std::string out;
  const auto& rows = table["rows"];
  if (rows.empty()) return "no runs\n";
  std::vector<std::string> keys;
  for (const auto& [k, v] : rows[0]["params"].items()) keys.push_back(k);
  auto cell = [](std::string s, std::size_t w) {
    if (s.size() < w) s.insert(0, w - s.size(), ' ');
    return s + "  ";
  };
  out += cell("#", 3);
  for (const auto& k : keys) out += cell(k, std::max<std::size_t>(k.size(), 6));
  for (const char* m : kSweepMetrics) out += cell(m, 13);
  out += "\n";
  for (const auto& r : rows) {
    out += cell(std::to_string(r["index"].get<std::size_t>()), 3);
    for (const auto& k : keys) out += cell(r["params"].value(k, std::string()), std::max<std::size_t>(k.size(), 6));
    for (const char* m : kSweepMetrics) {
      const auto& f = r["figures"];
      std::string text = "-";
      if (f.contains(m) && f[m].is_number()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, std::string(m) == "fills" ? "%.0f" : "%.4f", f[m].get<double>());
        text = buf;
      }
      out += cell(text, 13);
    }
    out += "\n";
  }
  out += "sorted by " + table["metric"].get<std::string>() + ", best first\n";
  return out;
}

}  // namespace nautilus::backtest
