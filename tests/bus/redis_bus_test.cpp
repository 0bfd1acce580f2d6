// The Redis backend against a real redis-server (tests/bus/redis_fixture.h).
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "bus/redis_bus.h"
#include "bus/redis_layout.h"
#include "bus/router.h"
#include "core/codec.h"
#include "redis_fixture.h"

using namespace nautilus;
using nautilus::testing::RedisServer;
using nautilus::testing::wait_until;

namespace {

// Everything one subscription received, in order.
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
  std::multiset<std::string> payloads() const {
    std::multiset<std::string> out;
    for (auto& m : snapshot()) out.insert(m->payload);
    return out;
  }
};

// A gate a handler can wait on; open() lets it through.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open_ = false;
  void open() {
    std::lock_guard lock(mu);
    open_ = true;
    cv.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return open_; });
  }
};

std::shared_ptr<Message> msg(std::string topic, std::string payload, Priority p = Priority::kNormal,
                             MessageType t = MessageType::kRiskAlert) {
  return make_message(std::move(topic), t, std::move(payload), p, "test");
}

std::string seq_payload(int i) { return "{\"seq\":" + std::to_string(i) + "}"; }

BusOptions named(std::string name) {
  BusOptions o;
  o.name = std::move(name);
  return o;
}

SubscribeOptions in_group(std::string group, std::string name = {}) {
  SubscribeOptions o;
  o.group = std::move(group);
  o.name = std::move(name);
  return o;
}

}  // namespace

TEST_CASE("redis: publish and subscribe round trip with readable stream fields", "[redis]") {
  RedisServer server;
  auto bus = make_bus(server.url(), named("engine"));
  Inbox inbox;
  auto sub = bus->subscribe("risk.alert.*", inbox.handler(), in_group("risk"));

  auto m = msg("risk.alert.var_breach", R"({"var":1.5,"limit":1.0})", Priority::kUrgent);
  m->origin_ns = 123;
  m->correlation_id = "chain-7";
  REQUIRE(bus->publish(m).is_ok());
  REQUIRE(bus->publish(msg("risk.metric.var", "{}")).is_ok());  // not matched by the pattern
  REQUIRE(wait_until([&] { return inbox.count.load() == 1; }));
  REQUIRE(bus->drain(std::chrono::seconds(10)));
  CHECK(inbox.count.load() == 1);

  const Message& got = *inbox.snapshot().at(0);
  CHECK(got.id == m->id);
  CHECK(got.topic == "risk.alert.var_breach");
  CHECK(got.type == MessageType::kRiskAlert);
  CHECK(got.priority == Priority::kUrgent);
  CHECK(got.source == "test");
  CHECK(got.timestamp_ns == m->timestamp_ns);
  CHECK(got.origin_ns == 123);
  CHECK(got.correlation_id == "chain-7");
  CHECK(got.payload == R"({"var":1.5,"limit":1.0})");

  // The urgent message sits in the family's high lane, in plain fields. Keys
  // in these tests are literals worked out by hand from docs/redis-layout.md
  // (FNV-1a-32 of the topic mod 4 shards: risk.alert.var_breach -> 3), never
  // from the code under test.
  std::string key = "nautilus:engine:{risk.3}:high";
  std::string xrange = server.cli("XRANGE '" + key + "' - +");
  CHECK(xrange.find("risk.alert.var_breach") != std::string::npos);
  CHECK(xrange.find("urgent") != std::string::npos);
  CHECK(xrange.find("risk_alert") != std::string::npos);
  CHECK(xrange.find(R"({"var":1.5,"limit":1.0})") != std::string::npos);
  CHECK(server.integer({"SISMEMBER", "nautilus:engine:streams", key}) == 1);

  BusStats st = bus->stats();
  CHECK(st.backend == "redis");
  CHECK(st.state == "CONNECTED");
  CHECK(st.published == 2);
  CHECK(st.delivered == 1);
  // The same per-family recorder as in-process: origin_ns 123 makes it a chain.
  REQUIRE(st.families.size() == 1);
  CHECK(st.families[0].family == "risk.alert");
  CHECK(st.families[0].delivered == 1);
  CHECK(st.families[0].chain_ns.count() == 1);
  CHECK(st.latency_ns_by_priority[lane_of(Priority::kUrgent)].count() == 1);
}

