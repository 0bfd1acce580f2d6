// The Redis layout against literal key names (docs/redis-layout.md), and the
// retention and delivery rules that only show on a real server: duplicate
// suppression by message id, where a new group starts reading, MAXLEN ~ on
// message and dead-letter streams, and a BUSY server that is waited out.
// Every key here is written out by hand: FNV-1a-32 of the topic, mod shards.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "redis_fixture.h"

using namespace nautilus;
using nautilus::testing::Reply;
using nautilus::testing::RedisServer;
using nautilus::testing::wait_until;

namespace {

struct Inbox {
  mutable std::mutex mu;
  std::vector<MessagePtr> msgs;
  std::atomic<std::size_t> count{0};
  Handler handler() {
    return [this](const MessagePtr& m) {
      std::lock_guard lock(mu);
      msgs.push_back(m);
      count.fetch_add(1);
    };
  }
  std::vector<MessagePtr> snapshot() const {
    std::lock_guard lock(mu);
    return msgs;
  }
};

BusOptions named(std::string name) {
  BusOptions o;
  o.name = std::move(name);
  return o;
}

SubscribeOptions in_group(std::string group) {
  SubscribeOptions o;
  o.group = std::move(group);
  return o;
}

std::shared_ptr<Message> msg(std::string topic, std::string payload = "{}", Priority p = Priority::kNormal) {
  return make_message(std::move(topic), MessageType::kRiskAlert, std::move(payload), p, "test");
}

std::string seq_payload(int i) { return "{\"seq\":" + std::to_string(i) + "}"; }

}  // namespace

TEST_CASE("redis layout: the documented stream, registry and dead-letter keys", "[redis][layout]") {
  RedisServer server;
  struct Case {
    const char* query;
    const char* bus;
    const char* topic;
    Priority priority;
    const char* stream;    // the literal key the entry must land in
    const char* registry;
  };
  const Case cases[] = {
      // The two examples of docs/redis-layout.md ("Keys").
      {"", "engine", "risk.alert.var_breach", Priority::kUrgent, "nautilus:engine:{risk.3}:high", "nautilus:engine:streams"},
      {"", "marketdata", "marketdata.real_time.quote.AAPL", Priority::kNormal,
       "nautilus:marketdata:{marketdata.3}:normal", "nautilus:marketdata:streams"},
      {"", "marketdata", "marketdata.real_time.trade.AAPL", Priority::kLow,
       "nautilus:marketdata:{marketdata.1}:normal", "nautilus:marketdata:streams"},
      {"", "engine", "vpin.toxicity.AAPL", Priority::kHigh, "nautilus:engine:{vpin.1}:high", "nautilus:engine:streams"},
      {"", "engine", "jobs.run", Priority::kFlashCrash, "nautilus:engine:{jobs.2}:high", "nautilus:engine:streams"},
      // Another prefix and shard count.
      {"prefix=desk&shards=8", "engine", "risk.alert.var_breach", Priority::kUrgent, "desk:engine:{risk.7}:high",
       "desk:engine:streams"},
      {"prefix=desk&shards=8", "engine", "vpin.toxicity.AAPL", Priority::kNormal, "desk:engine:{vpin.5}:normal",
       "desk:engine:streams"},
      {"shards=1", "engine", "risk.alert.var_breach", Priority::kNormal, "nautilus:engine:{risk.0}:normal",
       "nautilus:engine:streams"},
  };
  for (const Case& c : cases) {
    INFO(c.query << " " << c.bus << " " << c.topic);
    auto bus = make_bus(server.url(c.query), named(c.bus));
    long long before = server.integer({"XLEN", c.stream});
    auto m = msg(c.topic, "{}", c.priority);
    REQUIRE(bus->publish(m).is_ok());
    REQUIRE(wait_until([&] { return server.integer({"XLEN", c.stream}) == before + 1; }));
    CHECK(server.integer({"SISMEMBER", c.registry, c.stream}) == 1);
    std::string last = server.cli(std::string("XREVRANGE '") + c.stream + "' + - COUNT 1");
    CHECK(last.find(m->id.to_string()) != std::string::npos);
  }
  // Nothing else was written: the keys are exactly those above.
  std::set<std::string> keys;
  std::istringstream scan(server.cli("--scan"));
  for (std::string line; std::getline(scan, line);) keys.insert(line);
  std::set<std::string> expected;
  for (const Case& c : cases) {
    expected.insert(c.stream);
    expected.insert(c.registry);
  }
  CHECK(keys == expected);
}

