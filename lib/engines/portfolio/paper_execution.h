// Paper execution: the orders risk approved, filled against market data that
// arrives after the approval. Pure: every input carries its time.
//
// Rules (issue 13):
//   - A market buy fills at the ask, a sell at the bid, each moved against the
//     order by the slippage: price · slippage_bps / 10⁴ plus slippage_ticks ·
//     tick_size.
//   - A limit buy fills when the ask is at or below its limit, a limit sell when
//     the bid is at or above it, at the quote (with slippage, capped at the
//     limit: a limit order never fills worse than its limit).
//   - On bar data (a symbol whose bars arrive before any quote after the
//     decision) an order fills at the open of the first bar that starts at or
//     after the decision (open ± slippage); a limit order there fills at the
//     open when the open crosses the limit, else at the limit when the bar's
//     range reaches it.
//   - Never at a price from before the decision: a quote counts only when its
//     time is at or after the decision's, a bar only when it starts then.
//   - Commission = max(commission_min, |q|·per_share + |q·price|·bps/10⁴);
//     0 when both rates are 0.
//   - Latency (backtests, issue 15): an order may fill only on market data at
//     or after decided_ns + latency_ns + a seeded uniform jitter in
//     [0, latency_jitter_ns], drawn when the order is added.
//   - On trade data, with fill_on_trades: a trade at or after the decision
//     fills like a quote whose bid and ask are the trade's price (a market
//     order at price ± slippage, a limit order when the price reaches it).
//     Off by default: where quotes exist they are the price one can trade at.
//   - Partial fills on bars: with max_volume_share > 0 the orders of a symbol
//     fill, in arrival order, at most that share of the bar's volume in all
//     (whole units); the rest waits for the next bar. A bar without a volume
//     (volume < 0) is not capped.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/status.h"

namespace nautilus::portfolio {

struct ExecutionConfig {
  double slippage_bps = 0.0;
  double slippage_ticks = 0.0;
  double tick_size = 0.01;
  double commission_per_share = 0.0;
  double commission_bps = 0.0;
  double commission_min = 0.0;  // per fill, when a rate is set
  double max_volume_share = 0.0;      // of a bar's volume per bar; 0: no cap
  std::int64_t latency_ns = 0;        // decision to earliest fill
  std::int64_t latency_jitter_ns = 0; // plus uniform [0, jitter], seeded
  std::uint64_t latency_seed = 1;
  bool fill_on_trades = false;        // trades fill too (data with trades only)
};

enum class OrderType : unsigned char { kMarket, kLimit };

struct PaperOrder {
  std::string id;               // the order's id (the order message's id when it has none)
  std::string symbol;
  double quantity = 0.0;        // signed: buy > 0
  OrderType type = OrderType::kMarket;
  double limit_price = 0.0;     // kLimit only
  bool reduces_exposure = false;  // as risk decided it
  std::int64_t decided_ns = 0;  // the risk decision's time: no earlier price may fill it
  std::int64_t origin_ns = 0;   // carried to the fill
  std::string correlation_id;
  std::string instance;         // the strategy instance that sent it ("portfolio" for a rebalance)
  std::int64_t fill_after_ns = 0;  // set by add(): decided_ns plus the latency drawn
};

enum class FillSource : unsigned char { kQuote, kBar, kTrade };
std::string_view to_string(FillSource s);  // "quote" | "bar" | "trade"

struct PaperFill {
  PaperOrder order;
  double price = 0.0;
  double commission = 0.0;
  FillSource source = FillSource::kQuote;
  std::int64_t market_ns = 0;  // the quote's time or the bar's start
  double remaining = 0.0;      // signed quantity still waiting after a partial fill
};

double commission_for(const ExecutionConfig& c, double quantity, double price);
double slippage_for(const ExecutionConfig& c, double price);

class PaperExecutor {
 public:
  explicit PaperExecutor(ExecutionConfig config) : config_(config), latency_rng_(config.latency_seed) {}

  // An approved order: waits for market data at or after decided_ns.
  // kInvalidArgument for a zero quantity or a bad limit price.
  Status add(PaperOrder order);
  // Market data for `symbol`: fills every pending order it may fill (appended
  // to `fills`, in arrival order). kInvalidArgument (nothing changes) for
  // bid > ask or non-positive prices.
  Status on_quote(const std::string& symbol, double bid, double ask, std::int64_t ts_ns, std::vector<PaperFill>& fills);
  Status on_bar(const std::string& symbol, std::int64_t start_ns, double open, double high, double low,
                std::vector<PaperFill>& fills, double volume = -1.0);
  // A trade: fills only with fill_on_trades (else nothing happens).
  // kInvalidArgument for a non-positive price.
  Status on_trade(const std::string& symbol, double price, std::int64_t ts_ns, std::vector<PaperFill>& fills);

  bool cancel(const std::string& order_id);
  // Cancels every pending order; returns them.
  std::vector<PaperOrder> cancel_all();
  std::size_t pending() const { return pending_.size(); }
  const std::vector<PaperOrder>& pending_orders() const { return pending_; }
  const ExecutionConfig& config() const { return config_; }

 private:
  // A quote, or a trade as a quote of its price: fills what it may.
  void fill_at_touch(const std::string& symbol, double bid, double ask, std::int64_t ts_ns, FillSource source,
                     std::vector<PaperFill>& fills);

  ExecutionConfig config_;
  std::mt19937_64 latency_rng_;      // the jitter: the same seed gives the same delays
  std::vector<PaperOrder> pending_;  // few at a time: a vector beats a map here
};

}  // namespace nautilus::portfolio