TEST_CASE("redis: fan-out across groups, load sharing within a group", "[redis]") {
  RedisServer server;
  auto bus = make_bus(server.url("count=10"), named("engine"));
  Inbox risk_a, risk_b, vpin;
  Gate gate;
  std::atomic<bool> first{true};
  Handler a_handler = [&](const MessagePtr& m) {
    risk_a.handler()(m);
    // Instance A stalls on its first message until instance B has taken some:
    // the group must hand the rest to B.
    if (first.exchange(false)) gate.wait();
  };
  auto sub_vpin = bus->subscribe("orders.*", vpin.handler(), in_group("vpin"));
  auto sub_a = bus->subscribe("orders.*", a_handler, in_group("risk", "risk-a"));
  REQUIRE(bus->publish(msg("orders.new", seq_payload(0))).is_ok());
  REQUIRE(wait_until([&] { return risk_a.count.load() == 1; }));

  auto sub_b = bus->subscribe("orders.*", [&](const MessagePtr& m) {
    risk_b.handler()(m);
    gate.open();
  }, in_group("risk", "risk-b"));
  constexpr int kCount = 300;
  for (int i = 1; i < kCount; ++i) REQUIRE(bus->publish(msg("orders.new", seq_payload(i))).is_ok());

  REQUIRE(wait_until([&] { return vpin.count.load() == kCount && risk_a.count + risk_b.count == kCount; }));
  REQUIRE(bus->drain(std::chrono::seconds(10)));
  CHECK(vpin.count.load() == kCount);              // every group gets everything
  CHECK(risk_a.count + risk_b.count == kCount);    // the group gets everything once
  CHECK(risk_a.count.load() > 0);
  CHECK(risk_b.count.load() > 0);
  std::multiset<std::string> all = risk_a.payloads();
  for (auto& p : risk_b.payloads()) all.insert(p);
  CHECK(std::set<std::string>(all.begin(), all.end()).size() == kCount);
  CHECK(vpin.payloads() == all);
}

TEST_CASE("redis: entries of a consumer killed mid-batch are redelivered to another", "[redis]") {
  RedisServer server;
  std::string key = "nautilus:engine:{orders.3}:normal";
  server.command({"XGROUP", "CREATE", key, "portfolio", "$", "MKSTREAM"});

  auto bus = make_bus(server.url("claim_idle_ms=200"), named("engine"));
  constexpr int kCount = 20;
  for (int i = 0; i < kCount; ++i) REQUIRE(bus->publish(msg("orders.fill", seq_payload(i))).is_ok());
  REQUIRE(bus->drain(std::chrono::seconds(10)));

  // A consumer reads a batch of 10, handles and ACKs 3, then dies (its
  // connection just goes away, as with kill -9).
  {
    auto r = server.command({"XREADGROUP", "GROUP", "portfolio", "doomed", "COUNT", "10", "STREAMS", key, ">"});
    REQUIRE(r->type == REDIS_REPLY_ARRAY);
    redisReply* entries = r->element[0]->element[1];
    REQUIRE(entries->elements == 10);
    for (int i = 0; i < 3; ++i) {
      server.command({"XACK", key, "portfolio", std::string(entries->element[i]->element[0]->str)});
    }
  }
  CHECK(server.integer({"XLEN", key}) == kCount);

  Inbox survivor;
  auto sub = bus->subscribe("orders.*", survivor.handler(), in_group("portfolio"));
  // 10 never read + the dead consumer's 7 unacknowledged ones.
  REQUIRE(wait_until([&] { return survivor.count.load() == kCount - 3; }));
  std::set<std::string> got;
  for (auto& p : survivor.payloads()) got.insert(p);
  CHECK(got.size() == kCount - 3);
  for (int i = 0; i < 3; ++i) CHECK(got.count(seq_payload(i)) == 0);
  for (int i = 3; i < kCount; ++i) CHECK(got.count(seq_payload(i)) == 1);
  // Everything is acknowledged in the end.
  REQUIRE(wait_until([&] {
    auto p = server.command({"XPENDING", key, "portfolio"});
    return p->type == REDIS_REPLY_ARRAY && p->element[0]->integer == 0;
  }));
}

