#include "core/periodic_timer.h"

#include <mutex>

namespace nautilus {

struct PeriodicTimer::State {
  std::mutex mu;  // held while fn runs, so stop() waits for it
  Clock* clock = nullptr;
  std::int64_t interval_ns = 0;
  std::function<void()> fn;
  bool active = false;
  TimerId timer = 0;

  // Called with mu held.
  static void arm(const std::shared_ptr<State>& self) {
    std::weak_ptr<State> weak = self;
    self->timer = self->clock->schedule_after(self->interval_ns, [weak] {
      // The clock may fire a timer it was asked to cancel a moment ago; the
      // weak pointer and the active flag make that a no-op.
      auto s = weak.lock();
      if (!s) return;
      std::lock_guard lock(s->mu);
      if (!s->active) return;
      s->fn();
      if (s->active) arm(s);
    });
  }
};

void PeriodicTimer::start(Clock& clock, std::int64_t interval_ns, std::function<void()> fn) {
  stop();
  state_ = std::make_shared<State>();
  std::lock_guard lock(state_->mu);
  state_->clock = &clock;
  state_->interval_ns = interval_ns > 0 ? interval_ns : 1;
  state_->fn = std::move(fn);
  state_->active = true;
  State::arm(state_);
}

void PeriodicTimer::stop() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mu);
    state_->active = false;
    state_->clock->cancel(state_->timer);
  }
  state_.reset();
}

bool PeriodicTimer::running() const { return state_ != nullptr; }

}  // namespace nautilus
