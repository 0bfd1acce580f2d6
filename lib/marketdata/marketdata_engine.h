// The `marketdata` engine: hosts the Hub inside the daemon.
//
//  - Streams `marketdata.real_time.<type>.<symbol>` on the marketdata bus for
//    the configured symbols and for symbols engines ask for (a
//    `marketdata.subscribe` request), on a timer of the engine's clock.
//  - Answers `marketdata.request` messages on the engine bus: payload
//    {"symbols": [...], "types": [...], "source": "...", "fresh": false,
//     "reply_to": "<topic>"}; the reply goes to `reply_to` (default
//    `marketdata.reply.<requester>`) on the engine bus with the request's
//    correlation id and {"results": [...]}.
//  - Control-plane commands: get, sources, stats, subscribe, unsubscribe.
//
// It lives in the marketdata layer (the only one that may touch sources) and
// is registered with the daemon's registry by register_marketdata_engine().
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "engines/engine.h"
#include "engines/registry.h"
#include "marketdata/hub.h"

namespace nautilus::md {

std::unique_ptr<Engine> make_marketdata_engine();
void register_marketdata_engine(EngineRegistry& registry);

// Builds a hub (and its sources) from the engine's config section; exposed for
// benches and tests. Throws std::invalid_argument naming the bad key.
std::unique_ptr<Hub> make_hub_from_config(Clock& clock, const nlohmann::json& config);

}  // namespace nautilus::md
