// The ceiling `bench throughput --peer` prints beside the in-process bus: the
// same number of 100-byte messages (or the same seconds) handed from one
// thread to each subscriber thread through moodycamel's
// BlockingConcurrentQueue, with nothing else done per message. Measured
// twice: with messages built before the clock starts (the plain pointer
// handoff, what no bus can beat) and built per message from the same pool the
// bus bench uses (so the reader sees what building costs on their machine).
#pragma once

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace nautilus::cli {

struct CeilingRun {
  std::uint64_t count = 0;    // messages per run; 0 = run for `duration_s`
  double duration_s = 0.0;
  int subscribers = 1;        // each gets every message (one queue and thread each)
  std::size_t payload_bytes = 100;
};

// {"prebuilt": {...}, "built": {...}} with messages, seconds and msgs/s each.
nlohmann::json measure_handoff_ceiling(const CeilingRun& run);

}  // namespace nautilus::cli
