#include "store/record_queue.h"

namespace nautilus::store {

bool RecordQueue::push(MessagePtr m) {
  const std::size_t lane = lane_of(m->priority);
  std::lock_guard lock(mu_);
  if (size_ < capacity_) {
    lanes_[lane].push_back(std::move(m));
    ++size_;
    return true;
  }
  for (std::size_t low = 0; low <= lane; ++low) {
    if (lanes_[low].empty()) continue;
    lanes_[low].pop_front();
    ++dropped_[low];
    lanes_[lane].push_back(std::move(m));
    return false;
  }
  ++dropped_[lane];  // everything queued outranks it
  return false;
}

std::size_t RecordQueue::pop(std::vector<MessagePtr>& out, std::size_t max) {
  std::lock_guard lock(mu_);
  std::size_t taken = 0;
  for (std::size_t lane = kPriorityCount; lane-- > 0 && taken < max;) {
    auto& q = lanes_[lane];
    while (!q.empty() && taken < max) {
      out.push_back(std::move(q.front()));
      q.pop_front();
      ++taken;
    }
  }
  size_ -= taken;
  return taken;
}

std::size_t RecordQueue::size() const {
  std::lock_guard lock(mu_);
  return size_;
}

std::array<std::uint64_t, kPriorityCount> RecordQueue::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

std::uint64_t RecordQueue::dropped_total() const {
  std::uint64_t n = 0;
  for (auto d : dropped()) n += d;
  return n;
}

}  // namespace nautilus::store
