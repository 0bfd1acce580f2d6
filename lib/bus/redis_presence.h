// Who shares a Redis deployment. Each nautilusd on Redis announces itself
// under <prefix>:daemons:<instance> (a JSON text it describes: host, pid,
// listeners, engines; SET with a TTL, refreshed by its own thread), so any
// of them, or any client of that Redis, can list every daemon that is alive.
// A daemon killed with -9 disappears when its key expires (ttl).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/redis_bus.h"

namespace nautilus {

class DaemonPresence {
 public:
  // `describe` is called on the presence thread at each refresh: the JSON
  // text to store (the registry adds nothing to it).
  DaemonPresence(RedisConfig config, std::string instance, std::chrono::milliseconds ttl,
                 std::function<std::string()> describe);
  ~DaemonPresence();  // stop()
  DaemonPresence(const DaemonPresence&) = delete;
  DaemonPresence& operator=(const DaemonPresence&) = delete;

  void start();  // announces at once, then every ttl/3
  void stop();   // removes this daemon's key (a clean exit leaves at once)
  const std::string& instance() const { return instance_; }
  std::string key() const;

  // Every daemon announced on `config`'s server: the stored JSON texts, in
  // key order. Throws std::runtime_error when Redis cannot be reached.
  static std::vector<std::string> list(const RedisConfig& config);

 private:
  void run();
  RedisConfig config_;
  std::string instance_;
  std::chrono::milliseconds ttl_;
  std::function<std::string()> describe_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

// "<host>-<pid>": unique per running daemon on a machine.
std::string default_instance_id();

}  // namespace nautilus
