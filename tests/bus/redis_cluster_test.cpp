// The Redis backend on a real Redis Cluster (redis+cluster://): keys routed by
// hash slot (checked against Redis's own CLUSTER KEYSLOT), streams spread over
// every master, fan-out to every group and load shared inside one, MOVED
// followed after a slot moves, and a replica taking over a master (graceful
// CLUSTER FAILOVER and kill -9) while a publisher keeps going, with writes
// confirmed by a replica (wait_replicas).
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "bus/redis_bus.h"
#include "bus/redis_layout.h"
#include "bus/redis_nodes.h"
#include "core/message.h"
#include "redis_cluster_fixture.h"

namespace nautilus {
namespace {

using testing::RedisCluster;
using testing::RedisServer;
using testing::wait_until;

BusOptions engine_bus() {
  BusOptions o;
  o.name = "engine";
  return o;
}

SubscribeOptions in_group(std::string group) {
  SubscribeOptions o;
  o.group = std::move(group);
  return o;
}

// What a subscriber got, by payload ({"p":"<topic>#<n>"}).
struct Received {
  std::mutex mu;
  std::multiset<std::string> payloads;
  void add(const MessagePtr& m) {
    std::lock_guard lock(mu);
    payloads.insert(m->payload);
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return payloads.size();
  }
  std::size_t distinct() {
    std::lock_guard lock(mu);
    return std::set<std::string>(payloads.begin(), payloads.end()).size();
  }
  bool has(const std::string& p) {
    std::lock_guard lock(mu);
    return payloads.count(p) > 0;
  }
};

std::string payload_of(const std::string& topic, int i) { return "{\"p\":\"" + topic + "#" + std::to_string(i) + "\"}"; }

std::vector<std::string> topics(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("orders.sym" + std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("redis cluster: key_slot equals the server's CLUSTER KEYSLOT", "[redis][cluster]") {
  RedisServer server({"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                      "--cluster-port", std::to_string(testing::free_loopback_port())});
  RedisConfig c;
  std::vector<std::string> keys = {"", "a", "foo", "{user1000}.following", "{}x", "x{}y", "{a}{b}", "ab{c",
                                   "nautilus:engine:streams", "nautilus:engine:dead"};
  for (int s = 0; s < 8; ++s) {
    keys.push_back(redis::stream_key(c, "engine", "orders", s, true));
    keys.push_back(redis::stream_key(c, "marketdata", "marketdata", s, false));
  }
  for (const auto& k : keys) {
    INFO(k);
    CHECK(redis::key_slot(k) == server.integer({"CLUSTER", "KEYSLOT", k}));
  }
}

TEST_CASE("redis cluster: redirects parsed", "[redis][cluster]") {
  redisReply moved{};
  moved.type = REDIS_REPLY_ERROR;
  std::string text = "MOVED 3999 127.0.0.1:6381";
  moved.str = text.data();
  moved.len = text.size();
  auto r = redis::parse_redirect(&moved);
  REQUIRE(r);
  CHECK(r->moved);
  CHECK(r->slot == 3999);
  CHECK(r->host == "127.0.0.1");
  CHECK(r->port == 6381);
  std::string ask = "ASK 1 [::1]:7000";
  moved.str = ask.data();
  moved.len = ask.size();
  r = redis::parse_redirect(&moved);
  REQUIRE(r);
  CHECK_FALSE(r->moved);
  CHECK(r->host == "[::1]");
  for (std::string bad : {"MOVED", "MOVED x 1.2.3.4:5", "MOVED 1 host", "MOVED 99999 h:1", "ERR MOVED 1 h:1", "ASK 1 h:0"}) {
    moved.str = bad.data();
    moved.len = bad.size();
    CHECK_FALSE(redis::parse_redirect(&moved));
  }
}

TEST_CASE("redis cluster: fan-out to every group, load shared in one, streams on every master", "[redis][cluster]") {
  RedisCluster cluster(3, 0);
  auto bus = make_bus(cluster.url("shards=8&block_ms=20"), engine_bus());
  Received audit, worker_a, worker_b;
  auto s_audit = bus->subscribe("orders.*", [&](const MessagePtr& m) { audit.add(m); }, in_group("audit"));
  auto s_a = bus->subscribe("orders.*", [&](const MessagePtr& m) { worker_a.add(m); }, in_group("workers"));
  auto s_b = bus->subscribe("orders.*", [&](const MessagePtr& m) { worker_b.add(m); }, in_group("workers"));
  constexpr int kPerTopic = 50;
  const auto names = topics(16);
  for (int i = 0; i < kPerTopic; ++i) {
    for (const auto& t : names) {
      REQUIRE(bus->publish(make_message(t, MessageType::kOrder, payload_of(t, i))).is_ok());
    }
  }
  REQUIRE(bus->drain(std::chrono::seconds(30)));
  const std::size_t total = kPerTopic * names.size();
  REQUIRE(wait_until([&] { return audit.size() >= total && worker_a.size() + worker_b.size() >= total; }));
  CHECK(audit.size() == total);
  CHECK(audit.distinct() == total);
  // Each message handled by exactly one consumer of the group.
  CHECK(worker_a.size() + worker_b.size() == total);
  Received both;
  for (auto* w : {&worker_a, &worker_b}) {
    std::lock_guard lock(w->mu);
    for (const auto& p : w->payloads) both.payloads.insert(p);
  }
  CHECK(both.distinct() == total);
  // The 16 shards' streams land on all three masters.
  for (RedisServer* m : cluster.masters()) CHECK(RedisCluster::keys_on(*m, "nautilus:engine:{orders.*") > 0);
  BusStats st = bus->stats();
  CHECK(st.state == "CONNECTED");
  CHECK(st.decode_errors == 0);
}

TEST_CASE("redis cluster: a replica promoted under steady publishing loses nothing acknowledged", "[redis][cluster][failover]") {
  RedisCluster cluster(3, 1);
  // wait_replicas=1: a write counts once a replica has it, so the master's
  // death cannot take an entry the writer already let go of.
  auto bus = make_bus(cluster.url("shards=4&block_ms=20&claim_idle_ms=2000&backoff_ms=20&backoff_max_ms=200&"
                                  "wait_replicas=1&wait_timeout_ms=300"),
                      engine_bus());
  Received got;
  auto sub = bus->subscribe("orders.*", [&](const MessagePtr& m) { got.add(m); }, in_group("risk"));
  const auto names = topics(8);
  std::atomic<bool> run{true};
  std::atomic<int> accepted{0};
  std::vector<std::string> sent;
  std::mutex sent_mu;
  std::thread publisher([&] {
    for (int i = 0; run.load(); ++i) {
      const std::string& t = names[static_cast<std::size_t>(i) % names.size()];
      std::string payload = payload_of(t, i);
      if (bus->publish(make_message(t, MessageType::kOrder, payload)).is_ok()) {
        std::lock_guard lock(sent_mu);
        sent.push_back(std::move(payload));
        ++accepted;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  // Stops the publisher however the test ends.
  struct Join {
    std::atomic<bool>& run;
    std::thread& t;
    ~Join() {
      run = false;
      if (t.joinable()) t.join();
    }
  } join{run, publisher};
  REQUIRE(wait_until([&] { return got.size() > 200; }));

  SECTION("graceful: CLUSTER FAILOVER on a replica") {
    RedisServer* master = cluster.masters().front();
    RedisServer* replica = cluster.replica_of(*master);
    REQUIRE(replica);
    CHECK(replica->cli("cluster failover").find("OK") != std::string::npos);
    REQUIRE(wait_until([&] { return RedisCluster::role(*replica) == "master" && cluster.healthy(); },
                       std::chrono::seconds(30)));
  }
  SECTION("kill -9 of a master") {
    RedisServer* master = cluster.masters().front();
    RedisServer* replica = cluster.replica_of(*master);
    REQUIRE(replica);
    master->kill();
    REQUIRE(wait_until([&] { return RedisCluster::role(*replica) == "master" && cluster.healthy(); },
                       std::chrono::seconds(30)));
    // Back as the new master's replica (its nodes.conf says so): writes to
    // those slots are confirmed again.
    master->start();
    REQUIRE(wait_until([&] { return RedisCluster::role(*master) == "slave" && cluster.healthy(); },
                       std::chrono::seconds(30)));
  }
  // Publishing goes on through the new master, then stops.
  const int at_failover = accepted.load();
  REQUIRE(wait_until([&] { return accepted.load() > at_failover + 500; }, std::chrono::seconds(30)));
  run = false;
  publisher.join();
  REQUIRE(bus->drain(std::chrono::seconds(30)));
  std::vector<std::string> expected;
  {
    std::lock_guard lock(sent_mu);
    expected = sent;
  }
  // Every accepted message is delivered; duplicates (a resend whose first
  // XADD had landed) are dropped by id.
  auto all_there = [&] {
    for (const auto& p : expected) {
      if (!got.has(p)) return false;
    }
    return true;
  };
  REQUIRE(wait_until(all_there, std::chrono::seconds(30)));
  CHECK(got.distinct() == expected.size());
  CHECK(got.size() == expected.size());
  CHECK(bus->stats().state == "CONNECTED");
}

TEST_CASE("redis cluster: a slot moved to another master under publishing (ASK, then MOVED)", "[redis][cluster]") {
  RedisCluster cluster(3, 0);
  auto bus = make_bus(cluster.url("shards=2&block_ms=20"), engine_bus());
  Received got;
  auto sub = bus->subscribe("orders.*", [&](const MessagePtr& m) { got.add(m); }, in_group("risk"));
  const auto names = topics(6);
  int sent = 0;
  auto publish_some = [&](int n) {
    for (int i = 0; i < n; ++i, ++sent) {
      const std::string& t = names[static_cast<std::size_t>(sent) % names.size()];
      REQUIRE(bus->publish(make_message(t, MessageType::kOrder, payload_of(t, sent))).is_ok());
    }
  };
  publish_some(300);
  REQUIRE(bus->drain(std::chrono::seconds(30)));
  // The slot of shard 0's normal lane, from its master to another.
  RedisConfig c;
  const std::string key = redis::stream_key(c, "engine", "orders", 0, false);
  const long long slot = redis::key_slot(key);
  RedisServer* from = nullptr;
  RedisServer* to = nullptr;
  for (RedisServer* m : cluster.masters()) {
    if (RedisCluster::keys_on(*m, key) == 1) from = m;
  }
  REQUIRE(from);
  for (RedisServer* m : cluster.masters()) {
    if (m != from) to = m;
  }
  const std::string s = std::to_string(slot);
  REQUIRE(std::string(to->command({"CLUSTER", "SETSLOT", s, "IMPORTING", RedisCluster::node_id(*from)})->str) == "OK");
  REQUIRE(std::string(from->command({"CLUSTER", "SETSLOT", s, "MIGRATING", RedisCluster::node_id(*to)})->str) == "OK");
  publish_some(200);  // the keys are still on `from`: served there
  testing::Reply keys = from->command({"CLUSTER", "GETKEYSINSLOT", s, "100"});
  REQUIRE(keys->type == REDIS_REPLY_ARRAY);
  for (std::size_t i = 0; i < keys->elements; ++i) {
    testing::Reply r = from->command({"MIGRATE", "127.0.0.1", std::to_string(to->port()), keys->element[i]->str, "0", "5000"});
    REQUIRE(r->type == REDIS_REPLY_STATUS);
  }
  publish_some(200);  // the keys are on `to` now, the slot not yet: ASK
  for (RedisServer* m : cluster.masters()) {
    m->command({"CLUSTER", "SETSLOT", s, "NODE", RedisCluster::node_id(*to)});
  }
  publish_some(300);  // the slot is `to`'s: MOVED, then the new map
  REQUIRE(bus->drain(std::chrono::seconds(30)));
  REQUIRE(wait_until([&] { return got.distinct() == static_cast<std::size_t>(sent); }, std::chrono::seconds(30)));
  CHECK(got.size() == static_cast<std::size_t>(sent));
  CHECK(RedisCluster::keys_on(*to, key) == 1);
  CHECK(RedisCluster::keys_on(*from, key) == 0);
}

}  // namespace nautilus
