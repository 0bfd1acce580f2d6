// The market data a backtest replays: CSV files of trades, quotes or bars
// (columns in nautilus(1), BACKTEST DATA), loaded strictly and merged into one
// timeline. Each row becomes the message the hub would publish on
// marketdata.real_time.<trade|quote|bar>.<SYMBOL>, delivered at its own time;
// a bar at its close (start + interval), never before it has happened.
//
// Strict: an unknown column, a bad number, rows out of time order or an empty
// file is refused with "file:line: reason" and nothing is loaded. Merging is a
// stable sort on the delivery time, so equal stamps keep the order of the
// --data arguments and then of the rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/message_type.h"

namespace nautilus::backtest {

enum class DataKind : unsigned char { kTrades, kQuotes, kBars };
std::string_view to_string(DataKind k);  // "trades" | "quotes" | "bars"

struct MarketEvent {
  std::int64_t at_ns = 0;   // delivery time: the row's time; a bar's close
  std::int64_t ts_ns = 0;   // the row's own time (a bar's start)
  DataKind kind = DataKind::kTrades;
  MessageType type = MessageType::kTrade;
  std::string symbol;
  std::string topic;        // marketdata.real_time.<trade|quote|bar>.<SYMBOL>
  std::string payload;      // the hub's JSON for it (ts_ns, prices, sizes)
  double volume = 0.0;      // trade size, or bar volume (0 for quotes)
};

struct DataFile {
  std::string path;
  DataKind kind = DataKind::kTrades;
  std::size_t rows = 0;
};

struct LoadOptions {
  std::int64_t default_bar_interval_ns = 60'000'000'000;  // when a bars file has no interval column
};

// Parses one file's text; throws std::runtime_error("<name>:<line>: reason").
std::vector<MarketEvent> parse_data_csv(std::string_view text, const std::string& name, const LoadOptions& options,
                                        DataFile* info = nullptr);
// Loads each file (throws as above, or "cannot open") and merges them.
std::vector<MarketEvent> load_data_files(const std::vector<std::string>& paths, const LoadOptions& options,
                                         std::vector<DataFile>* infos = nullptr);
// Stable merge by at_ns.
void merge_timeline(std::vector<MarketEvent>& events);

}  // namespace nautilus::backtest