TEST_CASE("redis layout: an entry whose message id was already delivered is dropped", "[redis][layout]") {
  RedisServer server;
  auto bus = make_bus(server.url(), named("engine"));
  Inbox inbox;
  auto sub = bus->subscribe("dup.*", inbox.handler(), in_group("g"));
  const std::string stream = "nautilus:engine:{dup.0}:normal";
  auto first = msg("dup.x", seq_payload(1));
  REQUIRE(bus->publish(first).is_ok());
  REQUIRE(wait_until([&] { return inbox.count.load() == 1; }));

  // A writer that resends (a publisher retrying after a lost reply) adds the
  // same envelope again; a new id from the same writer is a new message.
  auto xadd = [&](const std::string& id, const std::string& payload) {
    server.command({"XADD", stream, "*", "topic", "dup.x", "type", "risk_alert", "priority", "normal", "id", id,
                    "timestamp_ns", "1", "payload", payload});
  };
  xadd("00000000000000010000000000000001", seq_payload(2));
  REQUIRE(wait_until([&] { return inbox.count.load() == 2; }));
  xadd(first->id.to_string(), seq_payload(1));
  auto last = msg("dup.x", seq_payload(3));
  REQUIRE(bus->publish(last).is_ok());
  REQUIRE(wait_until([&] { return inbox.count.load() >= 3; }));
  REQUIRE(bus->drain(std::chrono::seconds(10)));
  auto got = inbox.snapshot();
  REQUIRE(got.size() == 3);
  CHECK(got[0]->id == first->id);
  CHECK(got[1]->id.to_string() == "00000000000000010000000000000001");
  CHECK(got[2]->id == last->id);
  CHECK(server.integer({"XLEN", stream}) == 4);  // the duplicate is in the stream, just not delivered
  // ... and it was ACKed: nothing stays pending for the group.
  Reply pending = server.command({"XPENDING", stream, "g"});
  REQUIRE(pending->type == REDIS_REPLY_ARRAY);
  CHECK(pending->element[0]->integer == 0);
}

TEST_CASE("redis layout: a new group starts at subscribe time, not at the stream's start", "[redis][layout]") {
  RedisServer server;
  auto bus = make_bus(server.url(), named("engine"));
  const std::string stream = "nautilus:engine:{late.3}:normal";
  for (int i = 0; i < 5; ++i) REQUIRE(bus->publish(msg("late.x", seq_payload(i))).is_ok());
  REQUIRE(wait_until([&] { return server.integer({"XLEN", stream}) == 5; }));
  Inbox inbox;
  auto sub = bus->subscribe("late.*", inbox.handler(), in_group("newcomer"));
  auto after = msg("late.x", seq_payload(5));
  REQUIRE(bus->publish(after).is_ok());
  REQUIRE(wait_until([&] { return inbox.count.load() >= 1; }));
  REQUIRE(bus->drain(std::chrono::seconds(10)));
  auto got = inbox.snapshot();
  REQUIRE(got.size() == 1);
  CHECK(got[0]->id == after->id);
}

TEST_CASE("redis layout: MAXLEN ~ bounds message and dead-letter streams", "[redis][layout]") {
  // Small stream nodes, so approximate trimming lands close to the limit:
  // Redis trims whole nodes, never below MAXLEN, and leaves less than one node over.
  constexpr long long kNode = 10;
  RedisServer server({"--stream-node-max-entries", std::to_string(kNode)});

  SECTION("message stream") {
    constexpr long long kMaxlen = 50;
    auto bus = make_bus(server.url("maxlen=" + std::to_string(kMaxlen)), named("engine"));
    const std::string stream = "nautilus:engine:{trim.3}:normal";
    std::shared_ptr<Message> m;
    for (int i = 0; i < 500; ++i) {
      m = msg("trim.x", seq_payload(i));
      REQUIRE(bus->publish(m).is_ok());
    }
    const std::string last_id = m->id.to_string();
    REQUIRE(wait_until([&] { return server.cli("XREVRANGE '" + stream + "' + - COUNT 1").find(last_id) != std::string::npos; }));
    long long len = server.integer({"XLEN", stream});
    CHECK(len >= kMaxlen);
    CHECK(len < kMaxlen + kNode);
  }
  SECTION("dead-letter stream") {
    constexpr long long kDeadMaxlen = 20;
    constexpr int kBad = 200;
    auto bus = make_bus(server.url("dead_maxlen=" + std::to_string(kDeadMaxlen)), named("engine"));
    auto sub = bus->subscribe("bad.*", [](const MessagePtr&) {}, in_group("g"));
    const std::string stream = "nautilus:engine:{bad.0}:normal";
    REQUIRE(wait_until([&] { return server.integer({"EXISTS", stream}) == 1; }));  // the group made it (MKSTREAM)
    for (int i = 0; i < kBad; ++i) server.command({"XADD", stream, "*", "hello", "world"});
    REQUIRE(wait_until([&] { return bus->stats().decode_errors == static_cast<std::uint64_t>(kBad); }));
    long long len = server.integer({"XLEN", "nautilus:engine:dead"});
    CHECK(len >= kDeadMaxlen);
    CHECK(len < kDeadMaxlen + kNode);
  }
}

