// Peer harness: a single-producer single-consumer handoff of the same
// MessagePtr values through moodycamel::BlockingConcurrentQueue, measured the
// way `nautilus bench throughput|latency` measures the in-process bus.
//   peer_concurrentqueue throughput COUNT [PAYLOAD_BYTES]
//   peer_concurrentqueue latency RATE SECONDS [PAYLOAD_BYTES]
// Prints one JSON object.
#include <concurrentqueue/blockingconcurrentqueue.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/histogram.h"
#include "core/message.h"
#include "core/message_pool.h"

using namespace nautilus;

namespace {

// Built exactly as `nautilus bench` builds its messages, from the same pool.
MessagePtr make(MessagePool& pool, std::uint64_t seq, std::size_t size) {
  auto m = pool.acquire();
  m->topic = "bench.0.tick";
  m->type = MessageType::kTick;
  m->source = "bench";
  char head[64];
  int n = std::snprintf(head, sizeof head, "{\"p\":0,\"s\":%llu,\"pad\":\"", static_cast<unsigned long long>(seq));
  m->payload.assign(head, static_cast<std::size_t>(n));
  if (size > static_cast<std::size_t>(n) + 2) m->payload.append(size - static_cast<std::size_t>(n) - 2, 'x');
  m->payload += "\"}";
  m->timestamp_ns = wall_now_ns();
  return m;
}

void print(const char* scenario, std::uint64_t n, double secs, double rate, const HistogramSnapshot& h,
           std::uint64_t lost) {
  std::printf(
      "{\"peer\":\"moodycamel::BlockingConcurrentQueue\",\"scenario\":\"%s\",\"messages\":%llu,"
      "\"duration_s\":%.6f,\"throughput_msgs_per_s\":%.0f,\"target_rate\":%.0f,\"lost\":%llu,"
      "\"latency_us\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f}}\n",
      scenario, static_cast<unsigned long long>(n), secs, static_cast<double>(n) / secs, rate,
      static_cast<unsigned long long>(lost), static_cast<double>(h.percentile(0.5)) / 1e3,
      static_cast<double>(h.percentile(0.9)) / 1e3, static_cast<double>(h.percentile(0.99)) / 1e3,
      static_cast<double>(h.percentile(0.999)) / 1e3, static_cast<double>(h.max()) / 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s throughput COUNT [SIZE] | latency RATE SECONDS [SIZE]\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  bool latency = mode == "latency";
  std::uint64_t count = 0;
  double rate = 0;
  std::size_t size = 100;
  if (latency) {
    if (argc < 4) return 2;
    rate = std::atof(argv[2]);
    count = static_cast<std::uint64_t>(rate * std::atof(argv[3]));
    if (argc > 4) size = static_cast<std::size_t>(std::atol(argv[4]));
  } else {
    count = std::strtoull(argv[2], nullptr, 10);
    if (argc > 3) size = static_cast<std::size_t>(std::atol(argv[3]));
  }

  moodycamel::BlockingConcurrentQueue<MessagePtr> q(65536);
  HistogramSnapshot hist;
  std::uint64_t received = 0;
  std::int64_t last = 0;
  std::thread consumer([&] {
    MessagePtr m;
    while (received < count) {
      if (!q.wait_dequeue_timed(m, std::chrono::seconds(5))) break;
      hist.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, wall_now_ns() - m->timestamp_ns)));
      ++received;
      m.reset();
    }
    last = monotonic_now_ns();
  });

  std::int64_t start = monotonic_now_ns() + (latency ? 1'000'000 : 0);
  double interval = latency ? 1e9 / rate : 0;
  MessagePool pool(1 << 18);
  for (std::uint64_t i = 0; i < count; ++i) {
    if (latency) {
      auto t = start + static_cast<std::int64_t>(interval * static_cast<double>(i));
      while (monotonic_now_ns() < t) {
      }
    }
    q.enqueue(make(pool, i, size));
  }
  consumer.join();
  print(latency ? "latency" : "throughput", count, static_cast<double>(last - start) / 1e9, rate, hist,
        count - received);
  return 0;
}
