// The seeds' two-server layout with two real nautilusd: the marketdata bus on
// one redis-server, the engine bus on another, both daemons hosting risk
// (orders on the engine bus, trades on the marketdata bus) and features
// (trades; it publishes nothing risk reads, so risk's count is ours alone).
// Both daemons are listed by `nautilus cluster status`; each kind's load is
// shared between them (counted per instance), and when nobody dies every
// message is handled exactly once per kind: the two instances of a kind
// together handle each trade and each order once, never twice, never zero.
#include <catch2/catch.hpp>

#include "bus/redis_fixture.h"
#include "e2e/cluster_support.h"

namespace nautilus::test {
namespace {

std::shared_ptr<Message> make_trade(int i) {
  auto m = std::make_shared<Message>();
  const std::string symbol = "SYM" + std::to_string(i % 5);
  m->topic = "marketdata.real_time.trade." + symbol;
  m->type = MessageType::kTrade;
  m->payload = nlohmann::json{{"symbol", symbol}, {"price", 100.0 + (i % 7) * 0.01}, {"size", 10}}.dump();
  return m;
}

}  // namespace

TEST_CASE("two daemons on two Redis servers (marketdata, engine): both listed, each message handled once per kind",
          "[e2e][cluster][redis]") {
  nautilus::testing::RedisServer marketdata_redis, engine_redis;
  const std::string engines = "[engines.risk]\n\n[engines.features]\ninput = \"trades\"\n";
  // Nobody dies here, so no quick reclaim: with claim_idle_ms at 1 s a
  // daemon slow with its batch (ASan, a loaded machine) has entries taken
  // over by the other, and both handle them. The default (30 s) keeps
  // "exactly once" a property of the layout, not of the machine's speed.
  constexpr int kDefaultClaimIdleMs = 30'000;
  DaemonProcess a(cluster_config(marketdata_redis.url(), engine_redis.url(), engines, kDefaultClaimIdleMs));
  DaemonProcess b(cluster_config(marketdata_redis.url(), engine_redis.url(), engines, kDefaultClaimIdleMs));

  // Each daemon announces itself on the engine bus's server; both list both.
  REQUIRE(eventually([&] { return daemons_listed(a) == 2 && daemons_listed(b) == 2; }));
  CHECK(cluster_of(b)["backend"] == "redis");
  REQUIRE(eventually([&] { return engine_running_everywhere({&a, &b}, {"risk", "features"}); }));

  auto router = Router::from_urls(marketdata_redis.url(), engine_redis.url());
  DecisionCounter decisions(*router);

  constexpr int kTrades = 1000;
  constexpr int kOrders = 1000;
  for (int i = 0; i < kTrades; ++i) {
    REQUIRE(router->publish(make_trade(i)).is_ok());
    REQUIRE(router->publish(make_order(i)).is_ok());
    if (i % 100 == 99) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(router->drain(std::chrono::seconds(30)));

  // Each bus's streams live on its own server only.
  CHECK(marketdata_redis.integer({"SCARD", "nautilus:marketdata:streams"}) > 0);
  CHECK(marketdata_redis.integer({"SCARD", "nautilus:engine:streams"}) == 0);
  CHECK(engine_redis.integer({"SCARD", "nautilus:engine:streams"}) > 0);
  CHECK(engine_redis.integer({"SCARD", "nautilus:marketdata:streams"}) == 0);

  // Every order decided, once: by one of the two risk instances.
  REQUIRE(decisions.wait_for(kOrders, std::chrono::seconds(60)));

  // Per kind, the instances together handle every message once. Counts can
  // only rise, so wait until they reach the total, then make sure they stop
  // there (a duplicate delivered late would show up as a higher sum).
  long long risk_a = 0, risk_b = 0, features_a = 0, features_b = 0;
  const auto count = [&] {
    const auto in_a = engines_of(a), in_b = engines_of(b);
    risk_a = messages_of(in_a, "risk");
    risk_b = messages_of(in_b, "risk");
    features_a = messages_of(in_a, "features");
    features_b = messages_of(in_b, "features");
  };
  REQUIRE(eventually([&] {
    count();
    return risk_a + risk_b >= kTrades + kOrders && features_a + features_b >= kTrades;
  }, std::chrono::seconds(60)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past a read's block_ms and an ACK round, many times over
  count();
  INFO("risk handled a " << risk_a << " + b " << risk_b << "; features a " << features_a << " + b " << features_b
                         << "; decisions " << decisions.total() << " for " << decisions.distinct() << " orders");
  CHECK(risk_a + risk_b == kTrades + kOrders);
  CHECK(features_a + features_b == kTrades);
  CHECK(decisions.distinct() == static_cast<std::size_t>(kOrders));
  CHECK(decisions.total() == static_cast<std::size_t>(kOrders));
  // The load is shared: each instance of each kind took part.
  CHECK(risk_a > 0);
  CHECK(risk_b > 0);
  CHECK(features_a > 0);
  CHECK(features_b > 0);
}

}  // namespace nautilus::test
