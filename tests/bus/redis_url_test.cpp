#include <catch2/catch.hpp>

#include <stdexcept>

#include "bus/redis_bus.h"
#include "bus/redis_layout.h"

using namespace nautilus;

TEST_CASE("redis URL: host, port, credentials, db and parameters", "[redis]") {
  RedisConfig c = parse_redis_url("redis://127.0.0.1:6380");
  CHECK(c.host == "127.0.0.1");
  CHECK(c.port == 6380);
  CHECK(c.user.empty());
  CHECK(c.password.empty());
  CHECK(c.db == 0);

  c = parse_redis_url("redis://alice:s%40cret@redis.internal:7000/3?maxlen=5000&batch=64&group=risk&shards=8");
  CHECK(c.user == "alice");
  CHECK(c.password == "s@cret");
  CHECK(c.host == "redis.internal");
  CHECK(c.port == 7000);
  CHECK(c.db == 3);
  CHECK(c.maxlen == 5000);
  CHECK(c.max_batch == 64);
  CHECK(c.group == "risk");
  CHECK(c.shards == 8);

  c = parse_redis_url("redis://:pw@localhost");
  CHECK(c.user.empty());
  CHECK(c.password == "pw");
  CHECK(c.port == 6379);

  c = parse_redis_url("redis://[::1]:6381/1");
  CHECK(c.host == "::1");
  CHECK(c.port == 6381);
  CHECK(c.db == 1);
}

TEST_CASE("redis URL: a cluster's seed nodes", "[redis][cluster]") {
  struct Case {
    const char* url;
    std::vector<std::pair<std::string, int>> seeds;
  };
  for (const Case& t : std::vector<Case>{
           {"redis+cluster://a:7001", {{"a", 7001}}},
           {"redis+cluster://a:7001,b:7002,c", {{"a", 7001}, {"b", 7002}, {"c", 6379}}},
           {"redis+cluster://:pw@[::1]:7001,10.0.0.2:7002?wait_replicas=1", {{"::1", 7001}, {"10.0.0.2", 7002}}},
       }) {
    INFO(t.url);
    RedisConfig c = parse_redis_url(t.url);
    CHECK(c.cluster);
    CHECK(c.seeds == t.seeds);
    CHECK(c.host == t.seeds.front().first);
    CHECK(c.port == t.seeds.front().second);
  }
  RedisConfig one = parse_redis_url("redis://h:6380?wait_replicas=2&wait_timeout_ms=50");
  CHECK_FALSE(one.cluster);
  CHECK(one.seeds == std::vector<std::pair<std::string, int>>{{"h", 6380}});
  CHECK(one.wait_replicas == 2);
  CHECK(one.wait_timeout_ms == 50);
}

TEST_CASE("redis URL: malformed URLs are refused with invalid_argument", "[redis]") {
  for (const char* bad : {"redis://", "redis://:6379", "redis://h:0", "redis://h:70000", "redis://h:12x",
                          "redis://h:1/x", "redis://h:1?nope=1", "redis://h:1?maxlen=", "redis://h:1?shards=0",
                          "redis://user@h:1", "redis://:@h:1", "http://h:1", "redis://h:1?batch",
                          "redis://a:1,b:2", "redis+cluster://", "redis+cluster://a:1,", "redis+cluster://a:1,,b:2",
                          "redis+cluster://a:1/0", "redis+cluster://a:1,b:x", "redis+cluster://a:1?wait_replicas=-1"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_redis_url(bad), std::invalid_argument);
  }
  CHECK_THROWS_AS(make_bus("redis://h:notaport"), std::invalid_argument);
}

TEST_CASE("redis reconnect delays double up to the cap", "[redis]") {
  RedisConfig c;
  c.backoff_ms = 100;
  c.backoff_max_ms = 5000;
  std::vector<int> got;
  for (int a = 1; a <= 9; ++a) got.push_back(reconnect_delay_ms(c, a));
  CHECK(got == std::vector<int>{100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000});
  CHECK(c.attempts == 10);
}

TEST_CASE("redis layout: keys by family, shard and lane", "[redis]") {
  RedisConfig c;
  CHECK(redis::topic_family("risk.alert.var_breach") == "risk");
  CHECK(redis::pattern_family("risk.alert.*") == std::optional<std::string>("risk"));
  CHECK(redis::pattern_family("heartbeat") == std::optional<std::string>("heartbeat"));
  CHECK_FALSE(redis::pattern_family("*.alert"));
  CHECK_FALSE(redis::pattern_family("ris?.alert"));
  CHECK_FALSE(redis::pattern_family("risk*"));
  std::string k = redis::stream_key_for_topic(c, "engine", "risk.alert.var_breach", true);
  int shard = redis::shard_of("risk.alert.var_breach", c.shards);
  CHECK(k == "nautilus:engine:{risk." + std::to_string(shard) + "}:high");
  CHECK(redis::family_of_key(k) == std::optional<std::string>("risk"));
  CHECK(redis::is_high_key(k));
  CHECK(redis::dead_letter_key(c, "engine") == "nautilus:engine:dead");
  CHECK(redis::registry_key(c, "marketdata") == "nautilus:marketdata:streams");
}
