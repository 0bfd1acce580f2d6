// The health of a process that says it is alive by publishing heartbeats: the
// pure part of the `external` engine, on whatever clock the caller reads.
// Fresh while the last beat is younger than the timeout; a sequence number that
// goes down means the process restarted (counted).
#pragma once

#include <cstdint>
#include <string>

namespace nautilus::external {

struct HeartbeatStatus {
  bool fresh = false;
  std::int64_t age_ns = -1;  // -1: no beat yet
  std::string reason;        // why it is not fresh; "" when fresh
};

class HeartbeatWatch {
 public:
  explicit HeartbeatWatch(std::int64_t timeout_ns) : timeout_ns_(timeout_ns) {}

  // A beat at `now_ns` carrying the process's `sequence` (0 when it sends none).
  void beat(std::int64_t now_ns, std::uint64_t sequence);
  HeartbeatStatus status(std::int64_t now_ns) const;

  std::uint64_t beats() const { return beats_; }
  std::uint64_t restarts() const { return restarts_; }
  std::uint64_t last_sequence() const { return last_sequence_; }
  std::int64_t timeout_ns() const { return timeout_ns_; }

 private:
  std::int64_t timeout_ns_;
  std::int64_t last_beat_ns_ = 0;
  bool seen_ = false;
  std::uint64_t beats_ = 0;
  std::uint64_t restarts_ = 0;
  std::uint64_t last_sequence_ = 0;
};

}  // namespace nautilus::external
