#include "core/message_pool.h"

#include <atomic>

namespace nautilus {

MessagePool::MessagePool(std::size_t slots) : slots_(slots == 0 ? 1 : slots) {}

std::shared_ptr<Message> MessagePool::acquire() {
  constexpr std::size_t kProbe = 4;
  for (std::size_t i = 0; i < kProbe; ++i) {
    auto& slot = slots_[next_];
    next_ = next_ + 1 == slots_.size() ? 0 : next_ + 1;
    if (slot && slot.use_count() == 1) {
      // The last reader's release of its reference (an acq_rel decrement) is
      // what we just observed; this fence makes its reads of the message
      // happen-before our writes below.
      std::atomic_thread_fence(std::memory_order_acquire);
      Message& m = *slot;
      m.id = MessageId{};
      m.timestamp_ns = 0;
      m.origin_ns = 0;
      m.correlation_id.clear();
      m.payload.assign("{}");
      ++reuses_;
      return slot;
    }
    if (!slot) {
      slot = std::make_shared<Message>();
      ++allocations_;
      return slot;
    }
  }
  ++allocations_;
  return std::make_shared<Message>();
}

}  // namespace nautilus
