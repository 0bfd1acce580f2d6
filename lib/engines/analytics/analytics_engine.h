// The `analytics` engine: performance figures (performance.h) of the portfolio
// and of each strategy, and Brinson–Fachler attribution by sector and by
// strategy (attribution.h), from the portfolio engine's messages.
//
// Subscribes  engine      portfolio.summary     portfolio_update {equity, cash}: the equity curve
//                         portfolio.position.*  position_update {symbol, quantity, avg_price,
//                                                 realized_pnl, mark?}: each symbol's P&L
//                         portfolio.fill.*      fill {order_id, symbol, notional, closed_quantity,
//                                                 realized_pnl, instance?}: trades, turnover
//                         strategy.order.*      order {id, symbol, instance}: which strategy a
//                                                 fill's order_id belongs to (fills carry no instance)
//             marketdata  marketdata.real_time.quote.*  {bid, ask}: marks of held symbols
//                                                 between fills (long at the bid, short at the ask,
//                                                 as the portfolio's book)
// Publishes   analytics.performance.portfolio   performance_metric, normal, right after the first
//             analytics.performance.<strategy>  sample and then after the first sample of each
//                                               publish_interval of the engine clock:
//               {subject, name, time_ns, equity, interval: {returns, sharpe, sortino, ...},
//                daily: {...}, trades: {win_rate, profit_factor, turnover, ...},
//                undefined: {"interval.sharpe": "zero variance", ...}, attribution? (portfolio)}
//
// The curves are sampled on the engine clock every `sample_interval` (and the
// first sample of each UTC day closes the previous day). A strategy's equity is
// `strategy_capital` (default: the portfolio's first equity) plus the P&L
// (realised + unrealised) of the symbols it trades. Attribution periods are the
// sample intervals: a segment's weight is its market value over the equity at
// the period's start, its return its P&L over that value; cash is a segment
// (return 0) taking the rest of the weight on both sides; P&L of a segment that
// held nothing at the start (opened and closed within the period) is reported
// as `unattributed_return`. Benchmark weights and per-period returns come from
// `benchmark.sectors.<SECTOR>` and `benchmark.strategies.<NAME>`.
//
// Commands: "report" (every figure, attribution; the CLI's `nautilus analytics
// report`). metrics(): flat scalars under `portfolio`, `strategies.<name>`,
// `counters`.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace nautilus {

std::unique_ptr<Engine> make_analytics_engine();

}  // namespace nautilus
