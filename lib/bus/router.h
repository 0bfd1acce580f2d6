// The dual-bus router: owns the marketdata bus (star: the hub publishes, every
// engine listens) and the engine bus (mesh), and sends each message to the bus
// its type belongs to, unless the caller names the bus.
#pragma once

#include <memory>
#include <string>

#include "bus/bus.h"
#include "core/message_type.h"

namespace nautilus {

class Router {
 public:
  Router(std::unique_ptr<Bus> marketdata, std::unique_ptr<Bus> engine);
  // Both buses from URLs, e.g. ("inproc://", "inproc://") or two Redis servers.
  static std::unique_ptr<Router> from_urls(std::string_view marketdata_url,
                                           std::string_view engine_url,
                                           Clock* clock = nullptr);

  Status publish(std::shared_ptr<Message> msg);  // bus picked from msg->type
  Status publish(BusKind bus, std::shared_ptr<Message> msg);
  SubscriptionPtr subscribe(BusKind bus, std::string_view pattern, Handler handler,
                            SubscribeOptions options = {});

  Bus& bus(BusKind kind);
  Bus& marketdata() { return *marketdata_; }
  Bus& engine() { return *engine_; }
  bool drain(std::chrono::milliseconds timeout);
  void close();

 private:
  std::unique_ptr<Bus> marketdata_;
  std::unique_ptr<Bus> engine_;
};

}  // namespace nautilus
