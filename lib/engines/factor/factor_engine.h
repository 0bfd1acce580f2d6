// The `factor` engine: the cross-sectional factor model (factor_model.h) over
// a universe, one step per `interval` (a day by default) of the engine clock.
//
// Data: every interval (and once at start) the engine asks the market data hub
// for the universe's `fundamental` and `quote` data with a `marketdata.request`
// on the engine bus (at most 1,000 symbols a request), the same path any
// engine uses for hub data it does not stream; the marketdata engine answers
// on marketdata.reply.<engine name>. The hub's cache (fundamental 24 h, quote
// 2 s) keeps the upstream calls to one per symbol and TTL.
//   price       the quote's mid (else the fundamental's price)
//   market cap  shares_outstanding × price (else the fundamental's market_cap)
//   book value  book_value;  sector  sector
// A step's return is price / previous sample's price − 1. Exposures and
// weights are those at the start of the period (the previous sample's market
// cap, book value and sector), so a period's own return never sizes its
// asset; momentum is toraniko's, over the returns gathered so far.
//
// Publishes (engine bus, normal):
//   factor.returns           factor_update {as_of_ns, step, n_assets, market,
//                              sectors {name: r}, styles {momentum|null, value, size},
//                              r_squared, sector_rank, style_rank, notes: [...]}
//   factor.scores.<symbol>   factor_update {symbol, as_of_ns, step, sector, return,
//                              residual, market_cap, scores {momentum|null, value, size}}
// A step with fewer than `min_assets` assets is skipped and counted.
// Commands: show (the last step, as published, with the scores of every asset).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engines/engine.h"

namespace nautilus {

// The synthetic source's universe (marketdata/sources/synthetic_fundamentals.h:
// 11 GICS sectors × 11, "EN01".."RE11"), the default `universe`.
std::vector<std::string> default_factor_universe();

std::unique_ptr<Engine> make_factor_engine();

}  // namespace nautilus
