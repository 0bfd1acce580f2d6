#include "engines/portfolio/paper_execution.h"

#include <algorithm>
#include <cmath>

namespace nautilus::portfolio {
namespace {

bool finite_positive(double v) { return std::isfinite(v) && v > 0.0; }

// The price a buy (or sell) pays at `reference` after slippage. A sell whose
// slippage would take the price to zero or below pays the reference: the
// slippage model is for liquid markets, not for pricing a stock at zero.
double slipped(const ExecutionConfig& c, bool buy, double reference) {
  const double s = slippage_for(c, reference);
  if (buy) return reference + s;
  return reference - s > 0.0 ? reference - s : reference;
}

}  // namespace

std::string_view to_string(FillSource s) {
  switch (s) {
    case FillSource::kQuote: return "quote";
    case FillSource::kTrade: return "trade";
    case FillSource::kBar: break;
  }
  return "bar";
}

double commission_for(const ExecutionConfig& c, double quantity, double price) {
  if (c.commission_per_share == 0.0 && c.commission_bps == 0.0) return 0.0;
  const double size = std::fabs(quantity);
  const double rate = size * c.commission_per_share + size * price * c.commission_bps / 1e4;
  return std::max(c.commission_min, rate);
}

double slippage_for(const ExecutionConfig& c, double price) {
  return price * c.slippage_bps / 1e4 + c.slippage_ticks * c.tick_size;
}

Status PaperExecutor::add(PaperOrder order) {
  if (!std::isfinite(order.quantity) || order.quantity == 0.0) {
    return {StatusCode::kInvalidArgument, "order quantity must be finite and non-zero"};
  }
  if (order.type == OrderType::kLimit && !finite_positive(order.limit_price)) {
    return {StatusCode::kInvalidArgument, "limit price must be > 0"};
  }
  if (order.symbol.empty()) return {StatusCode::kInvalidArgument, "order symbol is empty"};
  std::int64_t delay = config_.latency_ns;
  if (config_.latency_jitter_ns > 0) {
    // A modulo rather than a std:: distribution: the same delays on every
    // standard library (a distribution's algorithm is unspecified).
    delay += static_cast<std::int64_t>(latency_rng_() % (static_cast<std::uint64_t>(config_.latency_jitter_ns) + 1));
  }
  order.fill_after_ns = order.decided_ns + delay;
  pending_.push_back(std::move(order));
  return Status::ok();
}

Status PaperExecutor::on_quote(const std::string& symbol, double bid, double ask, std::int64_t ts_ns,
                               std::vector<PaperFill>& fills) {
  if (!finite_positive(bid) || !finite_positive(ask)) return {StatusCode::kInvalidArgument, "bid and ask must be > 0"};
  if (bid > ask) return {StatusCode::kInvalidArgument, "bid above ask"};
  fill_at_touch(symbol, bid, ask, ts_ns, FillSource::kQuote, fills);
  return Status::ok();
}

Status PaperExecutor::on_trade(const std::string& symbol, double price, std::int64_t ts_ns,
                               std::vector<PaperFill>& fills) {
  if (!finite_positive(price)) return {StatusCode::kInvalidArgument, "trade price must be > 0"};
  if (config_.fill_on_trades) fill_at_touch(symbol, price, price, ts_ns, FillSource::kTrade, fills);
  return Status::ok();
}

void PaperExecutor::fill_at_touch(const std::string& symbol, double bid, double ask, std::int64_t ts_ns,
                                  FillSource source, std::vector<PaperFill>& fills) {
  auto keep = pending_.begin();
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    PaperOrder& o = *it;
    bool filled = false;
    if (o.symbol == symbol && ts_ns >= o.decided_ns && ts_ns >= o.fill_after_ns) {
      const bool buy = o.quantity > 0.0;
      const double touch = buy ? ask : bid;
      double price = slipped(config_, buy, touch);
      if (o.type == OrderType::kLimit) {
        const bool crosses = buy ? touch <= o.limit_price : touch >= o.limit_price;
        price = buy ? std::min(price, o.limit_price) : std::max(price, o.limit_price);
        filled = crosses;
      } else {
        filled = true;
      }
      if (filled) {
        const double commission = commission_for(config_, o.quantity, price);
        fills.push_back({std::move(o), price, commission, source, ts_ns});
      }
    }
    if (!filled) {
      if (keep != it) *keep = std::move(o);
      ++keep;
    }
  }
  pending_.erase(keep, pending_.end());
}

Status PaperExecutor::on_bar(const std::string& symbol, std::int64_t start_ns, double open, double high, double low,
                             std::vector<PaperFill>& fills, double volume) {
  if (!finite_positive(open) || !finite_positive(high) || !finite_positive(low)) {
    return {StatusCode::kInvalidArgument, "bar prices must be > 0"};
  }
  if (low > high || open > high || open < low) return {StatusCode::kInvalidArgument, "bar open outside [low, high]"};
  const bool capped = config_.max_volume_share > 0.0 && volume >= 0.0;
  double budget = capped ? std::floor(volume * config_.max_volume_share) : 0.0;  // whole units left in this bar
  auto keep = pending_.begin();
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    PaperOrder& o = *it;
    bool filled = false;
    if (o.symbol == symbol && start_ns >= o.decided_ns && start_ns >= o.fill_after_ns && (!capped || budget >= 1.0)) {
      const bool buy = o.quantity > 0.0;
      double price = slipped(config_, buy, open);
      if (o.type == OrderType::kLimit) {
        if (buy ? open <= o.limit_price : open >= o.limit_price) {
          price = buy ? std::min(price, o.limit_price) : std::max(price, o.limit_price);
          filled = true;
        } else if (buy ? low <= o.limit_price : high >= o.limit_price) {
          price = o.limit_price;  // the range reached the limit after the open
          filled = true;
        }
      } else {
        filled = true;
      }
      if (filled && capped && std::fabs(o.quantity) > budget) {
        // A partial fill: the order stays with what the bar could not take.
        PaperOrder part = o;
        part.quantity = o.quantity > 0.0 ? budget : -budget;
        o.quantity -= part.quantity;
        budget = 0.0;
        const double commission = commission_for(config_, part.quantity, price);
        fills.push_back({std::move(part), price, commission, FillSource::kBar, start_ns, o.quantity});
        filled = false;
      } else if (filled) {
        if (capped) budget -= std::fabs(o.quantity);
        const double commission = commission_for(config_, o.quantity, price);
        fills.push_back({std::move(o), price, commission, FillSource::kBar, start_ns});
      }
    }
    if (!filled) {
      if (keep != it) *keep = std::move(o);
      ++keep;
    }
  }
  pending_.erase(keep, pending_.end());
  return Status::ok();
}

bool PaperExecutor::cancel(const std::string& order_id) {
  auto it = std::find_if(pending_.begin(), pending_.end(), [&](const PaperOrder& o) { return o.id == order_id; });
  if (it == pending_.end()) return false;
  pending_.erase(it);
  return true;
}

std::vector<PaperOrder> PaperExecutor::cancel_all() {
  std::vector<PaperOrder> out;
  out.swap(pending_);
  return out;
}

}  // namespace nautilus::portfolio
