#include "backtest/polled_bus.h"

#include <algorithm>
#include <mutex>

namespace nautilus::backtest {

struct PolledBus::Entry {
  SubscriptionPtr sub;
  bool cancelled = false;
};

struct PolledBus::Shared {
  std::mutex mu;
  std::vector<std::shared_ptr<Entry>> entries;  // subscription order
  std::uint64_t generation = 1;
};

// What the subscriber holds: cancelling takes its entry out of the rounds.
class PolledBus::Handle final : public Subscription {
 public:
  Handle(std::shared_ptr<Shared> shared, std::shared_ptr<Entry> entry)
      : shared_(std::move(shared)), entry_(std::move(entry)) {}
  ~Handle() override { cancel(); }
  void cancel() override {
    std::lock_guard lock(shared_->mu);
    if (entry_->cancelled) return;
    entry_->cancelled = true;
    entry_->sub->cancel();
    auto& v = shared_->entries;
    v.erase(std::remove(v.begin(), v.end(), entry_), v.end());
    ++shared_->generation;
  }
  std::size_t poll(std::size_t max) override { return entry_->cancelled ? 0 : entry_->sub->poll(max); }
  SubscriberStats stats() const override { return entry_->sub->stats(); }
  const std::string& pattern() const override { return entry_->sub->pattern(); }

 private:
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Entry> entry_;
};

PolledBus::PolledBus(std::unique_ptr<Bus> inner) : inner_(std::move(inner)), shared_(std::make_shared<Shared>()) {}

PolledBus::~PolledBus() = default;

SubscriptionPtr PolledBus::subscribe(std::string_view pattern, Handler handler, SubscribeOptions options) {
  options.mode = DeliveryMode::kPolled;
  auto entry = std::make_shared<Entry>();
  entry->sub = inner_->subscribe(pattern, std::move(handler), std::move(options));
  std::lock_guard lock(shared_->mu);
  shared_->entries.push_back(entry);
  ++shared_->generation;
  return std::make_unique<Handle>(shared_, entry);
}

std::size_t PolledBus::poll_round(std::size_t per_subscription) {
  {
    std::lock_guard lock(shared_->mu);
    if (round_generation_ != shared_->generation) {
      round_ = shared_->entries;  // a handler may subscribe or cancel while the round runs
      round_generation_ = shared_->generation;
    }
  }
  std::size_t n = 0;
  for (std::size_t i = 0; i < round_.size(); ++i) {
    const std::shared_ptr<Entry> e = round_[i];  // held: the round may be recopied by a nested call
    if (!e->cancelled) n += e->sub->poll(per_subscription);
  }
  return n;
}

bool PolledBus::drain(std::chrono::milliseconds) {
  while (poll_round() > 0) {
  }
  return true;
}

std::size_t settle_polled(PolledBus& marketdata, PolledBus& engine) {
  std::size_t total = 0;
  for (;;) {
    const std::size_t n = marketdata.poll_round() + engine.poll_round();
    if (n == 0) return total;
    total += n;
  }
}

}  // namespace nautilus::backtest
