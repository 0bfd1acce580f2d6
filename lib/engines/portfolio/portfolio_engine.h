// The `portfolio` engine: paper execution of the orders risk approved, the
// average-cost book (positions.h), rebalancing and optimisation (optimizer.h).
//
// Subscribes  marketdata  marketdata.real_time.quote.*  {bid, ask, ts_ns?}   fills, marks
//                         marketdata.real_time.trade.*  {price}              last price
//                         marketdata.real_time.bar.*    {start_ns, open, high, low, close}
//             engine      strategy.order.*   order {id?, symbol, side, quantity, type?: market|limit, price?}
//                         risk.decision.*    the risk engine's answer (correlation_id = the order message's id)
//                         risk.state         HALTED cancels every order still waiting to fill
// Publishes   portfolio.fill.<symbol>      fill, high: {order_id, symbol, side, quantity, price,
//                                            commission, realized_pnl, source, market_ns, decision_ns, ...}
//             portfolio.position.<symbol>  position_update, high, after each fill:
//                                            {symbol, quantity, avg_price, realized_pnl, unrealized_pnl, ...}
//             portfolio.summary            portfolio_update, normal, on change, at most once per
//                                            summary_interval of the engine clock: {cash, equity, ...}
//             strategy.order.<symbol>      order (the "rebalance" command), checked by risk like any other
// A fill and its position update carry the decision's origin_ns and the
// order's correlation_id (the order message's id when it has none).
//
// An approved order waits for a price from at or after its decision (quote,
// else the next bar's open; paper_execution.h). Refused and counted, changing
// nothing else: an order with a zero, negative or non-numeric quantity, an
// order for a symbol with no market data (or outside `symbols`), a decision
// for an order never seen (after `decision_grace`: a decision may overtake its
// order between two subscriptions), a quote with bid > ask or a bad price.
//
// Commands: show | positions | pnl (JSON); optimize {method, symbols?, rf?,
// target_volatility?, bounds?, lookback?, prices?}; rebalance {weights}.
// Prices for optimize are the engine's own samples of each symbol's mid (or
// last) every `sample_interval`, or `prices` {SYMBOL: [...]} given in the call.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace nautilus {

std::unique_ptr<Engine> make_portfolio_engine();

}  // namespace nautilus
