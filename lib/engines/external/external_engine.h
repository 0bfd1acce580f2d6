// The `external` engine: the daemon's stand-in for an engine that runs in
// another process (any language) and joins the buses over Redis or the control
// API. It listens to that process's heartbeats on `system.heartbeat.<name>`
// and reports its health like any engine: RUNNING while beats arrive within
// `heartbeat_timeout`, DEGRADED (with the reason) when they stop, and the
// process's own metrics from its last beat. So the process appears in
// `nautilus engine list`; what it subscribes to (risk.state included) it reads
// itself. docs/sdk.md describes the protocol.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace nautilus {

std::unique_ptr<Engine> make_external_engine();

}  // namespace nautilus
