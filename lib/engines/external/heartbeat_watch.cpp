#include "engines/external/heartbeat_watch.h"

namespace nautilus::external {

void HeartbeatWatch::beat(std::int64_t now_ns, std::uint64_t sequence) {
  if (seen_ && sequence != 0 && sequence < last_sequence_) ++restarts_;
  seen_ = true;
  last_beat_ns_ = now_ns;
  last_sequence_ = sequence;
  ++beats_;
}

HeartbeatStatus HeartbeatWatch::status(std::int64_t now_ns) const {
  HeartbeatStatus s;
  if (!seen_) {
    s.reason = "no heartbeat yet";
    return s;
  }
  s.age_ns = now_ns > last_beat_ns_ ? now_ns - last_beat_ns_ : 0;
  s.fresh = s.age_ns < timeout_ns_;
  if (!s.fresh) {
    s.reason = "no heartbeat for " + std::to_string(s.age_ns / 1'000'000) + " ms (timeout " +
               std::to_string(timeout_ns_ / 1'000'000) + " ms)";
  }
  return s;
}

}  // namespace nautilus::external
