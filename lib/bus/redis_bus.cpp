// The redis:// Bus: the public face over the core (redis_publisher.h) and its
// subscriptions (redis_subscriber.h). URL parsing is in redis_url.cpp, the
// entry format in redis_entry.h, dead letters in redis_dead_letter.h.
#include "bus/redis_bus.h"

#include <stdexcept>

#include "bus/redis_publisher.h"
#include "bus/redis_subscriber.h"
#include "core/topic_pattern.h"

namespace nautilus {

namespace {

using redis::BusCore;
using redis::RedisSub;

class RedisSubscription final : public Subscription {
 public:
  RedisSubscription(std::shared_ptr<BusCore> core, std::shared_ptr<RedisSub> sub)
      : core_(std::move(core)), sub_(std::move(sub)) {}
  ~RedisSubscription() override { cancel(); }
  void cancel() override {
    sub_->cancel();
    core_->remove_sub(sub_);
  }
  std::size_t poll(std::size_t max) override { return sub_->poll(max); }
  SubscriberStats stats() const override { return sub_->stats(); }
  const std::string& pattern() const override { return sub_->pattern(); }

 private:
  std::shared_ptr<BusCore> core_;
  std::shared_ptr<RedisSub> sub_;
};

class RedisBus final : public Bus {
 public:
  RedisBus(RedisConfig config, BusOptions options)
      : core_(std::make_shared<BusCore>(std::move(config), std::move(options))) {
    core_->start();
  }
  ~RedisBus() override { core_->shutdown(); }

  Status publish(std::shared_ptr<Message> msg) override {
    if (!msg) return Status(StatusCode::kInvalidArgument, "null message");
    return core_->publish(msg);
  }
  using Bus::publish;

  SubscriptionPtr subscribe(std::string_view pattern, Handler handler, SubscribeOptions options) override {
    if (auto s = validate_pattern(pattern); !s) throw std::invalid_argument(s.to_string());
    if (!handler) throw std::invalid_argument("subscribe: empty handler");
    auto sub = std::make_shared<RedisSub>(core_, std::string(pattern), std::move(handler), std::move(options));
    sub->start();
    core_->add_sub(sub);
    return std::make_unique<RedisSubscription>(core_, std::move(sub));
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

std::unique_ptr<Bus> make_redis_bus(RedisConfig config, BusOptions options) {
  if (options.name.empty() || options.name.find_first_of("{}: ") != std::string::npos) {
    throw std::invalid_argument("redis bus name '" + options.name + "' must be non-empty without {}: or spaces");
  }
  return std::make_unique<RedisBus>(std::move(config), std::move(options));
}

std::unique_ptr<Bus> make_redis_bus(std::string_view url, BusOptions options) {
  return make_redis_bus(parse_redis_url(url), std::move(options));
}

}  // namespace nautilus
