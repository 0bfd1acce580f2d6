// The Bus: publish/subscribe over dot-separated topics with glob patterns and
// strict priority delivery (SPEC section 4). Engines see only this interface;
// the backends (inproc://, redis://) are chosen by URL in make_bus().
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bus/delivery_latency.h"
#include "core/clock.h"
#include "core/histogram.h"
#include "core/message.h"
#include "core/status.h"

namespace nautilus {

// What a subscriber's full queue does with low/normal messages. `high` and above
// are never dropped: under either policy they wait for room.
enum class OverflowPolicy : unsigned char { kDropOldest, kBlock };

// kThread: the bus runs the handler on a thread of the subscription's own.
// kPolled: the owner calls Subscription::poll() (deterministic runs, event loops).
enum class DeliveryMode : unsigned char { kThread, kPolled };

struct SubscribeOptions {
  std::string name;                 // shown in stats; defaults to the pattern
  std::string group;                // Redis consumer group (engine kind); inproc ignores it
  std::size_t queue_capacity = 8192;  // per priority lane
  OverflowPolicy overflow = OverflowPolicy::kDropOldest;
  DeliveryMode mode = DeliveryMode::kThread;
};

// The handler may not keep the reference past its return; copy the message (or
// the MessagePtr) to keep it. Exceptions it throws are caught and counted.
using Handler = std::function<void(const MessagePtr&)>;

struct SubscriberStats {
  std::string name;
  std::string pattern;
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::uint64_t handler_errors = 0;
  std::uint64_t queue_depth = 0;
  std::array<std::uint64_t, kPriorityCount> depth_by_priority{};
  HistogramSnapshot latency_ns;  // publish-to-handler, all priorities
  std::array<HistogramSnapshot, kPriorityCount> latency_by_priority;
  std::vector<FamilyStats> families;
};

// One consumer group on a Redis bus, summed over the streams it reads.
struct GroupStats {
  std::string group;
  std::uint64_t streams = 0;
  std::uint64_t consumers = 0;  // the most on any one stream
  std::uint64_t pending = 0;    // delivered, not yet ACKed
  std::int64_t lag = -1;        // entries not yet delivered to it; -1: Redis cannot tell
  std::uint64_t lost = 0;       // trimmed (maxlen / max_age) before the group read them
};

struct BusStats {
  std::string name;      // "marketdata" / "engine"
  std::string backend;   // "inproc" / "redis"
  std::string state;     // connection state; "CONNECTED" for inproc
  std::uint64_t published = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::uint64_t rejected = 0;       // publishes refused (invalid, closed, full)
  std::uint64_t decode_errors = 0;  // entries that failed to decode (Redis)
  std::uint64_t handler_errors = 0;
  std::array<HistogramSnapshot, kPriorityCount> latency_ns_by_priority;
  std::vector<FamilyStats> families;  // by topic family, over all subscribers
  std::vector<SubscriberStats> subscribers;
  std::vector<GroupStats> groups;  // Redis: every consumer group on the bus's streams
};

class Subscription {
 public:
  virtual ~Subscription() = default;  // cancels
  // Stops delivery. When it returns, the handler is not running and will not run
  // again (unless called from inside the handler itself, which is also safe).
  virtual void cancel() = 0;
  // kPolled mode: delivers up to `max` queued messages on the calling thread,
  // highest priority first. Returns how many were delivered.
  virtual std::size_t poll(std::size_t max) = 0;
  virtual SubscriberStats stats() const = 0;
  virtual const std::string& pattern() const = 0;
};
using SubscriptionPtr = std::unique_ptr<Subscription>;

struct BusOptions {
  std::string name = "bus";          // "marketdata" / "engine"
  Clock* clock = nullptr;            // nullptr: live_clock()
  std::uint64_t node_id = 0;         // id generator node; 0 = random per process
};

class Bus {
 public:
  virtual ~Bus() = default;

  // Stamps `id` and `timestamp_ns` when they are unset, then delivers to every
  // subscription whose pattern matches. Returns an error (never throws) for an
  // invalid topic, a closed bus or, on Redis, an outage whose buffer is full.
  virtual Status publish(std::shared_ptr<Message> msg) = 0;
  Status publish(Message msg) { return publish(std::make_shared<Message>(std::move(msg))); }

  // Throws std::invalid_argument for an invalid pattern (control plane).
  virtual SubscriptionPtr subscribe(std::string_view pattern, Handler handler,
                                    SubscribeOptions options = {}) = 0;

  // Waits until everything published so far has been handled (or the timeout
  // passes). Returns false on timeout.
  virtual bool drain(std::chrono::milliseconds timeout) = 0;
  virtual void close() = 0;  // refuses further publishes
  virtual BusStats stats() const = 0;
  virtual const std::string& name() const = 0;
  virtual Clock& clock() const = 0;
};

// Inside a handler: the bus clock's reading taken just before the handler was
// called, i.e. the delivery time its latency histograms recorded; 0 outside a
// handler or on a backend that does not set it. Saves handlers a clock read.
std::int64_t current_delivery_ns();

// "inproc://" (or "" / "inproc") or "redis://[user:password@]host:port[/db]".
// Throws std::invalid_argument for an unknown scheme or a malformed URL.
std::unique_ptr<Bus> make_bus(std::string_view url, BusOptions options = {});

}  // namespace nautilus
