#include "core/clock.h"

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace nautilus {
namespace {

// Timers ordered by (due time, schedule order): equal due times fire in the
// order they were scheduled, which keeps simulated runs deterministic.
class TimerTable {
 public:
  TimerId add(std::int64_t at_ns, std::function<void()> fn) {
    TimerId id = ++next_id_;
    by_time_.emplace(Key{at_ns, id}, std::move(fn));
    return id;
  }
  bool remove(TimerId id) {
    for (auto it = by_time_.begin(); it != by_time_.end(); ++it) {
      if (it->first.id == id) {
        by_time_.erase(it);
        return true;
      }
    }
    return false;
  }
  bool empty() const { return by_time_.empty(); }
  std::size_t size() const { return by_time_.size(); }
  std::int64_t next_due() const { return by_time_.begin()->first.at_ns; }
  std::function<void()> pop_front() {
    auto node = by_time_.extract(by_time_.begin());
    return std::move(node.mapped());
  }

 private:
  struct Key {
    std::int64_t at_ns;
    TimerId id;
    bool operator<(const Key& o) const { return at_ns != o.at_ns ? at_ns < o.at_ns : id < o.id; }
  };
  std::map<Key, std::function<void()>> by_time_;
  TimerId next_id_ = 0;
};

class LiveClock final : public Clock {
 public:
  ~LiveClock() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  std::int64_t now_ns() const override { return wall_now_ns(); }

  TimerId schedule_at(std::int64_t at_ns, std::function<void()> fn) override {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    TimerId id = timers_.add(at_ns, std::move(fn));
    cv_.notify_all();
    return id;
  }

  bool cancel(TimerId id) override {
    std::lock_guard lock(mu_);
    return timers_.remove(id);
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (timers_.empty()) {
        cv_.wait(lock);
        continue;
      }
      std::int64_t due = timers_.next_due();
      std::int64_t now = wall_now_ns();
      if (due > now) {
        cv_.wait_for(lock, std::chrono::nanoseconds(due - now));
        continue;
      }
      auto fn = timers_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  TimerTable timers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

std::int64_t wall_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t monotonic_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Clock& live_clock() {
  static LiveClock clock;
  return clock;
}

struct SimulatedClock::Impl {
  mutable std::mutex mu;
  std::atomic<std::int64_t> now;
  TimerTable timers;
  explicit Impl(std::int64_t start) : now(start) {}
};

SimulatedClock::SimulatedClock(std::int64_t start_ns) : impl_(std::make_unique<Impl>(start_ns)) {}
SimulatedClock::~SimulatedClock() = default;

std::int64_t SimulatedClock::now_ns() const { return impl_->now.load(std::memory_order_acquire); }

TimerId SimulatedClock::schedule_at(std::int64_t at_ns, std::function<void()> fn) {
  std::lock_guard lock(impl_->mu);
  return impl_->timers.add(at_ns, std::move(fn));
}

bool SimulatedClock::cancel(TimerId id) {
  std::lock_guard lock(impl_->mu);
  return impl_->timers.remove(id);
}

std::size_t SimulatedClock::pending_timers() const {
  std::lock_guard lock(impl_->mu);
  return impl_->timers.size();
}

std::size_t SimulatedClock::advance_to(std::int64_t t_ns) {
  std::size_t fired = 0;
  std::unique_lock lock(impl_->mu);
  while (!impl_->timers.empty() && impl_->timers.next_due() <= t_ns) {
    std::int64_t due = impl_->timers.next_due();
    if (due > impl_->now.load(std::memory_order_relaxed)) {
      impl_->now.store(due, std::memory_order_release);
    }
    auto fn = impl_->timers.pop_front();
    lock.unlock();
    fn();  // may schedule or cancel timers
    ++fired;
    lock.lock();
  }
  if (t_ns > impl_->now.load(std::memory_order_relaxed)) {
    impl_->now.store(t_ns, std::memory_order_release);
  }
  return fired;
}

}  // namespace nautilus
