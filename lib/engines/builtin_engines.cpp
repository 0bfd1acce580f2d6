#include "engines/heartbeat/heartbeat_engine.h"
#include "engines/registry.h"

namespace nautilus {

// One line per engine kind that ships with nautilus.
void register_builtin_engines(EngineRegistry& registry) {
  registry.add({"heartbeat", "publishes system_health on system.heartbeat.<name> at a fixed interval",
                make_heartbeat_engine});
}

}  // namespace nautilus
