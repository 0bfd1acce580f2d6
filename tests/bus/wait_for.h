// Waits for a condition that another thread makes true. The limit only turns a
// hang into a failure; no test depends on how fast the condition comes.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace nautilus::test {

inline bool wait_for(const std::function<bool()>& cond, std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

}  // namespace nautilus::test
