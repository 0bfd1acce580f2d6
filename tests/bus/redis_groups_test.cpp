// Consumer groups seen from outside (the group monitor, redis_monitor.h): lag
// and pending per group, entries trimmed before a group read them counted as
// lost (published = delivered + lost, checked against what the subscriber
// really got), and age-based retention (max_age_ms: XTRIM MINID).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "bus/redis_bus.h"
#include "bus/redis_layout.h"
#include "core/message.h"
#include "redis_fixture.h"

namespace nautilus {
namespace {

using testing::RedisServer;
using testing::wait_until;

std::optional<GroupStats> group_of(const Bus& bus, const std::string& name) {
  for (const auto& g : bus.stats().groups) {
    if (g.group == name) return g;
  }
  return std::nullopt;
}

SubscribeOptions polled(std::string group, std::size_t capacity) {
  SubscribeOptions o;
  o.group = std::move(group);
  o.mode = DeliveryMode::kPolled;
  o.queue_capacity = capacity;
  return o;
}

BusOptions engine_bus() {
  BusOptions o;
  o.name = "engine";
  return o;
}

void publish_n(Bus& bus, int n) {
  for (int i = 0; i < n; ++i) {
    REQUIRE(bus.publish(make_message("audit.x", MessageType::kSystemHealth, "{\"i\":" + std::to_string(i) + "}"))
                .is_ok());
  }
  REQUIRE(bus.drain(std::chrono::seconds(10)));
}

}  // namespace

TEST_CASE("redis groups: lag and pending of a slow group, then caught up", "[redis][groups]") {
  RedisServer server;
  auto bus = make_bus(server.url("monitor_ms=20"), engine_bus());
  std::atomic<int> got{0};
  auto sub = bus->subscribe("audit.x", [&](const MessagePtr&) { ++got; }, polled("slow", 10));
  publish_n(*bus, 500);
  // The reader holds up to 10 entries it has read and not handed out (pending);
  // the rest wait in the stream (lag).
  REQUIRE(wait_until([&] {
    auto g = group_of(*bus, "slow");
    return g && g->pending == 10 && g->lag == 490;
  }));
  CHECK(group_of(*bus, "slow")->lost == 0);
  CHECK(group_of(*bus, "slow")->consumers == 1);
  REQUIRE(wait_until([&] {
    sub->poll(1000);
    auto g = group_of(*bus, "slow");
    return got.load() == 500 && g && g->pending == 0 && g->lag == 0;
  }));
  CHECK(group_of(*bus, "slow")->lost == 0);
}

TEST_CASE("redis groups: entries trimmed before a slow group read them are counted lost", "[redis][groups]") {
  // One entry per stream node, so MAXLEN ~ trims close to exactly.
  RedisServer server({"--stream-node-max-entries", "1"});
  auto bus = make_bus(server.url("monitor_ms=20&maxlen=100"), engine_bus());
  std::atomic<int> got{0};
  auto sub = bus->subscribe("audit.x", [&](const MessagePtr&) { ++got; }, polled("behind", 1));
  constexpr int kN = 1000;
  publish_n(*bus, kN);
  // The group fell behind past the retention window (its reader holds one
  // entry and waits for poll()): the monitor counts the loss while it is
  // behind the stream's head.
  const std::string key = redis::stream_key_for_topic(RedisConfig{}, "engine", "audit.x", false);
  REQUIRE(wait_until([&] {
    auto g = group_of(*bus, "behind");
    const long long held = server.integer({"XLEN", key});  // what is left to read: the rest was trimmed
    return g && g->lag == kN - 1 && g->lost == static_cast<std::uint64_t>(kN - 1 - held);
  }));
  // Whatever it can still read, it reads; the rest was trimmed and shows as lost.
  int quiet = 0;
  while (quiet < 200) {
    quiet = sub->poll(1000) == 0 ? quiet + 1 : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const int delivered = got.load();
  INFO("delivered " << delivered << " of " << kN);
  REQUIRE(delivered < kN);
  // Caught up: nothing waits (lag 0); what was trimmed was counted while it
  // was behind.
  REQUIRE(wait_until([&] {
    auto g = group_of(*bus, "behind");
    return g && g->lag == 0 && g->lost == static_cast<std::uint64_t>(kN - delivered);
  }));
  CHECK(group_of(*bus, "behind")->pending == 0);
}

TEST_CASE("redis groups: max_age_ms trims streams by age beside maxlen", "[redis][groups]") {
  RedisServer server({"--stream-node-max-entries", "1"});
  auto bus = make_bus(server.url("monitor_ms=20&max_age_ms=300"), engine_bus());
  publish_n(*bus, 50);
  auto xlen = [&] { return server.integer({"XLEN", redis::stream_key(RedisConfig{}, "engine", "audit", redis::shard_of("audit.x", 4), false)}); };
  CHECK(xlen() == 50);
  // Wall clock: the entries age past 300 ms and the monitor's XTRIM MINID ~
  // removes them (bounded wait, not a timing assertion).
  REQUIRE(wait_until([&] { return xlen() <= 1; }));
}

}  // namespace nautilus
