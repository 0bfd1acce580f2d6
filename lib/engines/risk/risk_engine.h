// The `risk` engine: the RiskManager (risk_manager.h) on the buses.
//
// Subscribes (patterns configurable under `topics`):
//   marketdata  marketdata.real_time.trade.*  {price}        last price
//               marketdata.real_time.quote.*  {bid, ask}     mid price
//   engine      vpin.*                         vpin_toxicity {vpin, cdf} / flash_crash_warning (halts at once)
//               strategy.position.*, portfolio.position.*   position_update {symbol, quantity, avg_price?}
//               portfolio.fill.*, execution.fill.*          fill {symbol, side, quantity, price}
//               collateral.margin.*                         margin_status {utilization}
//               order.*, strategy.order.*                   order {id, symbol, side, quantity, price?}
// Publishes:
//   risk.alert.<kind>     risk_alert, priority by level (ok normal, warning high,
//                         breach/critical urgent): {kind, symbol, level, value,
//                         limit, base_limit, usage, scale, message}
//   risk.state            risk_alert at urgent on every trading-state change:
//                         {state, from, to, reason}
//   risk.decision.<sym>   order at high: the decision for each order seen
//                         (Decision::to_json), correlation_id = the order's id
// Every output carries the origin_ns / correlation_id of the message that
// caused it. Limits are re-evaluated on every input and once a second (so
// cooldowns end without traffic).
// Commands: check (order JSON → decision; changes nothing), state, halt
// {reason}, resume.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace nautilus {

std::unique_ptr<Engine> make_risk_engine();

}  // namespace nautilus
