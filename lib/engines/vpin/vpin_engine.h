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
// Config: the VpinConfig keys over the defaults (bucket_volume defaults to
// kDefaultBucketVolume when neither it nor adv is set), and
// `symbols.<SYMBOL>` tables overriding them per symbol.
// Bars follow the trades' own time (ts_ns, else the message timestamp): when
// any symbol's trade enters a new bar, every symbol's finished bar is closed,
// so replays at any speed give the same buckets.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace nautilus {

inline constexpr double kDefaultBucketVolume = 10'000.0;

std::unique_ptr<Engine> make_vpin_engine();

}  // namespace nautilus