TEST_CASE("redis: pending entries trimmed away before they were claimed are dropped, not delivered", "[redis]") {
  RedisServer server;
  std::string key = "nautilus:engine:{orders.3}:normal";
  server.command({"XGROUP", "CREATE", key, "portfolio", "$", "MKSTREAM"});
  auto bus = make_bus(server.url("claim_idle_ms=100"), named("engine"));
  for (int i = 0; i < 8; ++i) REQUIRE(bus->publish(msg("orders.fill", seq_payload(i))).is_ok());
  REQUIRE(bus->drain(std::chrono::seconds(10)));
  // A consumer reads all 8 and dies without an ACK; then MAXLEN trimming
  // takes 6 of them out of the stream while they are still pending.
  {
    auto r = server.command({"XREADGROUP", "GROUP", "portfolio", "doomed", "COUNT", "10", "STREAMS", key, ">"});
    REQUIRE(r->type == REDIS_REPLY_ARRAY);
    REQUIRE(r->element[0]->element[1]->elements == 8);
  }
  server.command({"XTRIM", key, "MAXLEN", "2"});
  REQUIRE(server.integer({"XLEN", key}) == 2);
  {
    auto p = server.command({"XPENDING", key, "portfolio"});
    REQUIRE(p->element[0]->integer == 8);  // the PEL still names all 8
  }

  Inbox survivor;
  auto sub = bus->subscribe("orders.*", survivor.handler(), in_group("portfolio"));
  // The two still in the stream are reclaimed; the trimmed six are not
  // invented, and they leave the pending list.
  REQUIRE(wait_until([&] { return survivor.count.load() == 2; }));
  REQUIRE(wait_until([&] {
    auto p = server.command({"XPENDING", key, "portfolio"});
    return p->type == REDIS_REPLY_ARRAY && p->element[0]->integer == 0;
  }));
  REQUIRE(bus->publish(msg("orders.fill", seq_payload(100))).is_ok());
  REQUIRE(wait_until([&] { return survivor.count.load() == 3; }));
  std::multiset<std::string> got = survivor.payloads();
  CHECK(got == std::multiset<std::string>{seq_payload(6), seq_payload(7), seq_payload(100)});
  CHECK(bus->stats().handler_errors == 0);
}

TEST_CASE("redis: an entry whose handler keeps failing is dead-lettered after N deliveries", "[redis]") {
  RedisServer server;
  auto bus = make_bus(server.url("claim_idle_ms=50&max_deliveries=3"), named("engine"));
  std::atomic<int> poison_calls{0};
  Inbox good;
  auto sub = bus->subscribe("orders.*", [&](const MessagePtr& m) {
    if (m->payload == R"({"poison":true})") {
      poison_calls.fetch_add(1);
      throw std::runtime_error("cannot handle this");
    }
    good.handler()(m);
  }, in_group("portfolio"));
  REQUIRE(bus->publish(msg("orders.new", R"({"poison":true})")).is_ok());
  for (int i = 0; i < 5; ++i) REQUIRE(bus->publish(msg("orders.new", seq_payload(i))).is_ok());

  std::string dead = "nautilus:engine:dead";
  REQUIRE(wait_until([&] { return server.integer({"XLEN", dead}) == 1; }));
  CHECK(good.count.load() == 5);
  CHECK(poison_calls.load() == 3);
  CHECK(bus->stats().handler_errors == 3);
  std::string dl = server.cli("XRANGE " + dead + " - +");
  CHECK(dl.find("without an ACK") != std::string::npos);
  CHECK(dl.find("poison") != std::string::npos);
  CHECK(dl.find("portfolio") != std::string::npos);
}

