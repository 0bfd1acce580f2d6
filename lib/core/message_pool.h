// A publisher-side pool of Message objects. A message comes back to the pool
// when its last reader lets go of it; reusing it keeps the strings' capacity,
// so a steady publisher allocates nothing per message. One pool per publishing
// thread (acquire() is not thread-safe; the readers may be on any thread).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/message.h"

namespace nautilus {

class MessagePool {
 public:
  explicit MessagePool(std::size_t slots = 4096);

  // A message with every field reset (id, timestamp, origin and correlation
  // cleared, payload "{}"), but its buffers kept. Allocates only when every
  // slot it looks at is still in flight.
  std::shared_ptr<Message> acquire();

  std::size_t allocations() const { return allocations_; }
  std::size_t reuses() const { return reuses_; }

 private:
  std::vector<std::shared_ptr<Message>> slots_;
  std::size_t next_ = 0;
  std::size_t allocations_ = 0;
  std::size_t reuses_ = 0;
};

}  // namespace nautilus
