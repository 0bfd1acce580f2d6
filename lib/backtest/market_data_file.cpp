#include "backtest/market_data_file.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "engines/config_reader.h"
#include "marketdata/data_types.h"
#include "marketdata/sources/replay_source.h"
#include "store/time_spec.h"

namespace nautilus::backtest {
namespace {

enum class TimeColumn : unsigned char { kNs, kMs, kText };

// One column of a kind: its name, whether it must be there, and what it is.
struct ColumnSpec {
  std::string_view name;
  bool required;
};

constexpr ColumnSpec kTradeColumns[] = {{"price", true}, {"size", true}, {"side", false}};
constexpr ColumnSpec kQuoteColumns[] = {{"bid", true}, {"ask", true}, {"bid_size", false}, {"ask_size", false}};
constexpr ColumnSpec kBarColumns[] = {{"open", true},  {"high", true},   {"low", true},     {"close", true},
                                      {"volume", true}, {"interval", false}, {"vwap", false}, {"trades", false}};

using md::parse_double;
using md::parse_int;
using md::split_csv;

using md::valid_symbol;  // the hub's rule for a symbol

[[noreturn]] void fail(const std::string& name, std::size_t line, const std::string& why) {
  throw std::runtime_error(name + ":" + std::to_string(line) + ": " + why);
}

std::string column_list(DataKind kind) {
  std::string out = "a time column, symbol";
  auto add = [&](const auto& cols) {
    for (const auto& c : cols) out += std::string(", ") + std::string(c.name) + (c.required ? "" : "?");
  };
  if (kind == DataKind::kTrades) add(kTradeColumns);
  if (kind == DataKind::kQuotes) add(kQuoteColumns);
  if (kind == DataKind::kBars) add(kBarColumns);
  return out;
}

template <std::size_t N>
bool known_column(const ColumnSpec (&cols)[N], std::string_view name) {
  return std::any_of(std::begin(cols), std::end(cols), [&](const ColumnSpec& c) { return c.name == name; });
}

template <std::size_t N>
const ColumnSpec* missing_column(const ColumnSpec (&cols)[N], const std::vector<std::string>& names) {
  for (const auto& c : cols) {
    if (c.required && std::find(names.begin(), names.end(), c.name) == names.end()) return &c;
  }
  return nullptr;
}

bool known_for(DataKind kind, std::string_view name) {
  if (kind == DataKind::kTrades) return known_column(kTradeColumns, name);
  if (kind == DataKind::kQuotes) return known_column(kQuoteColumns, name);
  return known_column(kBarColumns, name);
}

const ColumnSpec* missing_for(DataKind kind, const std::vector<std::string>& names) {
  if (kind == DataKind::kTrades) return missing_column(kTradeColumns, names);
  if (kind == DataKind::kQuotes) return missing_column(kQuoteColumns, names);
  return missing_column(kBarColumns, names);
}

}  // namespace

std::string_view to_string(DataKind k) {
  switch (k) {
    case DataKind::kTrades: return "trades";
    case DataKind::kQuotes: return "quotes";
    case DataKind::kBars: return "bars";
  }
  return "unknown";
}

std::vector<MarketEvent> parse_data_csv(std::string_view text, const std::string& name, const LoadOptions& options,
                                        DataFile* info) {
  std::vector<MarketEvent> out;
  std::vector<std::string> names;
  TimeColumn time_column = TimeColumn::kNs;
  DataKind kind = DataKind::kTrades;
  std::int64_t previous_ts = 0;
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const auto fields = split_csv(line);
    if (names.empty()) {  // the header
      for (auto f : fields) names.emplace_back(f);
      if (names.size() < 3 || names[1] != "symbol") fail(name, line_no, "header must be: a time column, symbol, then the data columns");
      if (names[0] == "ts_ns" || names[0] == "timestamp_ns") {
        time_column = TimeColumn::kNs;
      } else if (names[0] == "ts_ms" || names[0] == "timestamp_ms") {
        time_column = TimeColumn::kMs;
      } else if (names[0] == "time" || names[0] == "timestamp" || names[0] == "ts") {
        time_column = TimeColumn::kText;
      } else {
        fail(name, line_no, "unknown time column '" + names[0] + "' (ts_ns, ts_ms or time)");
      }
      auto has = [&](std::string_view n) { return std::find(names.begin(), names.end(), n) != names.end(); };
      if (has("bid") || has("ask")) {
        kind = DataKind::kQuotes;
      } else if (has("open") || has("close")) {
        kind = DataKind::kBars;
      } else if (has("price")) {
        kind = DataKind::kTrades;
      } else {
        fail(name, line_no, "cannot tell trades (price), quotes (bid, ask) or bars (open, high, low, close, volume)");
      }
      for (std::size_t c = 2; c < names.size(); ++c) {
        if (!known_for(kind, names[c])) {
          fail(name, line_no, "unknown column '" + names[c] + "' for " + std::string(to_string(kind)) + " (" +
                                  column_list(kind) + ")");
        }
        if (std::count(names.begin(), names.end(), names[c]) > 1) fail(name, line_no, "column '" + names[c] + "' twice");
      }
      if (const ColumnSpec* m = missing_for(kind, names)) {
        fail(name, line_no, "missing column '" + std::string(m->name) + "' for " + std::string(to_string(kind)) + " (" +
                                column_list(kind) + ")");
      }
      continue;
    }
    if (fields.size() != names.size()) {
      fail(name, line_no, "expected " + std::to_string(names.size()) + " fields, got " + std::to_string(fields.size()));
    }
    MarketEvent e;
    e.kind = kind;
    bool time_ok = false;
    if (time_column == TimeColumn::kNs) {
      time_ok = parse_int(fields[0], e.ts_ns);
    } else if (time_column == TimeColumn::kMs) {
      std::int64_t ms = 0;
      time_ok = parse_int(fields[0], ms) && ms >= 0 && ms < INT64_MAX / 1'000'000;
      e.ts_ns = ms * 1'000'000;
    } else {
      // ISO 8601 UTC (as history queries take them); a relative "15m" is not a row time.
      const bool relative = !fields[0].empty() && (fields[0].back() < '0' || fields[0].back() > '9') &&
                            fields[0].back() != 'Z' && fields[0].find('-') == std::string_view::npos;
      auto t = relative ? std::nullopt : store::parse_time_spec(fields[0], 0);
      time_ok = t.has_value() && *t >= 0;
      if (time_ok) e.ts_ns = *t;
    }
    if (!time_ok || e.ts_ns < 0) fail(name, line_no, "bad time '" + std::string(fields[0]) + "'");
    if (!out.empty() && e.ts_ns < previous_ts) {
      fail(name, line_no, "rows out of time order (" + std::string(fields[0]) +
                              " is before the row above); sort the file by time, it is refused, not reordered");
    }
    previous_ts = e.ts_ns;
    if (!valid_symbol(fields[1])) fail(name, line_no, "bad symbol '" + std::string(fields[1]) + "'");
    e.symbol = std::string(fields[1]);
    nlohmann::json j = nlohmann::json::object();
    std::int64_t interval_ns = options.default_bar_interval_ns;
    for (std::size_t c = 2; c < names.size(); ++c) {
      const std::string& col = names[c];
      if (col == "side") {
        if (fields[c] != "buy" && fields[c] != "sell" && !fields[c].empty()) {
          fail(name, line_no, "side must be buy, sell or empty (got '" + std::string(fields[c]) + "')");
        }
        if (!fields[c].empty()) j["side"] = std::string(fields[c]);
        continue;
      }
      if (col == "interval") {
        interval_ns = ConfigReader::parse_duration_ns(fields[c]);
        if (interval_ns <= 0) fail(name, line_no, "bad interval '" + std::string(fields[c]) + "' (e.g. 1m, 5m, 1h, 1d)");
        continue;
      }
      double v = 0.0;
      if (!parse_double(fields[c], v)) {
        fail(name, line_no, "bad number '" + std::string(fields[c]) + "' in column '" + col + "'");
      }
      if (v < 0.0 || (v == 0.0 && col != "volume" && col != "size" && col != "trades" && col != "bid_size" &&
                      col != "ask_size")) {
        fail(name, line_no, "column '" + col + "' must be " + (col == "volume" || col == "size" ? "≥ 0" : "> 0"));
      }
      if (col == "trades") {
        j[col] = static_cast<std::uint64_t>(v);
      } else {
        j[col] = v;
      }
    }
    if (kind == DataKind::kTrades) {
      e.type = MessageType::kTrade;
      e.topic = "marketdata.real_time.trade." + e.symbol;
      e.at_ns = e.ts_ns;
      e.volume = j["size"].get<double>();
    } else if (kind == DataKind::kQuotes) {
      if (j["bid"].get<double>() > j["ask"].get<double>()) fail(name, line_no, "bid above ask");
      e.type = MessageType::kQuote;
      e.topic = "marketdata.real_time.quote." + e.symbol;
      e.at_ns = e.ts_ns;
    } else {
      const double o = j["open"].get<double>(), h = j["high"].get<double>(), l = j["low"].get<double>(),
                   c = j["close"].get<double>();
      if (l > h || o > h || o < l || c > h || c < l) fail(name, line_no, "open and close must lie in [low, high]");
      e.type = MessageType::kBar;
      e.topic = "marketdata.real_time.bar." + e.symbol;
      e.at_ns = e.ts_ns + interval_ns;  // delivered when it has closed
      e.volume = j["volume"].get<double>();
      j["start_ns"] = e.ts_ns;
      j["interval_ns"] = interval_ns;
      j["closed"] = true;
    }
    j["symbol"] = e.symbol;
    j["ts_ns"] = e.at_ns;
    e.payload = j.dump();
    out.push_back(std::move(e));
  }
  if (names.empty()) fail(name, line_no == 0 ? 1 : line_no, "empty file (no header, no rows)");
  if (out.empty()) fail(name, line_no, "no data rows after the header");
  if (info) *info = DataFile{name, kind, out.size()};
  return out;
}

std::vector<MarketEvent> load_data_files(const std::vector<std::string>& paths, const LoadOptions& options,
                                         std::vector<DataFile>* infos) {
  if (paths.empty()) throw std::runtime_error("no data files (--data PATH)");
  std::vector<MarketEvent> all;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    DataFile info;
    auto events = parse_data_csv(ss.str(), path, options, &info);
    if (infos) infos->push_back(info);
    all.insert(all.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
  }
  merge_timeline(all);
  return all;
}

void merge_timeline(std::vector<MarketEvent>& events) {
  std::stable_sort(events.begin(), events.end(),
                   [](const MarketEvent& a, const MarketEvent& b) { return a.at_ns < b.at_ns; });
}

}  // namespace nautilus::backtest
