#include "engines/features/bar_builder.h"

#include <algorithm>
#include <cmath>

namespace nautilus::features {

BarBuilder::BarBuilder(std::int64_t interval_ns) : interval_ns_(interval_ns > 0 ? interval_ns : 1) {}

std::int64_t BarBuilder::bar_start(std::int64_t ts) const {
  std::int64_t q = ts / interval_ns_;
  if (ts % interval_ns_ < 0) --q;  // floor, for times before the epoch
  return q * interval_ns_;
}

void BarBuilder::open_bar(std::int64_t start, double price, double size) {
  open_ = true;
  bar_ = Bar{};
  bar_.start_ns = start;
  bar_.end_ns = start + interval_ns_;
  bar_.open = bar_.high = bar_.low = bar_.close = price;
  bar_.volume = size;
  bar_.trades = 1;
  pv_ = price * size;
}

Bar BarBuilder::finish() {
  open_ = false;
  closed_end_ns_ = bar_.end_ns;
  Bar out = bar_;
  // The bar's VWAP, kept inside [low, high] against the rounding of pv/volume.
  out.vwap = out.volume > 0.0 ? std::clamp(pv_ / out.volume, out.low, out.high) : out.close;
  return out;
}

TradeResult BarBuilder::add_trade(std::int64_t ts_ns, double price, double size, Bar& closed) {
  if (!std::isfinite(price) || !std::isfinite(size) || price <= 0.0 || size <= 0.0) {
    ++refused_;
    return TradeResult::kRefused;
  }
  if (ts_ns < closed_end_ns_ || (open_ && ts_ns < bar_.start_ns)) {
    ++late_;
    return TradeResult::kLate;
  }
  const std::int64_t start = bar_start(ts_ns);
  if (open_ && start == bar_.start_ns) {
    bar_.high = std::max(bar_.high, price);
    bar_.low = std::min(bar_.low, price);
    bar_.close = price;
    bar_.volume += size;
    pv_ += price * size;
    ++bar_.trades;
    return TradeResult::kAdded;
  }
  TradeResult result = TradeResult::kAdded;
  if (open_) {
    closed = finish();
    result = TradeResult::kClosedBar;
  }
  open_bar(start, price, size);
  return result;
}

std::optional<Bar> BarBuilder::close_due(std::int64_t now_ns) {
  if (!open_ || bar_.end_ns > now_ns) return std::nullopt;
  return finish();
}

}  // namespace nautilus::features
