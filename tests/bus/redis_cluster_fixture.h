// A real Redis Cluster for the cluster tests: `masters` redis-servers with
// --cluster-enabled (each with `replicas` replicas), on free loopback ports
// (the cluster bus on a port of its own, --cluster-port), joined by
// `redis-cli --cluster create`, and waited for until every node says
// cluster_state:ok. A node timeout of 1 s makes a failover take seconds, not
// the default 15.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bus/redis_fixture.h"

namespace nautilus::testing {

class RedisCluster {
 public:
  explicit RedisCluster(int masters = 3, int replicas = 0) {
    for (int i = 0; i < masters * (1 + replicas); ++i) {
      nodes_.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
          "--cluster-port", std::to_string(free_loopback_port()), "--appendfsync", "everysec"}));
    }
    std::string create = "--cluster create";
    for (auto& n : nodes_) create += " 127.0.0.1:" + std::to_string(n->port());
    create += " --cluster-replicas " + std::to_string(replicas) + " --cluster-yes";
    std::string out = nodes_.front()->cli(create);
    if (out.find("[OK] All 16384 slots covered") == std::string::npos) {
      throw std::runtime_error("redis-cli --cluster create failed:\n" + out);
    }
    if (!wait_until([&] { return healthy(); }, std::chrono::seconds(30))) {
      throw std::runtime_error("the test cluster did not reach cluster_state:ok");
    }
  }

  // redis+cluster://<every master>?<query>
  std::string url(const std::string& query = "") const {
    std::string u = "redis+cluster://";
    bool first = true;
    for (const auto& n : nodes_) {
      if (!n->running()) continue;
      u += (first ? "" : ",") + std::string("127.0.0.1:") + std::to_string(n->port());
      first = false;
    }
    return u + (query.empty() ? "" : "?" + query);
  }

  std::vector<RedisServer*> nodes() const {
    std::vector<RedisServer*> out;
    for (const auto& n : nodes_) out.push_back(n.get());
    return out;
  }

  // The running nodes that are masters now.
  std::vector<RedisServer*> masters() const {
    std::vector<RedisServer*> out;
    for (const auto& n : nodes_) {
      if (n->running() && role(*n) == "master") out.push_back(n.get());
    }
    return out;
  }

  // A replica of `master` (nullptr if it has none): ROLE says
  // ["slave", host, port, state, offset].
  RedisServer* replica_of(const RedisServer& master) const {
    for (const auto& n : nodes_) {
      if (!n->running() || n.get() == &master) continue;
      Reply r = n->command({"ROLE"});
      if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || std::string(r->element[0]->str) != "slave") continue;
      if (r->element[2]->type == REDIS_REPLY_INTEGER && r->element[2]->integer == master.port()) return n.get();
    }
    return nullptr;
  }

  // Every running node says cluster_state:ok and knows a master for every
  // slot, and every replica is in sync with its master.
  bool healthy() const {
    for (const auto& n : nodes_) {
      if (!n->running()) continue;
      Reply r = n->command({"CLUSTER", "INFO"});
      if (r->type != REDIS_REPLY_STRING) return false;
      std::string info(r->str, r->len);
      if (info.find("cluster_state:ok") == std::string::npos) return false;
      if (info.find("cluster_slots_ok:16384") == std::string::npos) return false;
      // A replica still in its first sync cannot take over (it has no data
      // to offer); wait until it is connected to its master.
      Reply role = n->command({"ROLE"});
      if (role->type == REDIS_REPLY_ARRAY && role->elements >= 4 && std::string(role->element[0]->str) == "slave" &&
          std::string(role->element[3]->str) != "connected") {
        return false;
      }
    }
    return true;
  }

  static std::string role(const RedisServer& n) {
    Reply r = n.command({"ROLE"});
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return "";
    return std::string(r->element[0]->str, r->element[0]->len);
  }

  static std::string node_id(const RedisServer& n) {
    Reply r = n.command({"CLUSTER", "MYID"});
    return r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : "";
  }

  // Keys matching `pattern` on one node (its own slots only).
  static long long keys_on(const RedisServer& n, const std::string& pattern) {
    Reply r = n.command({"KEYS", pattern});
    return r->type == REDIS_REPLY_ARRAY ? static_cast<long long>(r->elements) : -1;
  }

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace nautilus::testing
