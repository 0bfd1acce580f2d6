// The `features` engine: streaming technical indicators (feature_set.h) per
// symbol and bar interval, from the trades (or the bars) on the marketdata bus.
//
// Subscribes  marketdata.real_time.trade.<SYMBOL>  {price, size|quantity|volume, ts_ns?}
//             (input = "trades", the default), or
//             marketdata.real_time.bar.<SYMBOL>    {start_ns, interval_s|interval_ns, open,
//             high, low, close, volume, vwap?, trades?, closed?}  (input = "bars")
// Publishes   features.<interval>.<SYMBOL>  feature_update, normal, once per closed bar:
//               {symbol, interval, bar_index, start_ns, close_ns, open, high, low, close,
//                volume, bar_vwap, trades, sma, ema, rsi, macd, macd_signal, macd_histogram,
//                bollinger_upper, bollinger_middle, bollinger_lower, atr, volatility,
//                vwap, vwap_rolling}   (an indicator is null until its lookback is complete)
//             carrying the origin_ns/correlation_id of the trade or bar that closed the
//             bar (of the bar's last input when the clock closed it).
//
// Bars from trades (bar_builder.h): on the trade's own time (ts_ns, else the
// message timestamp), epoch-aligned; a bar closes at the symbol's first trade
// at or past its end, or, when close_on_clock, on the engine clock's check
// timer once now >= end + close_delay (close_delay must cover the hub's stream
// interval, or a bar would close before its last trades arrive; those are then
// counted as late and dropped). The timer checks every min(smallest interval,
// 1s), so on the simulated clock the same input and the same clock steps give
// the same outputs in the same order.
// Bars from the hub: the hub publishes snapshots of the forming bar; a snapshot
// replaces the held one of the same start, and the held bar is closed by a
// snapshot with a later start, by `closed: true`, or by the clock as above.
// A bar whose interval is not configured is counted (unmatched_bars).
//
// command("status") / metrics(): `symbols.<SYMBOL>` is a flat object of the
// latest values per interval ("1m.close", "1m.sma", ...), plus counters.
// command("reset_vwap", {symbol?, interval?}) starts a new VWAP session.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace nautilus {

std::unique_ptr<Engine> make_features_engine();

}  // namespace nautilus
