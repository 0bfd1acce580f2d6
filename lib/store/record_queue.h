// The recorder's bounded hand-off from bus threads to its writer thread. A
// push never blocks and never allocates per message (lanes are deques of
// shared pointers, growing by chunks). When the queue is full the oldest
// message of the lowest non-empty priority goes (or the new one, when it is
// lower than everything queued), and each priority's drops are counted:
// during a store outage the buffer keeps what matters most.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "core/message.h"

namespace nautilus::store {

class RecordQueue {
 public:
  explicit RecordQueue(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Returns false when a message (this one or an older, lower one) was dropped.
  bool push(MessagePtr m);
  // Moves up to `max` messages into `out` (appended), highest priority first,
  // oldest first within a priority.
  std::size_t pop(std::vector<MessagePtr>& out, std::size_t max);

  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }
  std::array<std::uint64_t, kPriorityCount> dropped() const;
  std::uint64_t dropped_total() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::array<std::deque<MessagePtr>, kPriorityCount> lanes_;
  std::size_t size_ = 0;
  std::array<std::uint64_t, kPriorityCount> dropped_{};
};

}  // namespace nautilus::store
