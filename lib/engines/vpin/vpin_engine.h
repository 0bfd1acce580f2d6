// The `vpin` engine: VPIN flow toxicity per symbol (vpin_calculator.h) from the
// trades on the marketdata bus.
//
// Subscribes  marketdata.real_time.trade.*   payload {price, size, ts_ns?}
// Publishes   vpin.toxicity.<symbol>  vpin_toxicity, normal, every bucket:
//               {symbol, bucket, vpin, cdf, buy_volume, sell_volume,
//                bucket_volume, window_buckets, end_ns}  (vpin/cdf null until known)
//             vpin.alert.<symbol>     flash_crash_warning at flash_crash priority
//               when the CDF reaches cdf_threshold: {symbol, vpin, cdf, threshold, bucket}
// Both carry the triggering trade's origin_ns and correlation_id (its own
// timestamp and id when it has none), so the chain's latency can be measured.
//
// Config: the VpinConfig keys (vpin_calculator.h) over the engine defaults
// below, and `symbols.<SYMBOL>` tables overriding them per symbol; an unknown
// key, a wrong type or an out-of-range value is reported by key path
// (config_problems, for --check-config) and refuses the start.
//
// The defaults are for the daemon's own market, the synthetic feed as the
// marketdata engine streams it (5 symbols, ~5 trades of ~100 shares a second
// each, in 1 s batches): one-second bars, buckets of one calm second's volume,
// a 10-bucket window, so a crash's one-sided volume moves VPIN within a few
// seconds. A warning needs the CDF over its threshold *and* VPIN over an
// absolute floor on consecutive buckets after a warm-up (the gating in
// vpin_calculator.h). Chosen with `nautilus bench vpin-detector`; the figures
// are in docs/benchmarks.md, "VPIN as a detector". A market with other
// volumes needs its own bucket_volume (or adv), about one calm bar's volume
// or more: smaller buckets repeat one bar's classification, VPIN then swings
// with a couple of bars, and the bench measured hundreds of false warnings an
// hour (a quarter-bar bucket) against none (a one-bar bucket).
// Bars follow the trades' own time (ts_ns, else the message timestamp): when
// any symbol's trade enters a new bar, every symbol's finished bar is closed,
// so replays at any speed give the same buckets.
#pragma once

#include <memory>

#include "engines/engine.h"
#include "engines/vpin/vpin_calculator.h"

namespace nautilus {

inline constexpr std::int64_t kDefaultBarSeconds = 1;
inline constexpr double kDefaultBucketVolume = 500.0;   // one calm second of a synthetic symbol
inline constexpr int kDefaultWindowBuckets = 10;        // n
inline constexpr int kDefaultSigmaWindow = 600;         // bars of ΔP behind σ (bounded: a day is 86,400 bars)
inline constexpr int kDefaultCdfWindow = 1000;
inline constexpr int kDefaultMinCdfSamples = 100;
inline constexpr double kDefaultCdfThreshold = 0.99;
inline constexpr double kDefaultRearmCdf = 0.9;
inline constexpr int kDefaultWarmupBuckets = 300;
inline constexpr int kDefaultPersistenceBuckets = 2;
inline constexpr double kDefaultVpinFloor = 0.85;

// The engine's defaults as a VpinConfig (what an empty [engines.vpin] runs).
vpin::VpinConfig default_vpin_engine_config();

std::unique_ptr<Engine> make_vpin_engine();

}  // namespace nautilus