TEST_CASE("redis layout: publishes made while the server answers BUSY are retried, not lost", "[redis][layout]") {
  // A Lua script that spins makes Redis answer BUSY to every other command once
  // it has run longer than busy-reply-threshold; SCRIPT KILL ends it. The
  // publisher's writer is the only other client that can meet a BUSY besides
  // the test's own PINGs, so INFO errorstats afterwards tells whether an XADD
  // was refused. Whether the writer thread sent inside the window is up to the
  // scheduler, so a round that missed is tried again (at most 20 rounds).
  RedisServer server({"--busy-reply-threshold", "20"});
  auto bus = make_bus(server.url(), named("engine"));
  const std::string stream = "nautilus:engine:{busy.2}:normal";
  auto busy_errors = [&] {
    std::string info = server.cli("INFO errorstats");
    auto at = info.find("errorstat_BUSY:count=");
    return at == std::string::npos ? 0L : std::stol(info.substr(at + 21));
  };
  int published = 0;
  long pings_refused = 0;
  bool writer_met_busy = false;
  for (int round = 0; round < 20 && !writer_met_busy; ++round) {
    std::thread spinner([&] { server.cli("EVAL 'while true do end' 0"); });
    bool busy = wait_until([&] {
      bool refused = server.cli("PING").find("BUSY") != std::string::npos;
      pings_refused += refused;
      return refused;
    });
    if (busy) {
      for (int i = 0; i < 10; ++i) REQUIRE(bus->publish(msg("busy.x", seq_payload(published++))).is_ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the writer's chance to send into the window
    }
    server.cli("SCRIPT KILL");
    spinner.join();
    REQUIRE(busy);
    writer_met_busy = busy_errors() > pings_refused;
  }
  REQUIRE(writer_met_busy);
  // Everything refused was written once the script was gone, in order.
  REQUIRE(wait_until([&] { return server.integer({"XLEN", stream}) == published; }));
  std::string entries = server.cli("XRANGE '" + stream + "' - +");
  std::size_t at = 0;
  for (int i = 0; i < published; ++i) {
    at = entries.find(seq_payload(i), at);
    INFO("entry " << i);
    REQUIRE(at != std::string::npos);
  }
  CHECK(bus->stats().rejected == 0);
  CHECK(bus->stats().state == "CONNECTED");
}

TEST_CASE("redis layout: a server still loading its data (LOADING) is waited out; nothing published is lost",
          "[redis][layout]") {
  // key-load-delay slows the AOF replay on restart (200 us a key) and a small
  // loading-process-events-interval-bytes makes the server answer LOADING
  // meanwhile, instead of leaving clients in the accept queue.
  RedisServer server({"--key-load-delay", "200", "--loading-process-events-interval-bytes", "1024"});
  server.cli("EVAL \"for i=1,15000 do redis.call('SET','k'..i,'x') end\" 0");
  REQUIRE(server.integer({"DBSIZE"}) == 15000);
  server.kill();
  server.start(/*until_loaded=*/false);
  REQUIRE(server.cli("PING").find("LOADING") != std::string::npos);  // about 3 s of it left

  auto bus = make_bus(server.url(), named("engine"));
  Inbox inbox;
  auto sub = bus->subscribe("load.*", inbox.handler(), in_group("g"));
  constexpr int kCount = 50;
  for (int i = 0; i < kCount; ++i) REQUIRE(bus->publish(msg("load.x", seq_payload(i))).is_ok());
  REQUIRE(wait_until([&] { return inbox.count.load() == kCount; }, std::chrono::seconds(60)));
  auto got = inbox.snapshot();
  for (int i = 0; i < kCount; ++i) CHECK(got[static_cast<std::size_t>(i)]->payload == seq_payload(i));
  // The bus met LOADING itself (the test's own PING was one of them).
  std::string info = server.cli("INFO errorstats");
  auto at = info.find("errorstat_LOADING:count=");
  REQUIRE(at != std::string::npos);
  CHECK(std::stol(info.substr(at + 24)) > 1);
  CHECK(bus->stats().rejected == 0);
  CHECK(server.integer({"DBSIZE"}) >= 15000);
}

TEST_CASE("redis layout: the hand-written XADD of docs/redis-layout.md reaches a literal-topic subscriber",
          "[redis][layout]") {
  // A fully literal pattern reads only its topic's own shard, so the document's
  // example must name that shard: ops.note -> {ops.3}.
  RedisServer server;
  auto bus = make_bus(server.url(), named("engine"));
  Inbox inbox;
  auto sub = bus->subscribe("ops.note", inbox.handler(), in_group("g"));
  REQUIRE(wait_until([&] { return server.integer({"EXISTS", "nautilus:engine:{ops.3}:normal"}) == 1; }));
  server.cli("XADD 'nautilus:engine:{ops.3}:normal' '*' topic ops.note type system_health "
             "priority normal id 00000000000000010000000000000001 timestamp_ns 1 payload '{\"hi\":1}'");
  REQUIRE(wait_until([&] { return inbox.count.load() == 1; }));
  auto got = inbox.snapshot().at(0);
  CHECK(got->topic == "ops.note");
  CHECK(got->type == MessageType::kSystemHealth);
  CHECK(got->payload == R"({"hi":1})");
}
