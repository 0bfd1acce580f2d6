// The daemon's place among the daemons that share its Redis. With a redis://
// engine bus it announces itself (bus/redis_presence.h: instance, host, pid,
// listeners, engines, last seen; a key with a TTL) and GET /api/v1/cluster
// lists every daemon announced there; on inproc:// it lists itself alone.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "bus/redis_bus.h"
#include "bus/redis_presence.h"
#include "control/control_server.h"

namespace nautilus::daemon {

class ClusterMembership {
 public:
  // `describe_self` gives this daemon's entry (called every refresh).
  ClusterMembership(const std::string& engine_bus_url, std::function<nlohmann::json()> describe_self);
  void start();
  void stop();
  // {"backend","instance","daemons":[...]}; each daemon's entry as it
  // described itself, plus "self": true for this one. Throws when Redis is
  // unreachable.
  nlohmann::json status() const;

 private:
  nlohmann::json entry() const;
  std::string instance_;
  std::function<nlohmann::json()> describe_self_;
  std::unique_ptr<RedisConfig> redis_;  // null on inproc://
  std::unique_ptr<DaemonPresence> presence_;
};

void install_cluster_route(control::ControlServer& server, ClusterMembership& cluster);

}  // namespace nautilus::daemon
