// Generates MessageIds: strictly increasing time part (never behind the clock,
// never repeated even when the clock stalls or is simulated), fixed node part.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/clock.h"
#include "core/message.h"

namespace nautilus {

class IdGenerator {
 public:
  // node = 0 picks a random node id (per process); pass a fixed one for
  // deterministic runs.
  explicit IdGenerator(const Clock& clock, std::uint64_t node = 0);
  MessageId next();
  MessageId next_at(std::int64_t now_ns);  // when the caller already read the clock
  std::uint64_t node() const { return node_; }

 private:
  const Clock& clock_;
  std::uint64_t node_;
  std::atomic<std::uint64_t> last_{0};
};

std::uint64_t random_node_id();

}  // namespace nautilus
