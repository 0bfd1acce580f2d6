#include "metrics_view.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <vector>

#include "table.h"

namespace nautilus::cli {
namespace {

// "key: value" lines for every scalar under `j`, nested keys joined by dots;
// arrays are shown as JSON (they are short lists such as symbol names).
void print_scalars(std::ostream& out, const nlohmann::json& j, const std::string& prefix) {
  for (const auto& [k, v] : j.items()) {
    std::string key = prefix.empty() ? k : prefix + "." + k;
    if (v.is_object()) print_scalars(out, v, key);
    else out << "  " << key << ": " << (v.is_array() ? v.dump() : metric_cell(v)) << "\n";
  }
}

bool is_symbol_table(const nlohmann::json& symbols) {
  if (!symbols.is_object() || symbols.empty()) return false;
  for (const auto& [sym, fields] : symbols.items()) {
    if (!fields.is_object()) return false;
  }
  return true;
}

}  // namespace

std::string metric_cell(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number()) {
    double d = v.get<double>();
    char buf[48];
    if (std::fabs(d) < 1e15 && d == std::floor(d)) std::snprintf(buf, sizeof(buf), "%.0f", d);
    else std::snprintf(buf, sizeof(buf), "%.6g", d);
    return buf;
  }
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

void print_metrics(std::ostream& out, const nlohmann::json& metrics, bool color) {
  if (!metrics.is_object() || metrics.empty()) return;
  nlohmann::json rest = metrics;
  const nlohmann::json* symbols = nullptr;
  if (auto it = metrics.find("symbols"); it != metrics.end() && is_symbol_table(*it)) {
    symbols = &*it;
    rest.erase("symbols");
  }
  if (!rest.empty()) {
    out << "metrics:\n";
    print_scalars(out, rest, "");
  }
  if (!symbols) return;
  // Columns: every field any symbol has, in the order first seen.
  std::vector<std::string> columns;
  for (const auto& [sym, fields] : symbols->items()) {
    for (const auto& [k, v] : fields.items()) {
      if (std::find(columns.begin(), columns.end(), k) == columns.end()) columns.push_back(k);
    }
  }
  std::vector<std::string> header{"SYMBOL"};
  for (const auto& c : columns) {
    std::string h;
    for (char ch : c) h += ch == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    header.push_back(h);
  }
  Table t(header);
  for (const auto& [sym, fields] : symbols->items()) {
    std::vector<std::string> row{sym};
    for (const auto& c : columns) row.push_back(fields.contains(c) ? metric_cell(fields[c]) : "-");
    t.add_row(std::move(row));
  }
  out << "\n";
  t.print(out, color);
}

}  // namespace nautilus::cli
