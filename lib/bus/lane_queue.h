// A bounded multi-producer multi-consumer ring of MessagePtr (Dmitry Vyukov's
// design): one CAS per push or pop, no allocation after construction. Producers
// are publishers; the consumer is the subscriber, and a publisher dropping the
// oldest entry is a second consumer. Private to the in-process backend.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

#include "core/message.h"

namespace nautilus::detail {

class LaneQueue {
 public:
  explicit LaneQueue(std::size_t capacity) {
    std::size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    cells_ = std::make_unique<Cell[]>(cap);
    for (std::size_t i = 0; i < cap; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }

  // Moves from `m` only on success.
  bool try_push(MessagePtr& m) {
    Cell* cell;
    std::size_t pos = enqueue_.load(std::memory_order_relaxed);
    for (;;) {
      cell = &cells_[pos & mask_];
      std::size_t seq = cell->seq.load(std::memory_order_acquire);
      auto dif = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (dif == 0) {
        // seq_cst: the subscriber's park check reads enqueue_ (see InprocBus).
        if (enqueue_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                           std::memory_order_relaxed)) {
          break;
        }
      } else if (dif < 0) {
        return false;  // full
      } else {
        pos = enqueue_.load(std::memory_order_relaxed);
      }
    }
    cell->msg = std::move(m);
    cell->seq.store(pos + 1, std::memory_order_release);
    return true;
  }

  bool try_pop(MessagePtr& out) {
    Cell* cell;
    std::size_t pos = dequeue_.load(std::memory_order_relaxed);
    for (;;) {
      cell = &cells_[pos & mask_];
      std::size_t seq = cell->seq.load(std::memory_order_acquire);
      auto dif = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos + 1);
      if (dif == 0) {
        if (dequeue_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                           std::memory_order_relaxed)) {
          break;
        }
      } else if (dif < 0) {
        return false;  // empty (or a push still being written)
      } else {
        pos = dequeue_.load(std::memory_order_relaxed);
      }
    }
    out = std::move(cell->msg);
    cell->seq.store(pos + mask_ + 1, std::memory_order_release);
    return true;
  }

  // True when a push has claimed a slot that no pop has taken yet: the entry may
  // still be being written, so a consumer that sees this must not sleep.
  bool has_claimed() const {
    return enqueue_.load(std::memory_order_seq_cst) != dequeue_.load(std::memory_order_seq_cst);
  }
  std::size_t size() const {
    std::size_t e = enqueue_.load(std::memory_order_relaxed);
    std::size_t d = dequeue_.load(std::memory_order_relaxed);
    return e > d ? e - d : 0;
  }
  std::size_t capacity() const { return mask_ + 1; }

 private:
  struct Cell {
    std::atomic<std::size_t> seq;
    MessagePtr msg;
  };
  alignas(64) std::atomic<std::size_t> enqueue_{0};
  alignas(64) std::atomic<std::size_t> dequeue_{0};
  alignas(64) std::unique_ptr<Cell[]> cells_;
  std::size_t mask_ = 0;
};

}  // namespace nautilus::detail
