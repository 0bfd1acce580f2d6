// A Bus for deterministic runs: every subscription made through it is polled
// (never a delivery thread of its own), whatever mode the subscriber asked
// for, and poll_round() delivers to them on the calling thread in the order
// they subscribed. With the simulated clock and fixed id nodes, a backtest on
// two of these delivers the same messages in the same order with the same
// timestamps and ids every run (SPEC section 4, deterministic mode).
#pragma once

#include <memory>
#include <cstdint>
#include <vector>

#include "bus/bus.h"

namespace nautilus::backtest {

class PolledBus final : public Bus {
 public:
  explicit PolledBus(std::unique_ptr<Bus> inner);
  ~PolledBus() override;

  Status publish(std::shared_ptr<Message> msg) override { return inner_->publish(std::move(msg)); }
  using Bus::publish;
  SubscriptionPtr subscribe(std::string_view pattern, Handler handler, SubscribeOptions options = {}) override;
  // Delivers everything queued, subscription by subscription (at most
  // `per_subscription` each); returns how many messages were handled.
  std::size_t poll_round(std::size_t per_subscription = 1024);
  // Polled subscriptions have no thread to wait for: drain() polls until quiet.
  bool drain(std::chrono::milliseconds timeout) override;
  void close() override { inner_->close(); }
  BusStats stats() const override { return inner_->stats(); }
  const std::string& name() const override { return inner_->name(); }
  Clock& clock() const override { return inner_->clock(); }

 private:
  struct Entry;
  struct Shared;
  class Handle;
  std::unique_ptr<Bus> inner_;
  std::shared_ptr<Shared> shared_;
  // The entries as of the last round, recopied only when someone subscribed
  // or cancelled since: a round allocates nothing.
  std::vector<std::shared_ptr<Entry>> round_;
  std::uint64_t round_generation_ = 0;
};

// Polls both buses of a router made of PolledBus until a full round delivers
// nothing (a handler on one bus may publish to the other). Returns the number
// of messages handled.
std::size_t settle_polled(PolledBus& marketdata, PolledBus& engine);

}  // namespace nautilus::backtest
