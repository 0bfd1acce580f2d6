// The in-process backend (inproc://): zero-copy fan-out of shared immutable
// messages into one bounded queue per subscriber, with a lane per priority that
// is drained strictly highest-first.
#pragma once

#include <memory>

#include "bus/bus.h"

namespace nautilus {

std::unique_ptr<Bus> make_inproc_bus(BusOptions options = {});

}  // namespace nautilus
