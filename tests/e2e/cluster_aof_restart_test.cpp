// Redis restarted under a flood while two real nautilusd share the risk
// engine: the server runs with AOF and fsync on every write (appendonly yes,
// appendfsync always, the fixture's settings), goes down mid-flood (SIGTERM,
// or kill -9 with no chance to flush anything) and comes back on the same
// port and directory. Every order the publisher had acknowledged (publish()
// returned ok and drain() saw Redis confirm it) is decided afterwards:
// nothing lost; duplicates (a write resent because its reply was lost, an
// entry handled but not yet ACKed) counted and bounded. Both daemons ride out
// the outage and are listed again.
#include <catch2/catch.hpp>

#include <signal.h>

#include "bus/redis_fixture.h"
#include "e2e/cluster_support.h"

namespace nautilus::test {
namespace {

// What a daemon can hold that Redis does not know is done, so what can be
// handled or written twice: reads of kReadCount entries per stream (the
// orders' five topics fall on at most kShards streams) and a write batch of
// kBatch. Small, so that the bound on duplicates says something.
constexpr int kReadCount = 50;
constexpr int kBatch = 50;
constexpr int kShards = 4;  // the URL's default `shards`

void flood_through_restart(int signal) {
  nautilus::testing::RedisServer redis;
  const std::string url = redis.url("count=" + std::to_string(kReadCount) + "&batch=" + std::to_string(kBatch));
  DaemonProcess a(cluster_config(url, url));
  DaemonProcess b(cluster_config(url, url));
  REQUIRE(eventually([&] { return daemons_listed(a) == 2 && daemons_listed(b) == 2; }));
  // Both risk engines run (their groups exist) before the first order.
  REQUIRE(eventually([&] { return engine_running_everywhere({&a, &b}); }));

  auto router = Router::from_urls(url, url);
  DecisionCounter decisions(*router);

  constexpr int kOrders = 3000;
  constexpr int kDownAt = 1000;  // Redis goes down after this order...
  constexpr int kUpAt = 1500;    // ...and is back after this one: 500 orders published into the outage
  for (int i = 0; i < kOrders; ++i) {
    // During the outage the publisher holds orders (up to its buffer bound)
    // and sends them once Redis is back: publish() still says ok.
    REQUIRE(router->publish(make_order(i)).is_ok());
    if (i == kDownAt) {
      if (signal == SIGKILL) redis.kill();
      else redis.stop();
    }
    if (i == kUpAt) redis.start();  // same port, same dir: the AOF brings streams, groups and PELs back
    if (i % 100 == 99) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // ~5,000 orders/s
  }
  // Acknowledged: every order is confirmed by Redis (written to its AOF).
  REQUIRE(router->drain(std::chrono::seconds(30)));

  const bool all = decisions.wait_for(kOrders, std::chrono::seconds(60));
  const std::size_t distinct = decisions.distinct(), total = decisions.total();
  INFO("distinct orders decided " << distinct << " of " << kOrders << " (missing " << decisions.missing(kOrders)
                                  << "), decisions " << total << ", duplicates " << total - distinct);
  REQUIRE(all);
  CHECK(distinct == static_cast<std::size_t>(kOrders));
  CHECK(decisions.missing(kOrders) == 0);
  // Duplicates come from what was in flight when Redis went down: orders a
  // daemon had read (and maybe decided) but not yet ACKed, reclaimed and
  // decided again; decisions and orders whose write was resent because its
  // reply was lost. Bounded by what two daemons and the test's publisher
  // hold at once, never a replay of the flood.
  constexpr std::size_t kInFlight = 2 * (kShards * kReadCount + kBatch) + kBatch;
  CHECK(total - distinct <= kInFlight);

  // Neither daemon died of the outage, both are still listed, and the load
  // was shared: each handled orders.
  CHECK_FALSE(a.proc.exited());
  CHECK_FALSE(b.proc.exited());
  CHECK(eventually([&] { return daemons_listed(a) == 2 && daemons_listed(b) == 2; }));
  const long long handled_a = engine_messages(a, "risk"), handled_b = engine_messages(b, "risk");
  INFO("orders handled by a " << handled_a << ", by b " << handled_b);
  CHECK(handled_a > 0);
  CHECK(handled_b > 0);
  CHECK(handled_a + handled_b >= kOrders);
  // And nothing is left dangling in risk's group: every entry ACKed, no lag,
  // nothing reported lost (Redis rebuilds a group's entries-read from the AOF
  // without the reads' share, so its own lag after a reload counts the whole
  // stream; the monitor does not take that for a loss).
  nlohmann::json orders_group;
  const bool settled = eventually([&] {
    orders_group = consumer_group(a, "risk:strategy.order.*");
    return orders_group.is_object() && orders_group.value("pending", -1) == 0 && orders_group.value("lag", -1) == 0 &&
           orders_group.value("lost", -1) == 0;
  }, std::chrono::seconds(30));
  INFO("risk's group on orders: " << orders_group.dump());
  CHECK(settled);
}

}  // namespace

TEST_CASE("Redis killed (-9) with AOF under a flood from two daemons: nothing acknowledged lost",
          "[e2e][cluster][redis]") {
  flood_through_restart(SIGKILL);
}

TEST_CASE("Redis stopped (SIGTERM) with AOF under a flood from two daemons: nothing acknowledged lost",
          "[e2e][cluster][redis]") {
  flood_through_restart(SIGTERM);
}

}  // namespace nautilus::test
