// Two nautilusd on one Redis share the risk engine's load: both announce
// themselves (`nautilus cluster status` on either lists both), each order is
// decided by one of them, and after `kill -9` of one mid-flood the survivor
// reclaims what the dead one held pending, so every order gets a decision
// (duplicates counted, bounded by what the dead one had in hand).
#include <catch2/catch.hpp>

#include <signal.h>

#include "bus/redis_fixture.h"
#include "e2e/cluster_support.h"

namespace nautilus::test {

TEST_CASE("two daemons on one Redis: both listed, load shared, kill -9 loses no order", "[e2e][cluster][redis]") {
  nautilus::testing::RedisServer redis;
  DaemonProcess a(cluster_config(redis.url(), redis.url()));
  DaemonProcess b(cluster_config(redis.url(), redis.url()));

  // Each lists both, and says which one it is.
  REQUIRE(eventually([&] { return daemons_listed(a) == 2 && daemons_listed(b) == 2; }));
  auto listed = cluster_of(a);
  CHECK(listed["backend"] == "redis");
  int selves = 0;
  for (const auto& d : listed["daemons"]) {
    selves += d.value("self", false) ? 1 : 0;
    bool has_risk = false;
    for (const auto& e : d["engines"]) has_risk = has_risk || e.value("kind", "") == "risk";
    CHECK(has_risk);
    CHECK(d.contains("host"));
    CHECK(d.contains("last_seen_ns"));
  }
  CHECK(selves == 1);
  auto table = a.cli("cluster status");
  REQUIRE(table.rc == 0);
  CHECK(table.out.find("2 daemons on this Redis") != std::string::npos);

  // Wait until both risk engines run (their groups exist) before the flood.
  REQUIRE(eventually([&] { return engine_running_everywhere({&a, &b}); }));

  auto router = Router::from_urls(redis.url(), redis.url());
  DecisionCounter decisions(*router);

  constexpr int kOrders = 3000;
  for (int i = 0; i < kOrders; ++i) {
    REQUIRE(router->publish(make_order(i)).is_ok());
    if (i == kOrders / 3) {
      // Mid-flood: the first daemon dies without a word.
      ::kill(a.proc.pid, SIGKILL);
      a.proc.wait();
    }
    if (i % 100 == 99) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // ~5,000 orders/s
  }
  REQUIRE(router->drain(std::chrono::seconds(30)));

  // Every order decided at least once: the survivor took over the dead one's
  // pending entries after claim_idle_ms.
  const bool all = decisions.wait_for(kOrders, std::chrono::seconds(60));
  const std::size_t distinct = decisions.distinct(), total = decisions.total();
  INFO("distinct orders decided " << distinct << " of " << kOrders << ", decisions " << total);
  REQUIRE(all);
  CHECK(distinct == static_cast<std::size_t>(kOrders));
  // Duplicates are what the dead daemon had decided but not yet ACKed: a
  // batch at most, never a second copy of the whole flood.
  CHECK(total - distinct < static_cast<std::size_t>(kOrders) / 2);

  // The survivor shows risk's consumer group for orders on `top` (as on
  // /api/v1/stats and /metrics), caught up: nothing pending, no lag, no loss.
  nlohmann::json orders_group;
  const bool caught = eventually([&] {
    orders_group = consumer_group(b, "risk:strategy.order.*");
    return caught_up(orders_group);
  }, std::chrono::seconds(30));
  INFO("risk's group on orders: " << orders_group.dump());
  CHECK(caught);

  // The dead daemon drops out of the list when its key expires.
  CHECK(eventually([&] { return daemons_listed(b) == 1; }, std::chrono::seconds(30)));
}

}  // namespace nautilus::test
