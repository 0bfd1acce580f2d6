#include <stdexcept>
#include <string>

#include "bus/bus.h"
#include "bus/inproc_bus.h"
#include "bus/redis_bus.h"

namespace nautilus {

std::unique_ptr<Bus> make_bus(std::string_view url, BusOptions options) {
  if (url.empty() || url == "inproc" || url == "inproc://" || url.starts_with("inproc://")) {
    return make_inproc_bus(std::move(options));
  }
  if (url.starts_with("redis://") || url.starts_with("redis+cluster://")) return make_redis_bus(url, std::move(options));
  throw std::invalid_argument("unknown bus URL '" + std::string(url) +
                              "' (expected inproc://, redis://host:port or redis+cluster://host:port,...)");
}

}  // namespace nautilus
