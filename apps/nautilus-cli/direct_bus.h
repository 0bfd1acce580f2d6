// Opens a bus backend directly, without a daemon, for `bus publish|subscribe
// --backend` and `bench`: a malformed URL is a usage error (exit 2), a backend
// not connected within a few seconds exits 3.
#pragma once

#include <memory>
#include <string>

#include "bus/bus.h"

namespace nautilus::cli {

std::unique_ptr<Bus> open_direct_bus(const std::string& url, const std::string& name);

}  // namespace nautilus::cli
