#include "bus/inproc_bus.h"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "bus/lane_queue.h"
#include "core/codec.h"
#include "core/id_generator.h"
#include "core/topic_pattern.h"

namespace nautilus {
namespace {

using detail::LaneQueue;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Single-writer counter: the owner adds, anyone reads. No RMW needed.
struct Counter {
  std::atomic<std::uint64_t> v{0};
  void add(std::uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

constexpr std::int64_t kSpinBeforeParkNs = 50'000;

thread_local std::int64_t t_delivery_ns = 0;

// One subscriber: its lanes, its handler, its counters, and (kThread) its thread.
class SubState {
 public:
  SubState(std::string pattern, Handler handler, SubscribeOptions options, Clock& clock)
      : pattern_(std::move(pattern)),
        literal_(is_literal_pattern(pattern_)),
        handler_(std::move(handler)),
        options_(std::move(options)),
        clock_(clock) {
    if (options_.name.empty()) options_.name = pattern_;
    std::size_t cap = std::max<std::size_t>(options_.queue_capacity, 2);
    for (auto& lane : lanes_) lane = std::make_unique<LaneQueue>(cap);
  }

  bool matches(std::string_view topic) const {
    return literal_ ? topic == pattern_ : glob_match(pattern_, topic);
  }
  const std::string& pattern() const { return pattern_; }
  bool closed() const { return closed_.load(std::memory_order_acquire); }

  // Publisher side. Returns false only when the subscriber is closed.
  bool push(const MessagePtr& msg) {
    if (closed()) return false;
    LaneQueue& lane = *lanes_[lane_of(msg->priority)];
    MessagePtr copy = msg;
    if (!lane.try_push(copy)) {
      bool may_drop = !is_protected(msg->priority) && options_.overflow == OverflowPolicy::kDropOldest;
      if (may_drop) {
        while (!lane.try_push(copy)) {
          MessagePtr oldest;
          if (lane.try_pop(oldest)) dropped_.fetch_add(1, std::memory_order_relaxed);
        }
      } else if (!wait_for_room(lane, copy)) {
        return false;
      }
    }
    if (parked_.load(std::memory_order_seq_cst)) {
      wake_.fetch_add(1, std::memory_order_seq_cst);
      wake_.notify_one();
    }
    return true;
  }

  // Consumer side: delivers one message, highest lane first.
  bool deliver_one() {
    MessagePtr msg;
    // Raised before the pop, not after: between taking a message off its lane
    // and starting its handler, drain() must not see this subscriber idle.
    in_handler_.store(true, std::memory_order_seq_cst);
    for (std::size_t i = kPriorityCount; i-- > 0;) {
      if (lanes_[i]->try_pop(msg)) {
        if (blocked_publishers_.load(std::memory_order_seq_cst) > 0) room_cv_.notify_all();
        auto now = clock_.now_ns();
        t_delivery_ns = now;
        latency_.record(*msg, now);
        try {
          handler_(msg);
        } catch (...) {
          handler_errors_.add();
        }
        t_delivery_ns = 0;
        delivered_.add();
        in_handler_.store(false, std::memory_order_release);
        return true;
      }
    }
    in_handler_.store(false, std::memory_order_release);
    return false;
  }

  std::size_t poll(std::size_t max) {
    std::size_t n = 0;
    while (n < max && !closed() && deliver_one()) ++n;
    return n;
  }

  void start_thread(std::shared_ptr<SubState> self) {
    thread_ = std::thread([self = std::move(self)] { self->run(); });
  }

  void close() {
    bool was = closed_.exchange(true, std::memory_order_acq_rel);
    if (was) return;
    wake_.fetch_add(1, std::memory_order_seq_cst);
    wake_.notify_all();
    room_cv_.notify_all();
    if (thread_.joinable()) {
      if (thread_.get_id() == std::this_thread::get_id()) {
        thread_.detach();  // cancelled from inside its own handler
      } else {
        thread_.join();
      }
    }
  }

  bool idle() const {
    if (in_handler_.load(std::memory_order_seq_cst)) return false;
    for (const auto& lane : lanes_) {
      if (lane->has_claimed()) return false;
    }
    return true;
  }
  bool threaded() const { return options_.mode == DeliveryMode::kThread; }

  SubscriberStats stats() const {
    SubscriberStats s;
    s.name = options_.name;
    s.pattern = pattern_;
    s.delivered = delivered_.get();
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.handler_errors = handler_errors_.get();
    for (std::size_t i = 0; i < kPriorityCount; ++i) {
      s.depth_by_priority[i] = lanes_[i]->size();
      s.queue_depth += s.depth_by_priority[i];
    }
    latency_.fill(s);
    return s;
  }

 private:
  bool wait_for_room(LaneQueue& lane, MessagePtr& copy) {
    for (int i = 0; i < 256; ++i) {
      if (lane.try_push(copy)) return true;
      if (closed()) return false;
      if (i > 64) std::this_thread::yield(); else cpu_relax();
    }
    blocked_publishers_.fetch_add(1, std::memory_order_seq_cst);
    bool ok = false;
    std::unique_lock lock(room_mu_);
    while (!closed()) {
      if (lane.try_push(copy)) {
        ok = true;
        break;
      }
      // A timed wait: a wake-up lost to the lock-free pop costs at most this long.
      room_cv_.wait_for(lock, std::chrono::microseconds(200));
    }
    blocked_publishers_.fetch_sub(1, std::memory_order_seq_cst);
    return ok;
  }

  bool any_claimed() const {
    for (const auto& lane : lanes_) {
      if (lane->has_claimed()) return true;
    }
    return false;
  }

  void run() {
    char name[16];
    std::snprintf(name, sizeof name, "sub:%.11s", options_.name.c_str());
    pthread_setname_np(pthread_self(), name);
    while (!closed()) {
      if (deliver_one()) continue;
      // Spin briefly: a publisher at a steady rate usually arrives within this
      // window, and waking a parked thread costs tens of microseconds.
      std::int64_t until = monotonic_now_ns() + kSpinBeforeParkNs;
      bool got = false;
      while (!closed() && monotonic_now_ns() < until) {
        if (any_claimed()) {
          got = true;
          break;
        }
        for (int i = 0; i < 16; ++i) cpu_relax();
      }
      if (got || closed()) continue;
      std::uint32_t seen = wake_.load(std::memory_order_seq_cst);
      parked_.store(true, std::memory_order_seq_cst);
      if (!any_claimed() && !closed()) wake_.wait(seen, std::memory_order_seq_cst);
      parked_.store(false, std::memory_order_seq_cst);
    }
  }

  const std::string pattern_;
  const bool literal_;
  Handler handler_;
  SubscribeOptions options_;
  Clock& clock_;
  std::array<std::unique_ptr<LaneQueue>, kPriorityCount> lanes_;
  DeliveryLatency latency_;
  // Grouped by who writes them, a cache line each, so a publisher checking
  // closed_/parked_ does not miss on the line the delivery thread just wrote.
  alignas(64) std::atomic<bool> closed_{false};    // read per push, written once
  std::atomic<bool> parked_{false};                // read per push, written when idle
  alignas(64) Counter delivered_;                  // delivery thread
  Counter handler_errors_;
  std::atomic<bool> in_handler_{false};
  alignas(64) std::atomic<std::uint64_t> dropped_{0};  // publishers, when full
  std::atomic<int> blocked_publishers_{0};
  std::atomic<std::uint32_t> wake_{0};
  std::mutex room_mu_;
  std::condition_variable room_cv_;
  std::thread thread_;
};

using SubList = std::vector<std::shared_ptr<SubState>>;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Per publishing thread: topic -> matching subscribers, valid for one
// generation of one bus. A hot topic is matched against the patterns once.
struct TopicCache {
  static constexpr std::size_t kMaxTopics = 4096;
  std::uint64_t bus_uid = 0;
  std::uint64_t generation = 0;
  std::unordered_map<std::string, SubList, StringHash, std::equal_to<>> topics;
};

std::atomic<std::uint64_t> g_next_bus_uid{1};

// The shared state of a bus; subscriptions keep it alive, so a subscription
// that outlives its Bus object is still safe to cancel.
class BusCore {
 public:
  explicit BusCore(BusOptions options)
      : options_(std::move(options)),
        clock_(options_.clock ? *options_.clock : live_clock()),
        ids_(clock_, options_.node_id),
        uid_(g_next_bus_uid.fetch_add(1)) {}

  Status publish(std::shared_ptr<Message>& msg) {
    if (closed_.load(std::memory_order_acquire)) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return Status(StatusCode::kClosed, "bus '" + options_.name + "' is closed");
    }
    if (msg->timestamp_ns == 0 || msg->id.empty()) {
      std::int64_t now = clock_.now_ns();
      if (msg->timestamp_ns == 0) msg->timestamp_ns = now;
      if (msg->id.empty()) msg->id = ids_.next_at(now);
    }
    const SubList* subs = match(msg->topic);
    if (!subs) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return validate_topic(msg->topic);
    }
    MessagePtr shared = std::move(msg);
    for (const auto& sub : *subs) sub->push(shared);
    published_.fetch_add(1, std::memory_order_relaxed);
    return Status::ok();
  }

