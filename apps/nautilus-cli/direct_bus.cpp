#include "direct_bus.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "cli_context.h"

namespace nautilus::cli {

constexpr std::chrono::seconds kConnectTimeout{3};

std::unique_ptr<Bus> open_direct_bus(const std::string& url, const std::string& name) {
  std::unique_ptr<Bus> bus;
  try {
    BusOptions o;
    o.name = name;
    bus = make_bus(url, o);
  } catch (const std::invalid_argument& e) {
    throw CliError(kExitUsage, e.what());
  } catch (const std::exception& e) {
    throw CliError(kExitUnreachable, e.what());
  }
  // A Redis backend connects (and reconnects) in the background and buffers
  // publishes meanwhile; a one-shot command must not quietly buffer into a
  // dead server, so it waits briefly for the connection and gives up with 3.
  auto deadline = std::chrono::steady_clock::now() + kConnectTimeout;
  std::string state = bus->stats().state;
  while (state != "CONNECTED" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    state = bus->stats().state;
  }
  if (state != "CONNECTED") {
    throw CliError(kExitUnreachable, "cannot reach " + url + " (connection " + state + ")");
  }
  return bus;
}

}  // namespace nautilus::cli
