// nautilusd as a function, so that the shipped binary (main.cpp) and test
// builds that register extra engine kinds run exactly the same daemon.
// Exit status: 0 clean shutdown, 1 runtime failure, 2 bad flags or config.
#pragma once

#include <memory>

#include "engines/registry.h"
#include "marketdata/marketdata_engine.h"

namespace nautilus::daemon {

// `history`: the link the registry's marketdata engines read history through;
// pointed at the history store once it is open (null: none registered).
int run_daemon(int argc, char** argv, EngineRegistry& registry, std::shared_ptr<md::HistoryLink> history = nullptr);

}  // namespace nautilus::daemon
