// nautilusd as a function, so that the shipped binary (main.cpp) and test
// builds that register extra engine kinds run exactly the same daemon.
// Exit status: 0 clean shutdown, 1 runtime failure, 2 bad flags or config.
#pragma once

#include "engines/registry.h"

namespace nautilus::daemon {

int run_daemon(int argc, char** argv, EngineRegistry& registry);

}  // namespace nautilus::daemon
