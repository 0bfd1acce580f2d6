// The WebSocket send side under load: a reader that never reads is cut with
// 4008 and counted while a fast reader on the same subscription loses
// nothing; market data is conflated instead; 1,000 connections at once each
// get every message through one shared bus subscription.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "ws_fixture.h"

using namespace nautilus;
using namespace nautilus::control;
using namespace nautilus::control::testing;

TEST_CASE("websocket load: a slow reader is cut and counted, a fast one loses nothing", "[control][websocket]") {
  // Small kernel buffers on both ends, so the slow client's queue fills soon.
  WsServer s(nlohmann::json{{"send_queue_messages", 64}, {"socket_send_buffer", 16 * 1024}});
  RawWs slow(s.endpoint, {}, 4096);
  RawWs fast(s.endpoint);
  REQUIRE((slow.open() && fast.open()));
  slow.send_json(subscribe_frame("s", "feed.*"));
  REQUIRE(slow.read_json()["op"] == "ack");
  fast.send_json(subscribe_frame("f", "feed.*"));
  REQUIRE(fast.read_json()["op"] == "ack");

  // 400 x 1 KiB: more than the slow client's socket buffers and queue hold,
  // and `high`, so the gateway may not drop them to save it.
  constexpr int kMessages = 400;
  const std::string pad(1024, 'p');
  // Paced by the fast reader (at most 32 ahead of it), so it never fills its
  // queue however slowly this test runs; the slow one never reads at all.
  std::atomic<int> fast_read{0};
  std::atomic<bool> abandon{false};
  std::thread publisher([&] {
    for (int i = 0; i < kMessages && !abandon; ++i) {
      while (i - fast_read.load() > 32 && !abandon) std::this_thread::sleep_for(std::chrono::microseconds(200));
      s.publish("feed.x", i, BusKind::kEngine, Priority::kHigh, pad);
    }
  });
  struct Join {
    std::thread& t;
    std::atomic<bool>& abandon;
    ~Join() {
      abandon = true;
      t.join();
    }
  } join{publisher, abandon};
  for (int i = 0; i < kMessages; ++i) {
    auto j = fast.read_json();
    REQUIRE(j["op"] == "message");
    REQUIRE(j["message"]["payload"]["seq"] == i);
    fast_read = i + 1;
  }
  CHECK(s.stats().slow_disconnects == 1);
  CHECK(s.stats().bus_subscriptions == 1);
  // What the slow client gets before the cut is a prefix, then 4008 if the
  // close frame could still get through (its reads resume only now).
  int seq = 0;
  for (;;) {
    Frame f = slow.read_frame();
    if (f.opcode != 1) {
      CHECK((f.opcode == -1 || f.close_code() == kSlowConsumerClose));
      break;
    }
    REQUIRE(f.json()["message"]["payload"]["seq"] == seq++);
  }
  CHECK(seq < kMessages);
}

TEST_CASE("websocket load: market data is conflated to the latest per topic, not cut", "[control][websocket]") {
  WsServer s(nlohmann::json{{"send_queue_messages", 16}, {"socket_send_buffer", 16 * 1024}});
  RawWs c(s.endpoint, {}, 4096);
  REQUIRE(c.open());
  c.send_json(subscribe_frame(1, "md.*", "marketdata"));
  REQUIRE(c.read_json()["op"] == "ack");
  const std::string pad(2048, 'q');
  // Two topics, many updates each, while the client reads nothing.
  constexpr int kUpdates = 400;
  for (int i = 0; i < kUpdates; ++i) s.publish(i % 2 ? "md.b" : "md.a", i, BusKind::kMarketData, Priority::kNormal, pad);
  REQUIRE(s.router->drain(std::chrono::seconds(10)));
  CHECK(s.stats().slow_disconnects == 0);
  CHECK(s.stats().conflated > 0);
  // Reading now: each topic's updates arrive in order, ending with its last.
  int last_a = -1, last_b = -1, got = 0;
  while (last_a != kUpdates - 2 || last_b != kUpdates - 1) {
    auto j = c.read_json();
    REQUIRE(j["op"] == "message");
    int seq = j["message"]["payload"]["seq"];
    int& last = j["message"]["topic"] == "md.a" ? last_a : last_b;
    REQUIRE(seq > last);
    last = seq;
    ++got;
  }
  CHECK(static_cast<std::uint64_t>(got) + s.stats().conflated == kUpdates);
}

TEST_CASE("websocket load: a thousand connections at once each get every message", "[control][websocket]") {
  constexpr int kClients = 1000;
  constexpr int kMessages = 3;
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  const rlim_t want = 4 * kClients + 256;  // the clients' ends, the server's, the rest
  if (lim.rlim_cur < want) {
    lim.rlim_cur = std::min<rlim_t>(want, lim.rlim_max);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &lim) == 0);
  }
  WsServer s(nlohmann::json{{"threads", 2}}, [](ServerOptions& so) {
    // One subscribe token per upgrade: a thousand at once is this test's load.
    so.rate_limits[static_cast<std::size_t>(RouteClass::kSubscribe)] = {0, 0};
  });
  std::vector<std::unique_ptr<RawWs>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawWs>(s.endpoint));
    REQUIRE(clients.back()->open());
    clients.back()->send_json(subscribe_frame(i, "load.*"));
  }
  for (auto& c : clients) REQUIRE(c->read_json()["op"] == "ack");
  CHECK(s.stats().connections == kClients);
  CHECK(s.stats().bus_subscriptions == 1);
  for (int m = 0; m < kMessages; ++m) s.publish("load.tick", m);
  for (int i = 0; i < kClients; ++i) {
    for (int m = 0; m < kMessages; ++m) {
      auto j = clients[static_cast<std::size_t>(i)]->read_json();
      REQUIRE(j["id"] == i);
      REQUIRE(j["message"]["payload"]["seq"] == m);
    }
  }
  CHECK(s.stats().messages_sent == static_cast<std::uint64_t>(kClients) * kMessages);
}
