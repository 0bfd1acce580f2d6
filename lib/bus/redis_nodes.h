// The connections one thread uses to reach the keys it works on. On one
// server (redis://) that is a single Connection. On a Redis Cluster
// (redis+cluster://) it is one Connection per master, chosen by the key's hash
// slot from the slot map (CLUSTER SLOTS, read from any node that answers), and
// the redirects are followed: MOVED (the map is stale: read it again) and ASK
// (a slot is migrating: ASKING, then the command, on the node named). After a
// failover the dead master's slots show up under the promoted replica at the
// next read of the map. Owned by one thread; state() and last_error() may be
// called from any. Private to lib/bus.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/redis_bus.h"
#include "bus/redis_connection.h"

namespace nautilus::redis {

inline constexpr int kClusterSlots = 16384;

// Redis Cluster's slot of a key: CRC16 (XMODEM) of the key, or of its hash tag
// (the text between the first '{' and the next '}', when not empty), mod 16384.
int key_slot(std::string_view key);

// A "-MOVED <slot> <host>:<port>" or "-ASK <slot> <host>:<port>" error reply.
struct Redirect {
  bool moved = false;  // false: ASK
  int slot = 0;
  std::string host;
  int port = 0;
};
std::optional<Redirect> parse_redirect(const redisReply* r);

class NodeSet {
 public:
  NodeSet(const RedisConfig& config, std::string client_name);
  NodeSet(const NodeSet&) = delete;
  NodeSet& operator=(const NodeSet&) = delete;

  bool cluster() const { return config_.cluster; }

  // Single server: (re)connects, with Connection's backoff. Cluster: reads the
  // slot map when it is missing or stale (at most every 100 ms). false: not
  // now, try again (after `stop`, at once).
  bool ensure(const std::atomic<bool>& stop);
  // Single server: connected. Cluster: the slot map is loaded and not stale;
  // a node of the map whose connection broke makes it stale once a second
  // (until its replica is promoted, the map keeps naming it).
  bool ready();
  // Marks the slot map stale (a MOVED, a node that broke): re-read at ensure().
  void mark_stale();

  // The connected connection of the node that owns `key`; nullptr when that
  // node cannot be reached now (the map is then marked stale).
  Connection* for_key(std::string_view key);
  // Any connected node (TIME, PING).
  Connection* any();
  // Every master of the slot map that can be reached now (SCAN on all).
  std::vector<Connection*> masters();

  // One command on `key`'s node, MOVED and ASK followed (a few times). nullptr
  // when no node could be reached or a connection broke.
  ReplyPtr command(std::string_view key, const std::vector<std::string_view>& args);
  // The pipelined writer's ASK path: ASKING then the pre-formatted command on
  // the node named. nullptr when it cannot be reached.
  ReplyPtr ask(const Redirect& to, std::string_view formatted_command);
  // When `r` is a MOVED, marks the map stale; true for MOVED and ASK.
  bool is_redirect(const redisReply* r);

  ConnState state() const;  // the worst of the nodes in use
  std::string last_error() const;
  void close();

 private:
  struct Node {
    std::unique_ptr<Connection> conn;
    std::atomic<bool> in_map{false};
    std::int64_t next_attempt_ns = 0;  // after a failed connect: the backoff of Connection::reconnect
  };
  std::size_t index_of(const std::string& host, int port);  // found or added
  Connection* connected(Node& n);
  bool refresh();
  void set_map_error(std::string text);

  const RedisConfig& config_;
  std::string client_name_;
  // The vector's shape, for state() from other threads on a cluster (one
  // server's single node never changes).
  mutable std::mutex nodes_mu_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::array<std::int16_t, kClusterSlots> slots_{};  // node index per slot, -1 unknown
  bool map_loaded_ = false;
  bool stale_ = true;
  std::int64_t last_refresh_ns_ = 0;
  std::string map_error_;  // guarded by nodes_mu_
};

}  // namespace nautilus::redis
