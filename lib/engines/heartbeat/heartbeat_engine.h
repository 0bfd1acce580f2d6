// The heartbeat engine: publishes a `system_health` message on
// `system.heartbeat.<name>` every `interval_ms` (default 1000), so anything on
// the engine bus (a dashboard, a cron check, another daemon) can tell that this
// daemon and its engine bus are alive.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace nautilus {

std::unique_ptr<Engine> make_heartbeat_engine();

}  // namespace nautilus
