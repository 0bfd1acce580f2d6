// The `collateral` engine: one margin account (margin_calculator.h) kept from
// the portfolio's fills, positions and summary, marked to market by quotes
// and trades.
//
// Subscribes  engine      portfolio.fill.*       fill {symbol, side, quantity, price, commission, position}
//                         portfolio.position.*   position_update {symbol, quantity, mark?}
//                         portfolio.summary      portfolio_update {cash, fills}
//             marketdata  marketdata.real_time.quote.*  {bid, ask}  mid marks held symbols
//                         marketdata.real_time.trade.*  {price}     (when there is no quote)
// Publishes   collateral.margin.<account>  margin_status: {account, cash, loan, equity,
//               long_value, short_value, initial_requirement, maintenance_requirement,
//               excess_liquidity, available_funds, utilization, utilization_capped,
//               margin_call, call_amount, positions: [{symbol, quantity, price,
//               market_value, initial, maintenance, call_price|null, call_note}]}
//             at `urgent` while the account is in a margin call (at once when it
//             enters or leaves one), else `normal` at most once per
//             publish_interval when something changed. The risk engine reads
//             `utilization` (maintenance / equity) for its margin limit.
//
// Cash: a fill moves it at once (−signed quantity × price − commission), so a
// fill and the summary that follows it later never disagree for a moment; a
// summary whose fill count equals the fills applied here replaces it (the
// portfolio's book is the authority). Before any summary the account holds
// `initial_cash`.
//
// Commands: show (the account as published, plus counters).
#pragma once

#include <memory>

#include "engines/engine.h"

namespace nautilus {

std::unique_ptr<Engine> make_collateral_engine();

}  // namespace nautilus
