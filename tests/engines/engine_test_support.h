// Helpers for engine-level tests: a collecting subscriber and a drain that
// waits (deterministically, with no sleeps) until a chain of handlers that
// publish onward has settled.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/router.h"
#include "core/message.h"

namespace nautilus::test {

class Collector {
 public:
  Collector(Router& router, BusKind bus, const std::string& pattern) {
    sub_ = router.subscribe(bus, pattern, [this](const MessagePtr& m) {
      std::lock_guard lock(mu_);
      messages_.push_back(m);
    });
  }
  std::vector<MessagePtr> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<MessagePtr> messages_;
  SubscriptionPtr sub_;
};

// Drains both buses until a full pass publishes nothing new: a handler on one
// bus may publish to the other (trade → vpin → risk), so one drain is not enough.
inline bool settle(Router& router) {
  for (int i = 0; i < 20; ++i) {
    const auto before = router.marketdata().stats().published + router.engine().stats().published;
    if (!router.drain(std::chrono::seconds(30))) return false;
    const auto after = router.marketdata().stats().published + router.engine().stats().published;
    if (after == before) return true;
  }
  return false;
}

}  // namespace nautilus::test
