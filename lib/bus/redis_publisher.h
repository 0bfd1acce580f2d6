// The Redis bus's shared core: the publisher (publish() formats the XADD and
// queues it; one writer thread pipelines the queue to Redis, high lanes first,
// to each entry's node on a cluster, and holds it through an outage up to
// buffer_limit, resending what was not confirmed), the registry of the bus's subscribers (drain, shutdown,
// stats) and the group monitor (redis_monitor.h). Private to lib/bus.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bus/bus.h"
#include "bus/delivery_latency.h"
#include "bus/redis_bus.h"
#include "bus/redis_connection.h"
#include "bus/redis_entry.h"
#include "bus/redis_monitor.h"
#include "bus/redis_nodes.h"
#include "core/id_generator.h"

namespace nautilus::redis {

class RedisSub;

class BusCore : public std::enable_shared_from_this<BusCore> {
 public:
  BusCore(RedisConfig config, BusOptions options);

  void start();

  const RedisConfig& config() const { return config_; }
  const std::string& name() const { return options_.name; }
  Clock& clock() const { return clock_; }
  std::atomic<std::uint64_t>& decode_errors_shared() { return decode_errors_shared_; }

  Status publish(std::shared_ptr<Message>& msg);

  void add_sub(const std::shared_ptr<RedisSub>& s);
  void remove_sub(const std::shared_ptr<RedisSub>& s);

  bool drain(std::chrono::milliseconds timeout);

  void close() { closed_.store(true, std::memory_order_release); }

  void shutdown();

  BusStats stats() const;

  std::string unavailable_text(const std::string& why) const;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void writer_loop();

  RedisConfig config_;
  BusOptions options_;
  Clock& clock_;
  IdGenerator ids_;
  std::string maxlen_text_;
  std::string registry_key_;

  NodeSet writer_nodes_;  // one server, or a connection per cluster master
  std::thread writer_;
  std::atomic<bool> writer_stop_{false};
  std::unordered_set<std::string, StringHash, std::equal_to<>> known_keys_;  // writer thread only

  std::mutex mu_;
  std::condition_variable work_cv_, room_cv_, drain_cv_;
  std::deque<EncodedEntry> high_q_, normal_q_;
  std::size_t queued_ = 0;
  std::uint64_t enqueued_ = 0, confirmed_ = 0;
  bool writer_waiting_ = false;

  std::atomic<bool> closed_{false};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::atomic<std::uint64_t> decode_errors_shared_{0};

  mutable std::mutex subs_mu_;
  std::vector<std::shared_ptr<RedisSub>> subs_;
  DeliveryTotals retired_;  // closed subscriptions
  GroupMonitor monitor_{config_, options_.name};  // lag, pending, losses per group
};

}  // namespace nautilus::redis
