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
//  - Control-plane commands: get, sources, probe, stats, history (a range:
//    the recorded store first, then sources that keep history), subscribe,
//    unsubscribe.
//
// It lives in the marketdata layer (the only one that may touch sources) and
// is registered with the daemon's registry by register_marketdata_engine().
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engines/engine.h"
#include "engines/registry.h"
#include "marketdata/history_reader.h"
#include "marketdata/hub.h"

namespace nautilus::md {

// `history`: where the hubs look for history first (null: sources only).
std::unique_ptr<Engine> make_marketdata_engine(std::shared_ptr<HistoryReader> history = nullptr);
void register_marketdata_engine(EngineRegistry& registry, std::shared_ptr<HistoryReader> history = nullptr);

// A history reader bound late: registered with the engine before the daemon
// has opened its store, pointed at the store once it has (empty until then).
class HistoryLink final : public HistoryReader {
 public:
  std::string describe() const override;
  std::vector<DataPtr> read(const HistoryRequest& request) override;
  void set(std::shared_ptr<HistoryReader> target);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<HistoryReader> target_;
};

// Builds a hub (and its sources) from the engine's config section; exposed for
// benches and tests. Throws std::invalid_argument naming the bad key.
std::unique_ptr<Hub> make_hub_from_config(Clock& clock, const nlohmann::json& config);

}  // namespace nautilus::md
