// An engine's subscriptions on Redis: each (kind, pattern) is its own consumer
// group, so two subscriptions of one engine on the same streams (risk's trades
// and quotes are both in the marketdata family) each get every message of
// their pattern, while two instances of one kind (two daemons) share each
// pattern's messages, each handled once.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>

#include "../bus/redis_fixture.h"
#include "bus/router.h"
#include "core/clock.h"
#include "engines/engine.h"

namespace nautilus {
namespace {

class TwoPatternEngine final : public Engine {
 public:
  std::string_view kind() const override { return "two_patterns"; }
  std::string_view description() const override { return "test engine: two patterns of one family"; }
  std::atomic<int> a{0}, b{0};
  std::mutex mu;
  std::multiset<std::string> seen;  // payloads handled, over both patterns

 protected:
  void on_start(EngineContext&) override {
    subscribe(BusKind::kMarketData, "ticks.a.*", [this](const Message& m) { note(m, a); });
    subscribe(BusKind::kMarketData, "ticks.b.*", [this](const Message& m) { note(m, b); });
  }

 private:
  void note(const Message& m, std::atomic<int>& n) {
    std::lock_guard lock(mu);
    seen.insert(m.payload);
    ++n;
  }
};

void publish_ticks(Router& router, int per_pattern) {
  for (int i = 0; i < per_pattern; ++i) {
    for (const char* p : {"a", "b"}) {
      auto m = std::make_shared<Message>();
      m->topic = std::string("ticks.") + p + ".S" + std::to_string(i % 7);
      m->type = MessageType::kTrade;
      m->payload = "{\"n\":\"" + std::string(p) + std::to_string(i) + "\"}";
      REQUIRE(router.publish(m).is_ok());
    }
  }
}

}  // namespace

TEST_CASE("redis: an engine's two patterns in one family each get every message", "[engines][redis]") {
  testing::RedisServer redis;
  auto router = Router::from_urls(redis.url(), redis.url());
  TwoPatternEngine engine;
  engine.start({*router, live_clock(), nlohmann::json::object()});
  constexpr int kN = 300;
  publish_ticks(*router, kN);
  const bool all_in = testing::wait_until([&] { return engine.a.load() >= kN && engine.b.load() >= kN; });
  INFO("a " << engine.a.load() << ", b " << engine.b.load());
  REQUIRE(all_in);
  REQUIRE(router->drain(std::chrono::seconds(10)));
  CHECK(engine.a.load() == kN);
  CHECK(engine.b.load() == kN);
  engine.stop();
}

TEST_CASE("redis: two instances of one kind share each pattern's messages, each handled once", "[engines][redis]") {
  testing::RedisServer redis;
  // Two routers: two daemons on one server.
  auto router1 = Router::from_urls(redis.url(), redis.url());
  auto router2 = Router::from_urls(redis.url(), redis.url());
  TwoPatternEngine one, two;
  one.set_name("two_patterns_1");
  two.set_name("two_patterns_2");
  one.start({*router1, live_clock(), nlohmann::json::object()});
  two.start({*router2, live_clock(), nlohmann::json::object()});
  constexpr int kN = 300;
  publish_ticks(*router1, kN);
  auto total = [&] { return one.a + one.b + two.a + two.b; };
  REQUIRE(testing::wait_until([&] { return total() >= 2 * kN; }));
  REQUIRE(router1->drain(std::chrono::seconds(10)));
  REQUIRE(router2->drain(std::chrono::seconds(10)));
  CHECK(total() == 2 * kN);
  std::multiset<std::string> all = one.seen;
  all.insert(two.seen.begin(), two.seen.end());
  CHECK(all.size() == 2 * kN);
  CHECK(std::set<std::string>(all.begin(), all.end()).size() == 2 * kN);  // none twice
  one.stop();
  two.stop();
}

}  // namespace nautilus
