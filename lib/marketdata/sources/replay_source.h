// The `replay` source: CSV recordings of trades, quotes or bars played back in
// file order against the hub's clock, at recorded speed (speed 1) or
// accelerated (speed N: N recorded seconds per clock second).
//
// CSV layout: a header row, then one row per event, non-decreasing in time.
// The first column is the time: `timestamp_ns`/`ts_ns` (integer ns since the
// epoch), `timestamp_ms`, or `timestamp` (ISO 8601 UTC such as
// 2024-03-01T14:30:00.250Z, or decimal seconds). Then `symbol`, then
//   trades: price,size[,side]     quotes: bid,ask[,bid_size,ask_size]
//   bars:   open,high,low,close,volume
// A trades file also serves `tick` (the last trade price). Malformed files are
// refused with the line and the reason; nothing is half-loaded.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "marketdata/source.h"

namespace nautilus::md {

// CSV fields as the replay source reads them (shared with lib/backtest's
// loader): split on commas with blanks trimmed; whole-field numbers only.
std::vector<std::string_view> split_csv(std::string_view line);
bool parse_double(std::string_view s, double& out);  // finite only
bool parse_int(std::string_view s, std::int64_t& out);

enum class ReplayKind : unsigned char { kTrades, kQuotes, kBars };
std::string_view to_string(ReplayKind k);

struct ReplayRow {
  std::int64_t ts_ns = 0;
  std::string symbol;
  std::string line;     // the row exactly as it was in the file
  std::string payload;  // JSON object built from the columns
};

struct ReplayTable {
  ReplayKind kind = ReplayKind::kTrades;
  std::string header;   // exactly as in the file
  std::vector<ReplayRow> rows;

  // Parses CSV text. On error `out` is untouched and the status names the line.
  static Status parse(std::string_view text, ReplayTable& out);
  static Status load(const std::string& path, ReplayTable& out);
  // Header and rows back as CSV text, one '\n' after each line.
  std::string to_csv() const;
};

// How a replay reaches the bus. kSnapshot: the hub's stream publishes the
// latest row per symbol each tick, as for any source (rows between two ticks
// are skipped). kEveryRow: every row is published on
// marketdata.real_time.<type>.<symbol> as its time comes, so trade consumers
// (VPIN, features) see the whole tape.
enum class ReplayMode : unsigned char { kSnapshot, kEveryRow };

struct ReplayConfig {
  std::string name = "replay";
  ReplayMode mode = ReplayMode::kSnapshot;
  int priority = 2000;
  RateLimit rate_limit{0, 1};
  double speed = 1.0;         // recorded seconds per clock second
  std::int64_t start_ns = 0;  // clock time at which the first row plays; 0: first use
};

class ReplaySource final : public Source {
 public:
  ReplaySource(ReplayConfig config, ReplayTable table);

  const SourceInfo& info() const override { return info_; }
  // The latest row for (symbol, type) recorded at or before the replay time.
  FetchResult fetch(std::string_view symbol, DataType type, std::int64_t now_ns) override;
  // The file's rows of the symbol in the range, whatever the replay time: a
  // recording is history.
  HistoryResult fetch_history(const HistoryRequest& request, std::int64_t now_ns) override;

  // The recorded time that clock time `now_ns` maps to.
  std::int64_t recorded_time(std::int64_t now_ns);
  // Rows that became due since the last call, in file order (streaming).
  std::vector<const ReplayRow*> advance(std::int64_t now_ns);
  bool finished() const;
  const ReplayTable& table() const { return table_; }
  ReplayMode mode() const { return config_.mode; }
  // The type its rows are published as: trade, quote or bar.
  DataType row_type() const;
  bool has_symbol(std::string_view symbol) const { return by_symbol_.count(symbol) != 0; }

 private:
  std::int64_t recorded_time_locked(std::int64_t now_ns);

  SourceInfo info_;
  ReplayConfig config_;
  ReplayTable table_;
  std::map<std::string, std::vector<std::size_t>, std::less<>> by_symbol_;  // row indices in time order
  mutable std::mutex mu_;
  bool started_ = false;
  std::int64_t start_ns_ = 0;
  std::size_t cursor_ = 0;
};

}  // namespace nautilus::md