TEST_CASE("redis: a malformed entry written by redis-cli goes to the dead-letter stream", "[redis]") {
  RedisServer server;
  auto bus = make_bus(server.url(), named("marketdata"));
  Inbox inbox;
  auto sub = bus->subscribe("marketdata.real_time.*", inbox.handler(), in_group("vpin"));

  std::string topic = "marketdata.real_time.quote.AAPL";
  std::string key = "nautilus:marketdata:{marketdata.3}:normal";
  std::string out = server.cli("XADD '" + key + "' '*' topic " + topic + " type quote priority normal payload notjson");
  REQUIRE(out.find('-') != std::string::npos);  // an entry id came back
  server.cli("XADD '" + key + "' '*' hello world");
  auto good = msg(topic, R"({"bid":1.0})", Priority::kNormal, MessageType::kQuote);
  REQUIRE(bus->publish(good).is_ok());

  REQUIRE(wait_until([&] { return inbox.count.load() == 1; }));
  std::string dead = "nautilus:marketdata:dead";
  REQUIRE(wait_until([&] { return server.integer({"XLEN", dead}) == 2; }));
  CHECK(inbox.snapshot().at(0)->id == good->id);
  CHECK(bus->stats().decode_errors == 2);
  std::string dl = server.cli("XRANGE " + dead + " - +");
  CHECK(dl.find("dead_reason") != std::string::npos);
  CHECK(dl.find("decode: field 'payload'") != std::string::npos);
  CHECK(dl.find("decode: missing field 'topic'") != std::string::npos);
  CHECK(dl.find(key) != std::string::npos);
  CHECK(dl.find("notjson") != std::string::npos);
  // The bad entries are acknowledged: nothing is left pending for the group.
  REQUIRE(wait_until([&] {
    auto p = server.command({"XPENDING", key, "vpin"});
    return p->type == REDIS_REPLY_ARRAY && p->element[0]->integer == 0;
  }));
}

TEST_CASE("redis: urgent messages overtake a normal backlog", "[redis]") {
  RedisServer server;
  auto bus = make_bus(server.url("count=50"), named("engine"));
  Gate gate;
  std::atomic<bool> first{true};
  std::atomic<bool> blocked{false};
  Inbox inbox;
  auto sub = bus->subscribe("risk.*", [&](const MessagePtr& m) {
    inbox.handler()(m);
    if (first.exchange(false)) {
      blocked = true;
      gate.wait();
    }
  }, in_group("strategy"));
  REQUIRE(bus->publish(msg("risk.metric.gate", seq_payload(-1))).is_ok());
  REQUIRE(wait_until([&] { return blocked.load(); }));

  // A backlog of normal traffic piles up in Redis while the consumer is busy,
  // then urgent messages arrive behind it.
  constexpr int kBacklog = 1000;
  for (int i = 0; i < kBacklog; ++i) REQUIRE(bus->publish(msg("risk.metric.var", seq_payload(i))).is_ok());
  for (int i = 0; i < 5; ++i) {
    REQUIRE(bus->publish(msg("risk.alert.halt", seq_payload(10000 + i), Priority::kUrgent)).is_ok());
  }
  std::string high = "nautilus:engine:{risk.3}:high";
  std::string normal = "nautilus:engine:{risk.3}:normal";
  REQUIRE(wait_until([&] { return server.integer({"XLEN", high}) == 5; }));
  REQUIRE(wait_until([&] { return server.integer({"XLEN", normal}) >= kBacklog; }));
  gate.open();

  REQUIRE(wait_until([&] { return inbox.count.load() == kBacklog + 6; }));
  auto all = inbox.snapshot();
  std::vector<std::size_t> urgent_at;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i]->priority == Priority::kUrgent) urgent_at.push_back(i);
  }
  REQUIRE(urgent_at.size() == 5);
  // Right after the gate message: none waits behind the normal backlog.
  CHECK(urgent_at == std::vector<std::size_t>{1, 2, 3, 4, 5});
}

