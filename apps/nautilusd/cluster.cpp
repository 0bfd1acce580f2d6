#include "cluster.h"

#include <unistd.h>

#include <chrono>

#include "core/clock.h"

namespace nautilus::daemon {

namespace {
// Refreshed every third of it: a daemon killed with -9 drops out of the list
// within this long.
constexpr std::chrono::milliseconds kPresenceTtl{6000};
}  // namespace

ClusterMembership::ClusterMembership(const std::string& engine_bus_url, std::function<nlohmann::json()> describe_self)
    : instance_(default_instance_id()), describe_self_(std::move(describe_self)) {
  if (engine_bus_url.rfind("redis://", 0) == 0 || engine_bus_url.rfind("redis+cluster://", 0) == 0) {
    redis_ = std::make_unique<RedisConfig>(parse_redis_url(engine_bus_url));
    presence_ = std::make_unique<DaemonPresence>(*redis_, instance_, kPresenceTtl, [this] { return entry().dump(); });
  }
}

nlohmann::json ClusterMembership::entry() const {
  nlohmann::json j = describe_self_();
  j["instance"] = instance_;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) j["host"] = host;
  j["last_seen_ns"] = wall_now_ns();
  return j;
}

void ClusterMembership::start() {
  if (presence_) presence_->start();
}

void ClusterMembership::stop() {
  if (presence_) presence_->stop();
}

nlohmann::json ClusterMembership::status() const {
  nlohmann::json out = {{"backend", redis_ ? "redis" : "inproc"}, {"instance", instance_}};
  nlohmann::json daemons = nlohmann::json::array();
  if (!redis_) {
    daemons.push_back(entry());
  } else {
    for (const auto& text : DaemonPresence::list(*redis_)) {
      auto j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_object()) daemons.push_back(std::move(j));  // a foreign key that is not ours: skipped
    }
  }
  for (auto& d : daemons) d["self"] = d.value("instance", "") == instance_;
  out["daemons"] = std::move(daemons);
  return out;
}

void install_cluster_route(control::ControlServer& server, ClusterMembership& cluster) {
  server.add_route("GET", "/api/v1/cluster", [&cluster](const control::HttpRequest&) {
    try {
      return control::HttpResponse::json(cluster.status());
    } catch (const std::runtime_error& e) {
      throw control::HttpError(503, "unavailable", e.what());
    }
  });
}

}  // namespace nautilus::daemon
