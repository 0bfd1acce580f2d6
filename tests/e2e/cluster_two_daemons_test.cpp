// Two nautilusd on one Redis share the risk engine's load: both announce
// themselves (`nautilus cluster status` on either lists both), each order is
// decided by one of them, and after `kill -9` of one mid-flood the survivor
// reclaims what the dead one held pending, so every order gets a decision
// (duplicates counted, bounded by what the dead one had in hand).
#include <catch2/catch.hpp>

#include <signal.h>

#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "bus/redis_fixture.h"
#include "bus/router.h"
#include "support/daemon_process.h"

namespace nautilus::test {
namespace {

std::string two_daemon_config(const std::string& url) {
  // Reclaim after 1 s idle instead of 30 s, so the test waits briefly.
  const std::string u = url + "?claim_idle_ms=1000";
  return "[bus]\nmarketdata = \"" + u + "\"\nengine = \"" + u + "\"\n\n[engines.risk]\n";
}

nlohmann::json cluster_of(const DaemonProcess& d) {
  auto r = d.cli("--json cluster status");
  if (r.rc != 0) return nlohmann::json::object();
  return nlohmann::json::parse(r.out, nullptr, false);
}

std::size_t daemons_listed(const DaemonProcess& d) {
  auto j = cluster_of(d);
  return j.is_object() && j.contains("daemons") ? j["daemons"].size() : 0;
}

}  // namespace

TEST_CASE("two daemons on one Redis: both listed, load shared, kill -9 loses no order", "[e2e][cluster][redis]") {
  nautilus::testing::RedisServer redis;
  DaemonProcess a(two_daemon_config(redis.url()));
  DaemonProcess b(two_daemon_config(redis.url()));

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
  REQUIRE(eventually([&] {
    auto ra = a.cli("--json engine status risk"), rb = b.cli("--json engine status risk");
    return ra.rc == 0 && rb.rc == 0 && ra.out.find("RUNNING") != std::string::npos &&
           rb.out.find("RUNNING") != std::string::npos;
  }));

  auto router = Router::from_urls(redis.url(), redis.url());
  std::mutex mu;
  std::map<std::string, int> decided;  // order id -> decisions seen
  SubscribeOptions observer;
  observer.group = "test-observer";
  auto sub = router->subscribe(BusKind::kEngine, "risk.decision.*", [&](const MessagePtr& m) {
    auto j = nlohmann::json::parse(m->payload, nullptr, false);
    if (!j.is_object()) return;
    std::lock_guard lock(mu);
    ++decided[j.value("order_id", std::string())];
  }, observer);

  constexpr int kOrders = 3000;
  for (int i = 0; i < kOrders; ++i) {
    auto m = std::make_shared<Message>();
    m->topic = "strategy.order.SYM" + std::to_string(i % 5);
    m->type = MessageType::kOrder;
    m->priority = Priority::kHigh;
    m->payload = nlohmann::json{{"id", "o-" + std::to_string(i)}, {"symbol", "SYM" + std::to_string(i % 5)},
                                {"quantity", 1}, {"side", "buy"}}.dump();
    REQUIRE(router->publish(m).is_ok());
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
  const bool all = eventually([&] {
    std::lock_guard lock(mu);
    return decided.size() >= static_cast<std::size_t>(kOrders);
  }, std::chrono::seconds(60));
  std::size_t distinct = 0, total = 0;
  {
    std::lock_guard lock(mu);
    distinct = decided.size();
    for (const auto& [id, n] : decided) total += static_cast<std::size_t>(n);
  }
  INFO("distinct orders decided " << distinct << " of " << kOrders << ", decisions " << total);
  REQUIRE(all);
  CHECK(distinct == static_cast<std::size_t>(kOrders));
  // Duplicates are what the dead daemon had decided but not yet ACKed: a
  // batch at most, never a second copy of the whole flood.
  CHECK(total - distinct < static_cast<std::size_t>(kOrders) / 2);

  // The survivor shows risk's consumer group for orders on `top` (as on
  // /api/v1/stats and /metrics), caught up: nothing pending, no lag, no loss.
  CHECK(eventually([&] {
    auto r = b.cli("--json top --once --interval 1");
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (r.rc != 0 || !j.is_object() || !j.contains("consumer_groups")) return false;
    for (const auto& g : j["consumer_groups"]) {
      if (g.value("group", "") == "risk:strategy.order.*") {
        return g.value("pending", -1) == 0 && g.value("lag", -1) == 0 && g.value("lost", -1) == 0;
      }
    }
    return false;
  }, std::chrono::seconds(30)));

  // The dead daemon drops out of the list when its key expires.
  CHECK(eventually([&] { return daemons_listed(b) == 1; }, std::chrono::seconds(30)));
  sub->cancel();
}

}  // namespace nautilus::test
