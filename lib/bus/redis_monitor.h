// Watches a Redis bus's consumer groups from its own connection and thread:
// every monitor_ms it reads each stream in the bus's registry (XINFO STREAM,
// XINFO GROUPS) and keeps, per group, its consumers, pending entries, lag and
// the entries trimmed before it read them (lost, never silently: a group
// that fell behind past the retention window shows it here). With max_age_ms
// set it also trims each stream by age (XTRIM MINID ~), beside XADD's MAXLEN.
// Private to lib/bus.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bus/bus.h"
#include "bus/redis_bus.h"

namespace nautilus::redis {

class GroupMonitor {
 public:
  GroupMonitor(const RedisConfig& config, std::string bus_name);
  ~GroupMonitor();  // stop()
  GroupMonitor(const GroupMonitor&) = delete;
  GroupMonitor& operator=(const GroupMonitor&) = delete;

  void start();
  void stop();
  std::vector<GroupStats> groups() const;  // as of the last round, by group name

 private:
  void run();
  const RedisConfig& config_;
  std::string bus_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_;
  mutable std::mutex mu_;
  std::vector<GroupStats> groups_;
  // (stream, group) -> the most entries seen trimmed unread: losses only grow.
  std::map<std::pair<std::string, std::string>, std::uint64_t> lost_;
};

}  // namespace nautilus::redis
