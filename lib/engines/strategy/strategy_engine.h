// The `strategy` engine: hosts the configured strategy instances
// (strategy_instance.h) on the buses, and stops them when trading is halted.
//
// Config: [[engines.strategy.instances]] tables (name, kind, symbols, interval,
// params, sizing, regime, allow_short, resume; man nautilusd.conf(5)). A symbol
// is traded by one instance, so the book's position of a symbol is the
// instance's position.
//
// Subscribes (engine bus):
//   features.<interval>.*   feature_update (features_engine.h): one bar per message
//   ml.regime.*             regime_change {symbol, regime}: the regime gate
//   portfolio.*             fill {order_id, symbol, side, quantity} of its own orders,
//                           position_update {symbol, quantity}: the position
//   risk.decision.*         risk's answer per order: a denied order is no longer open
//   risk.state              {state, from, to, reason}: HALTED halts, REDUCING
//                           reduces, ACTIVE resumes (resume = "auto")
//   vpin.alert.*            flash_crash_warning: halts the instance trading the symbol
// Publishes:
//   strategy.signal.<instance>.<symbol>  trading_signal at high, when the gated
//       signal changes: {instance, kind, symbol, signal, direction, raw_signal,
//       regime, price, target, bar_index, interval, state}
//   strategy.order.<symbol>   order at high: {id, symbol, side, quantity,
//       order_type: "market", instance, reduces_exposure, reference_price}
//       (risk checks it; the portfolio executes what risk approves)
//   strategy.cancel.<symbol>  order at urgent: {action: "cancel", id, symbol,
//       instance, remaining, reason} for each open order a halt or stop cancels
//   strategy.state.<instance> engine_status at urgent on every run-state change:
//       {instance, state, previous, reason, cause, symbol, halt_origin_ns,
//        halt_correlation_id, cancelled, open_orders, waiting_for_operator}
// Orders carry the feature update's origin_ns/correlation_id; cancels and
// state changes carry the halt's.
//
// The halt: every handler runs under one lock, and an order is created and
// published inside it, so once the halt's handler has run no order decided
// after it exists (orders already out are cancelled by it).
//
// Commands: "list"; "stop" {name, reason?}; "resume" {name}. An unknown name is
// std::out_of_range (the daemon's 404). metrics(): `symbols.<SYMBOL>` flat
// scalars (instance, state, position, pending, target, signal, regime,
// last_price, orders, fills, denied, cancelled, held_back), `instances.<name>`
// and counters.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace nautilus {

std::unique_ptr<Engine> make_strategy_engine();

}  // namespace nautilus
