#include "core/id_generator.h"

#include <random>
#include <unistd.h>

namespace nautilus {

std::uint64_t random_node_id() {
  std::random_device rd;
  std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  v ^= static_cast<std::uint64_t>(getpid()) << 16;
  return v == 0 ? 1 : v;
}

IdGenerator::IdGenerator(const Clock& clock, std::uint64_t node)
    : clock_(clock), node_(node == 0 ? random_node_id() : node) {}

MessageId IdGenerator::next() { return next_at(clock_.now_ns()); }

MessageId IdGenerator::next_at(std::int64_t now_ns) {
  auto now = static_cast<std::uint64_t>(now_ns);
  std::uint64_t prev = last_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    next = now > prev ? now : prev + 1;
  } while (!last_.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  return MessageId{next, node_};
}

}  // namespace nautilus