TEST_CASE("redis: an urgent message arriving mid-batch waits for one handler call, not the batch", "[redis]") {
  // A 1000-entry normal batch is being handled (1 ms a message) when an urgent
  // message is published. The high-lane reader has it on its own connection
  // and takes the next turn; with high_reader=0 the one reader would look at
  // the high lane only every 256 entries.
  RedisServer server;
  auto bus = make_bus(server.url("count=1000"), named("engine"));
  Gate gate;
  std::atomic<int> seen{0};
  Inbox inbox;
  auto sub = bus->subscribe("risk.*", [&](const MessagePtr& m) {
    inbox.handler()(m);
    if (m->priority == Priority::kUrgent) return;
    if (seen.fetch_add(1) == 0) gate.wait();  // hold the first so the backlog piles up
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }, in_group("strategy"));
  constexpr int kBacklog = 1000;
  REQUIRE(bus->publish(msg("risk.metric.gate", seq_payload(-1))).is_ok());
  REQUIRE(wait_until([&] { return seen.load() == 1; }));
  for (int i = 0; i < kBacklog; ++i) REQUIRE(bus->publish(msg("risk.metric.var", seq_payload(i))).is_ok());
  // The backlog is in Redis while the reader is held (the key of docs/redis-layout.md).
  REQUIRE(wait_until([&] { return server.integer({"XLEN", "nautilus:engine:{risk.3}:normal"}) >= kBacklog; }));
  gate.open();
  REQUIRE(wait_until([&] { return seen.load() >= 10; }));  // the batch is under way
  const int at_publish = seen.load();
  REQUIRE(bus->publish(msg("risk.alert.halt", seq_payload(99999), Priority::kUrgent)).is_ok());
  REQUIRE(wait_until([&] { return inbox.count.load() == kBacklog + 2; }, std::chrono::seconds(60)));
  auto all = inbox.snapshot();
  std::size_t urgent_at = all.size();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i]->priority == Priority::kUrgent) urgent_at = i;
  }
  INFO("published after " << at_publish << " normal messages, delivered at " << urgent_at);
  REQUIRE(urgent_at < all.size());
  CHECK(static_cast<int>(urgent_at) < at_publish + 100);
}