  std::shared_ptr<SubState> add(std::string_view pattern, Handler handler, SubscribeOptions options) {
    if (auto s = validate_pattern(pattern); !s) throw std::invalid_argument(s.to_string());
    if (!handler) throw std::invalid_argument("subscribe: empty handler");
    auto sub = std::make_shared<SubState>(std::string(pattern), std::move(handler), std::move(options), clock_);
    if (sub->threaded()) sub->start_thread(sub);
    std::lock_guard lock(mu_);
    subs_.push_back(sub);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    return sub;
  }

  void remove(const std::shared_ptr<SubState>& sub) {
    {
      std::lock_guard lock(mu_);
      auto it = std::find(subs_.begin(), subs_.end(), sub);
      if (it == subs_.end()) return;
      subs_.erase(it);
      generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    sub->close();
    SubscriberStats s = sub->stats();
    std::lock_guard lock(mu_);
    retired_.add(s);
  }

  bool drain(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      bool idle = true;
      {
        std::lock_guard lock(mu_);
        for (const auto& s : subs_) {
          if (s->threaded() && !s->idle()) {
            idle = false;
            break;
          }
        }
      }
      if (idle) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  void close() { closed_.store(true, std::memory_order_release); }

  void shutdown() {
    close();
    SubList subs;
    {
      std::lock_guard lock(mu_);
      subs = subs_;
    }
    for (auto& s : subs) remove(s);
  }

  BusStats stats() const {
    BusStats out;
    out.name = options_.name;
    out.backend = "inproc";
    out.state = closed_.load() ? "CLOSED" : "CONNECTED";
    out.published = published_.load(std::memory_order_relaxed);
    out.rejected = rejected_.load(std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    DeliveryTotals totals = retired_;
    for (const auto& s : subs_) {
      SubscriberStats ss = s->stats();
      totals.add(ss);
      out.subscribers.push_back(std::move(ss));
    }
    totals.copy_to(out);
    return out;
  }

  const std::string& name() const { return options_.name; }
  Clock& clock() const { return clock_; }

 private:
  // The subscribers for `topic`, or nullptr if the topic is invalid. Only a
  // topic not yet in this thread's cache is validated and matched.
  const SubList* match(const std::string& topic) {
    thread_local std::array<TopicCache, 4> caches;
    thread_local std::size_t next_victim = 0;
    TopicCache* cache = nullptr;
    for (auto& c : caches) {
      if (c.bus_uid == uid_) {
        cache = &c;
        break;
      }
    }
    if (!cache) {
      cache = &caches[next_victim++ % caches.size()];
      cache->topics.clear();
      cache->bus_uid = uid_;
      cache->generation = 0;
    }
    std::uint64_t gen = generation_.load(std::memory_order_acquire);
    if (cache->generation != gen) {
      cache->topics.clear();
      cache->generation = gen;
    }
    if (auto it = cache->topics.find(std::string_view(topic)); it != cache->topics.end()) return &it->second;
    if (!validate_topic(topic)) return nullptr;
    if (cache->topics.size() >= TopicCache::kMaxTopics) cache->topics.clear();
    SubList matched;
    {
      std::lock_guard lock(mu_);
      for (const auto& s : subs_) {
        if (s->matches(topic)) matched.push_back(s);
      }
    }
    return &cache->topics.emplace(topic, std::move(matched)).first->second;
  }

  BusOptions options_;
  Clock& clock_;
  IdGenerator ids_;
  const std::uint64_t uid_;
  mutable std::mutex mu_;
  SubList subs_;
  std::atomic<std::uint64_t> generation_{1};
  std::atomic<bool> closed_{false};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> rejected_{0};
  DeliveryTotals retired_;  // closed subscriptions
};

class InprocSubscription final : public Subscription {
 public:
  InprocSubscription(std::shared_ptr<BusCore> core, std::shared_ptr<SubState> sub)
      : core_(std::move(core)), sub_(std::move(sub)) {}
  ~InprocSubscription() override { cancel(); }
  void cancel() override { core_->remove(sub_); }
  std::size_t poll(std::size_t max) override { return sub_->poll(max); }
  SubscriberStats stats() const override { return sub_->stats(); }
  const std::string& pattern() const override { return sub_->pattern(); }

 private:
  std::shared_ptr<BusCore> core_;
  std::shared_ptr<SubState> sub_;
};

class InprocBus final : public Bus {
 public:
  explicit InprocBus(BusOptions options) : core_(std::make_shared<BusCore>(std::move(options))) {}
  ~InprocBus() override { core_->shutdown(); }

  Status publish(std::shared_ptr<Message> msg) override {
    if (!msg) return Status(StatusCode::kInvalidArgument, "null message");
    return core_->publish(msg);
  }
  using Bus::publish;

  SubscriptionPtr subscribe(std::string_view pattern, Handler handler, SubscribeOptions options) override {
    auto sub = core_->add(pattern, std::move(handler), std::move(options));
    return std::make_unique<InprocSubscription>(core_, std::move(sub));
  }

  bool drain(std::chrono::milliseconds timeout) override { return core_->drain(timeout); }
  void close() override { core_->close(); }
  BusStats stats() const override { return core_->stats(); }
  const std::string& name() const override { return core_->name(); }
  Clock& clock() const override { return core_->clock(); }

 private:
  std::shared_ptr<BusCore> core_;
};

}  // namespace

std::int64_t current_delivery_ns() { return t_delivery_ns; }

std::unique_ptr<Bus> make_inproc_bus(BusOptions options) {
  return std::make_unique<InprocBus>(std::move(options));
}

}  // namespace nautilus
