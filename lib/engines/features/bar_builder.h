// Time bars of one symbol at one interval, built from its trades. Pure: the
// caller passes the times (the trade's own timestamp, and the engine clock for
// close_due), so a run on the simulated clock is deterministic.
//
// Bars are aligned on the epoch: [k*interval, (k+1)*interval) in the trades'
// time. A bar closes
//   - at the first trade at or past its end (add_trade returns it), or
//   - when close_due(now) is called with now >= end: the engine calls it from a
//     clock timer `close_delay` after the end, so a quiet symbol's bar is not
//     held back until its next trade.
// An interval without trades makes no bar (nothing is invented). A trade
// before the open bar, or in a bar already closed, is late: counted and
// dropped, never reopening a published bar. A trade with a non-finite or
// non-positive price or size is refused and counted.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

#include "engines/features/feature_set.h"

namespace nautilus::features {

enum class TradeResult : unsigned char {
  kAdded,      // joined the open bar (or opened one)
  kClosedBar,  // closed the open bar (written to `closed`) and opened the next
  kLate,       // before the open bar or in a closed one: dropped
  kRefused,    // non-finite or non-positive price or size: dropped
};

class BarBuilder {
 public:
  explicit BarBuilder(std::int64_t interval_ns);

  TradeResult add_trade(std::int64_t ts_ns, double price, double size, Bar& closed);
  // Closes the open bar if it ended at or before `now_ns`.
  std::optional<Bar> close_due(std::int64_t now_ns);

  bool has_open_bar() const { return open_; }
  std::int64_t interval_ns() const { return interval_ns_; }
  std::uint64_t late_trades() const { return late_; }
  std::uint64_t refused_trades() const { return refused_; }

 private:
  std::int64_t bar_start(std::int64_t ts) const;
  void open_bar(std::int64_t start, double price, double size);
  Bar finish();

  std::int64_t interval_ns_;
  bool open_ = false;
  Bar bar_;
  double pv_ = 0.0;  // sum(price*size) of the open bar
  std::int64_t closed_end_ns_ = std::numeric_limits<std::int64_t>::min();  // end of the last closed bar
  std::uint64_t late_ = 0, refused_ = 0;
};

}  // namespace nautilus::features
