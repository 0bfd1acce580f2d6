#include "bench/handoff_ceiling.h"

#include <concurrentqueue/blockingconcurrentqueue.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "bench/bench_scenarios.h"
#include "core/clock.h"
#include "core/message_pool.h"

namespace nautilus::cli {
namespace {

// Enough distinct messages that the consumer's reads are not all cache hits
// on one line, few enough to build in a moment.
constexpr std::size_t kPrebuilt = 1 << 14;
constexpr std::size_t kQueueCapacity = 1 << 16;

MessagePtr build(MessagePool& pool, std::uint64_t seq, std::size_t payload_bytes) {
  auto m = pool.acquire();
  m->topic = "bench.0.tick";
  m->type = MessageType::kTick;
  m->source = "bench";
  build_payload(m->payload, 0, seq, payload_bytes);
  m->timestamp_ns = wall_now_ns();
  return m;
}

// One producer, `run.subscribers` consumers, each with its own queue; every
// consumer reads each message's payload size (as a handler would look at it).
// `make(seq)` yields what is handed over.
template <typename Item, typename Make>
nlohmann::json handoff(const CeilingRun& run, Make make) {
  const auto subscribers = static_cast<std::size_t>(run.subscribers);
  std::vector<std::unique_ptr<moodycamel::BlockingConcurrentQueue<Item>>> queues;
  for (std::size_t i = 0; i < subscribers; ++i) {
    queues.push_back(std::make_unique<moodycamel::BlockingConcurrentQueue<Item>>(kQueueCapacity));
  }
  std::atomic<bool> producing{true};
  std::atomic<std::uint64_t> produced{0};
  std::vector<std::uint64_t> received(subscribers, 0), bytes(subscribers, 0);
  std::vector<std::int64_t> last(subscribers, 0);
  std::vector<std::thread> consumers;
  for (std::size_t c = 0; c < subscribers; ++c) {
    consumers.emplace_back([&, c] {
      Item m{};
      for (;;) {
        if (queues[c]->wait_dequeue_timed(m, std::chrono::milliseconds(50))) {
          bytes[c] += m->payload.size();
          ++received[c];
          m = Item{};
          continue;
        }
        if (!producing.load(std::memory_order_acquire) && received[c] == produced.load(std::memory_order_acquire)) break;
      }
      last[c] = monotonic_now_ns();
    });
  }
  const std::int64_t start = monotonic_now_ns();
  const std::int64_t end = start + static_cast<std::int64_t>(run.duration_s * 1e9);
  std::uint64_t n = 0;
  for (;; ++n) {
    if (run.count > 0 ? n >= run.count : ((n & 255) == 0 && monotonic_now_ns() >= end)) break;
    Item m = make(n);
    // enqueue() grows the queue rather than wait: the plain handoff, as the
    // queue's users write it (a bounded try_enqueue spinning on a full queue
    // measured slower, the two threads fighting over the same blocks).
    for (std::size_t c = 0; c + 1 < subscribers; ++c) queues[c]->enqueue(m);
    queues[subscribers - 1]->enqueue(std::move(m));
  }
  produced.store(n, std::memory_order_release);
  producing.store(false, std::memory_order_release);
  for (auto& t : consumers) t.join();
  std::int64_t finished = start + 1;
  for (auto t : last) finished = std::max(finished, t);
  const double secs = static_cast<double>(finished - start) / 1e9;
  return {{"messages", n}, {"seconds", secs}, {"msgs_per_s", static_cast<double>(n) / secs}};
}

}  // namespace

nlohmann::json measure_handoff_ceiling(const CeilingRun& run) {
  MessagePool pool(1 << 18);
  std::vector<MessagePtr> prebuilt;
  prebuilt.reserve(kPrebuilt);
  for (std::size_t i = 0; i < kPrebuilt; ++i) prebuilt.push_back(build(pool, i, run.payload_bytes));
  // Raw pointers into messages nobody writes again: no reference count moves.
  nlohmann::json fixed = handoff<const Message*>(run, [&](std::uint64_t seq) { return prebuilt[seq % kPrebuilt].get(); });
  prebuilt.clear();
  MessagePool build_pool(1 << 18);
  warm_up(build_pool, run.payload_bytes);  // as the bus bench's publisher does
  nlohmann::json built = handoff<MessagePtr>(run, [&](std::uint64_t seq) { return build(build_pool, seq, run.payload_bytes); });
  return {{"peer", "moodycamel::BlockingConcurrentQueue"}, {"prebuilt", fixed}, {"built", built}};
}

}  // namespace nautilus::cli
