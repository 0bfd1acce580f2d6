// The `ml` engine: online market regime detection per symbol (regime_detector.h)
// on the log returns of bar closes.
//
// Subscribes  features.<interval>.<SYMBOL>  feature_update {symbol, close, close_ns, ...}
//             (source = "features", the default), or
//             marketdata.real_time.bar.<SYMBOL>  {symbol, start_ns, interval_s|interval_ns,
//             close, closed?}  (source = "bars": the hub's snapshots of the forming
//             bar; a snapshot replaces the held one of the same start, and the held
//             bar is closed by a snapshot with a later start or by `closed: true`;
//             a bar of another interval is counted as unmatched, an older one as late)
// Publishes   ml.prediction.<SYMBOL>  ml_prediction, normal, every closed bar once a
//               model exists: {symbol, interval, bar, close_ns, regime, most_likely,
//               probabilities {bull, bear[, high_vol]}, predictive_mean,
//               predictive_variance, log_likelihood, refitted, fits,
//               states [{label, mean, variance, probability}]}
//             ml.regime.<SYMBOL>  regime_change, high, when the held regime changes
//               (hysteresis), and once at the symbol's first prediction with from = null
//               (so a consumer knows the regime without waiting for a change):
//               {symbol, interval, bar, close_ns, regime, from, to, probability,
//               bars_in_previous}; published before that bar's prediction.
// Both carry the input's origin_ns and correlation_id (its timestamp and id when
// it has none). Returns are log(close_t / close_{t−1}); `bar` counts returns.
//
// Config ([engines.ml], every key in nautilusd.conf(5)): source, interval,
// states, fit = "em" | "fixed", parameters {means, variances, transition},
// warmup_bars, window_bars, refit_every_bars, max_iterations, tolerance,
// variance_floor, min_probability, min_bars, max_symbols.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace nautilus {

std::unique_ptr<Engine> make_ml_engine();

}  // namespace nautilus