TEST_CASE("redis: Redis killed and restarted during a steady publish loses nothing", "[redis]") {
  RedisServer server;
  const std::string query = "backoff_ms=10&backoff_max_ms=100&attempts=1000&claim_idle_ms=300";
  auto pub_bus = make_bus(server.url(query), named("engine"));
  auto sub_bus = make_bus(server.url(query), named("engine"));
  std::mutex mu;
  std::map<std::string, int> seen;  // payload -> deliveries
  std::atomic<int> delivered{0};
  auto sub = sub_bus->subscribe("fills.*", [&](const MessagePtr& m) {
    std::lock_guard lock(mu);
    ++seen[m->payload];
    delivered.fetch_add(1);
  }, in_group("portfolio"));

  // The publisher runs until told to stop, so the kill always lands in the
  // middle of its stream: publishes are made while Redis is down (buffered)
  // and after it is back, whatever the machine's speed.
  std::atomic<bool> stop{false};
  std::atomic<int> published{0};
  std::atomic<int> refused{0};
  std::thread publisher([&] {
    for (int i = 0; !stop.load(); ++i) {
      if (pub_bus->publish(msg("fills.AAPL", seq_payload(i))).is_ok()) {
        published.fetch_add(1);
      } else {
        refused.fetch_add(1);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // a steady rate, not a sync point
    }
  });
  REQUIRE(wait_until([&] { return delivered.load() >= 500; }));
  server.kill();
  int at_kill = published.load();
  // 300 publishes accepted with no Redis to write to: the outage buffer holds them.
  bool buffered = wait_until([&] { return published.load() >= at_kill + 300; });
  int at_restart = published.load();
  server.start();
  // And the stream goes on after the restart.
  bool resumed = wait_until([&] { return published.load() >= at_restart + 300; });
  stop = true;
  publisher.join();
  REQUIRE(buffered);
  REQUIRE(resumed);
  CHECK(refused.load() == 0);
  const int total = published.load();
  REQUIRE(wait_until([&] {
    std::lock_guard lock(mu);
    return static_cast<int>(seen.size()) == total;
  }, std::chrono::seconds(60)));
  std::lock_guard lock(mu);
  int twice = 0;
  for (auto& [p, n] : seen) twice += n > 1;
  CHECK(twice == 0);
  for (int i = 0; i < total; ++i) CHECK(seen.count(seq_payload(i)) == 1);
}

TEST_CASE("redis: a message published right after subscribe() is delivered, even within the same millisecond",
          "[redis]") {
  // The group starts at the server's TIME; an XADD in that same millisecond
  // gets id <ms>-0, which must not fall at or below the group's start.
  // A wildcard subscriber on an empty bus does least between TIME and
  // returning (no stream to create a group on yet), so its first publish is
  // the likeliest to share the millisecond; each round is a fresh bus name.
  RedisServer server;
  constexpr int kRounds = 40;
  std::vector<std::unique_ptr<Bus>> buses;
  std::vector<std::unique_ptr<Inbox>> inboxes;
  std::vector<SubscriptionPtr> subs;
  for (int i = 0; i < kRounds; ++i) {
    buses.push_back(make_bus(server.url(), named("fresh" + std::to_string(i))));
    inboxes.push_back(std::make_unique<Inbox>());
    subs.push_back(buses.back()->subscribe("*", inboxes.back()->handler(), in_group("watch")));
    REQUIRE(buses.back()->publish(msg("fresh.x", seq_payload(i))).is_ok());
  }
  int delivered = 0;
  CHECK(wait_until([&] {
    delivered = 0;
    for (auto& in : inboxes) delivered += in->count.load() == 1;
    return delivered == kRounds;
  }));
  CHECK(delivered == kRounds);
}

TEST_CASE("redis: two-server layout and one server for both buses", "[redis]") {
  RedisServer md_server, engine_server;
  SECTION("two servers") {
    auto router = Router::from_urls(md_server.url(), engine_server.url());
    Inbox quotes, alerts;
    auto s1 = router->subscribe(BusKind::kMarketData, "marketdata.real_time.*", quotes.handler(), in_group("vpin"));
    auto s2 = router->subscribe(BusKind::kEngine, "risk.alert.*", alerts.handler(), in_group("strategy"));
    REQUIRE(router->publish(msg("marketdata.real_time.quote.AAPL", "{}", Priority::kNormal, MessageType::kQuote)).is_ok());
    REQUIRE(router->publish(msg("risk.alert.var_breach", "{}", Priority::kUrgent, MessageType::kRiskAlert)).is_ok());
    REQUIRE(wait_until([&] { return quotes.count.load() == 1 && alerts.count.load() == 1; }));
    CHECK(md_server.integer({"SCARD", "nautilus:marketdata:streams"}) == 1);
    CHECK(md_server.integer({"EXISTS", "nautilus:engine:streams"}) == 0);
    CHECK(engine_server.integer({"SCARD", "nautilus:engine:streams"}) == 1);
    CHECK(engine_server.integer({"EXISTS", "nautilus:marketdata:streams"}) == 0);
  }
  SECTION("one server") {
    auto router = Router::from_urls(md_server.url(), md_server.url());
    Inbox any_md, any_engine;
    // Wildcard families: these discover the streams through the registry.
    auto s1 = router->subscribe(BusKind::kMarketData, "*", any_md.handler(), in_group("hub-watch"));
    auto s2 = router->subscribe(BusKind::kEngine, "*", any_engine.handler(), in_group("engine-watch"));
    REQUIRE(router->publish(msg("marketdata.real_time.tick.MSFT", "{}", Priority::kNormal, MessageType::kTick)).is_ok());
    REQUIRE(router->publish(msg("portfolio.update", "{}", Priority::kNormal, MessageType::kPortfolioUpdate)).is_ok());
    REQUIRE(wait_until([&] { return any_md.count.load() == 1 && any_engine.count.load() == 1; }));
    CHECK(any_md.snapshot().at(0)->topic == "marketdata.real_time.tick.MSFT");
    CHECK(any_engine.snapshot().at(0)->topic == "portfolio.update");
  }
}

TEST_CASE("redis: outage buffer bound, backoff to ERROR, recovery delivers the buffer", "[redis]") {
  RedisServer server;
  auto bus = make_bus(server.url("attempts=3&backoff_ms=30&backoff_max_ms=60&buffer=5"), named("engine"));
  Inbox inbox;
  auto sub = bus->subscribe("ops.*", inbox.handler(), in_group("ops"));
  REQUIRE(bus->publish(msg("ops.ping", seq_payload(0))).is_ok());
  REQUIRE(wait_until([&] { return inbox.count.load() == 1; }));
  CHECK(bus->stats().state == "CONNECTED");

  server.kill();
  auto killed_at = std::chrono::steady_clock::now();
  for (int i = 1; i <= 5; ++i) REQUIRE(bus->publish(msg("ops.ping", seq_payload(i))).is_ok());
  Status full = bus->publish(msg("ops.ping", seq_payload(6)));
  CHECK(full.code() == StatusCode::kUnavailable);
  CHECK(full.message().find("outage buffer full") != std::string::npos);

  REQUIRE(wait_until([&] { return bus->stats().state == "ERROR"; }));
  // Three failed attempts, the 2nd and 3rd after 30 and 60 ms of backoff.
  CHECK(std::chrono::steady_clock::now() - killed_at >= std::chrono::milliseconds(90));
  // The state above is the worst connection's; the writer's own ERROR shows in
  // what publish() says once it gets there.
  Status refused;
  REQUIRE(wait_until([&] {
    refused = bus->publish(msg("ops.ping", seq_payload(7)));
    return refused.message().find("ERROR") != std::string::npos;
  }));
  CHECK(refused.code() == StatusCode::kUnavailable);
  CHECK(bus->stats().rejected >= 2);

  server.start();
  REQUIRE(wait_until([&] { return bus->stats().state == "CONNECTED"; }));
  REQUIRE(wait_until([&] { return inbox.count.load() == 6; }));
  std::set<std::string> got;
  for (auto& p : inbox.payloads()) got.insert(p);
  for (int i = 0; i <= 5; ++i) CHECK(got.count(seq_payload(i)) == 1);
}

TEST_CASE("redis: AUTH with user and password, and /db", "[redis]") {
  RedisServer server({"--user", "alice", "on", ">s3cret", "~*", "&*", "+@all"});
  std::string base = "redis://alice:s3cret@127.0.0.1:" + std::to_string(server.port());
  auto bus = make_bus(base + "/2", named("engine"));
  Inbox inbox;
  auto sub = bus->subscribe("auth.*", inbox.handler(), in_group("g"));
  REQUIRE(bus->publish(msg("auth.ok", "{}")).is_ok());
  REQUIRE(wait_until([&] { return inbox.count.load() == 1; }));
  CHECK(server.integer({"EXISTS", "nautilus:engine:streams"}, 2) == 1);
  CHECK(server.integer({"EXISTS", "nautilus:engine:streams"}, 0) == 0);

  auto wrong = make_bus("redis://alice:nope@127.0.0.1:" + std::to_string(server.port()) +
                            "?attempts=2&backoff_ms=10&backoff_max_ms=20",
                        named("engine"));
  REQUIRE(wait_until([&] { return wrong->stats().state == "ERROR"; }));
  Status s = wrong->publish(msg("auth.no", "{}"));
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(s.message().find("AUTH") != std::string::npos);
}

TEST_CASE("redis: polled subscriptions deliver highest priority first and ACK", "[redis]") {
  RedisServer server;
  auto bus = make_bus(server.url(), named("engine"));
  Inbox inbox;
  SubscribeOptions o = in_group("poller");
  o.mode = DeliveryMode::kPolled;
  auto sub = bus->subscribe("jobs.*", inbox.handler(), o);
  for (int i = 0; i < 10; ++i) REQUIRE(bus->publish(msg("jobs.run", seq_payload(i))).is_ok());
  REQUIRE(bus->publish(msg("jobs.stop", seq_payload(99), Priority::kFlashCrash)).is_ok());
  REQUIRE(wait_until([&] { return sub->stats().queue_depth == 11; }));
  CHECK(inbox.count.load() == 0);
  CHECK(sub->poll(100) == 11);
  auto all = inbox.snapshot();
  CHECK(all.at(0)->priority == Priority::kFlashCrash);
  std::string key = "nautilus:engine:{jobs.2}:normal";
  REQUIRE(wait_until([&] {
    auto p = server.command({"XPENDING", key, "poller"});
    return p->type == REDIS_REPLY_ARRAY && p->element[0]->integer == 0;
  }));
}
