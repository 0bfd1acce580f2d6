// The ids a Redis consumer has handled and ACKed, so an entry written twice
// (a publisher resent it after losing the XADD reply) or reclaimed after a
// lost ACK is not handed to the handler a second time. Bounded: it forgets
// the oldest id past its capacity. Private to lib/bus.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/message.h"

namespace nautilus::redis {

struct MessageIdHash {
  std::size_t operator()(const MessageId& id) const {
    std::uint64_t h = (id.time ^ (id.node * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
    return static_cast<std::size_t>(h ^ (h >> 31));
  }
};

class RecentIds {
 public:
  // An open-addressing table (linear probing, backward-shift deletion) at
  // most half full, and a ring of the ids in insertion order: no allocation
  // per message, one or two cache lines per lookup.
  explicit RecentIds(std::size_t capacity)
      : ring_(std::max<std::size_t>(capacity, 1)), table_(std::bit_ceil(ring_.size() * 2)), mask_(table_.size() - 1) {}

  bool contains(const MessageId& id) const {
    if (id.empty()) return false;
    for (std::size_t i = home(id);; i = (i + 1) & mask_) {
      if (table_[i].empty()) return false;
      if (table_[i] == id) return true;
    }
  }

  void insert(const MessageId& id) {
    if (id.empty() || contains(id)) return;
    if (size_ == ring_.size()) {
      erase(ring_[next_]);
      --size_;
    }
    std::size_t i = home(id);
    while (!table_[i].empty()) i = (i + 1) & mask_;
    table_[i] = id;
    ring_[next_] = id;
    next_ = (next_ + 1) % ring_.size();
    ++size_;
  }

 private:
  std::size_t home(const MessageId& id) const { return MessageIdHash{}(id) & mask_; }

  void erase(const MessageId& id) {
    std::size_t i = home(id);
    while (!(table_[i] == id)) {
      if (table_[i].empty()) return;
      i = (i + 1) & mask_;
    }
    // Shift later members of the probe run back so no lookup stops early.
    for (std::size_t j = (i + 1) & mask_; !table_[j].empty(); j = (j + 1) & mask_) {
      std::size_t h = home(table_[j]);
      bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
      if (movable) {
        table_[i] = table_[j];
        i = j;
      }
    }
    table_[i] = MessageId{};
  }

  std::vector<MessageId> ring_;
  std::vector<MessageId> table_;
  std::size_t mask_;
  std::size_t next_ = 0;  // the ring slot written next (the oldest, once full)
  std::size_t size_ = 0;
};

}  // namespace nautilus::redis
