#include "core/message_pool.h"


namespace nautilus {

MessagePool::MessagePool(std::size_t slots) : slots_(slots == 0 ? 1 : slots) {}

std::shared_ptr<Message> MessagePool::acquire() {
  constexpr std::size_t kProbe = 4;
  for (std::size_t i = 0; i < kProbe; ++i) {
    auto& slot = slots_[next_];
    next_ = next_ + 1 == slots_.size() ? 0 : next_ + 1;
    if (slot && slot.use_count() == 1) {
      // Only the pool holds it now. Taking our reference is an acq_rel
      // increment of the count the last reader released, so its reads of the
      // message happen-before our writes below (a plain fence would do too,
      // but ThreadSanitizer does not model fences).
      std::shared_ptr<Message> out = slot;
      Message& m = *out;
      m.id = MessageId{};
      m.timestamp_ns = 0;
      m.origin_ns = 0;
      m.correlation_id.clear();
      m.payload.assign("{}");
      ++reuses_;
      return out;
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
