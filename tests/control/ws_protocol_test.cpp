// The WebSocket protocol on a real socket (nautilusd(8) WEBSOCKET): subscribe,
// receive, unsubscribe with Beast's client; every malformed frame answered
// with an error frame or the RFC 6455 close code, the server still serving a
// new client afterwards; fragmentation and ping/pong as Autobahn's framing
// cases 1-7 describe them.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "core/codec.h"
#include "ws_fixture.h"

using namespace nautilus;
using namespace nautilus::control;
using namespace nautilus::control::testing;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

// Beast's own synchronous client, its socket's reads bounded by SO_RCVTIMEO.
struct BeastClient {
  asio::io_context ioc;
  websocket::stream<asio::ip::tcp::socket> ws{ioc};
  explicit BeastClient(const Endpoint& ep) {
    asio::ip::tcp::endpoint to(asio::ip::make_address("127.0.0.1"), ep.port);
    ws.next_layer().connect(to);
    timeval tv{10, 0};
    ::setsockopt(ws.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ws.handshake(ep.to_string(), "/ws");
  }
  void send(const nlohmann::json& j) { ws.write(asio::buffer(j.dump())); }
  nlohmann::json read() {
    beast::flat_buffer buf;
    ws.read(buf);
    REQUIRE(ws.got_text());
    return nlohmann::json::parse(beast::buffers_to_string(buf.data()));
  }
};

// A new client still gets answers: the server survived what came before.
void require_server_serves(const Endpoint& ep) {
  RawWs fresh(ep);
  REQUIRE(fresh.open());
  fresh.send_json({{"op", "ping"}});
  REQUIRE(fresh.read_json() == nlohmann::json{{"op", "pong"}});
}

}  // namespace

TEST_CASE("websocket: subscribe, receive, unsubscribe with Beast's client", "[control][websocket]") {
  WsServer s;
  BeastClient c(s.endpoint);
  c.send(subscribe_frame(7, "test.*"));
  REQUIRE(c.read() == nlohmann::json{{"op", "ack"}, {"id", 7}});

  auto m = make_message("test.alpha", MessageType::kTradingSignal, R"({"seq":1})", Priority::kHigh, "test");
  REQUIRE(s.router->publish(BusKind::kEngine, m));
  const std::string envelope = encode_json(*m);  // with the id and time publish gave it
  s.publish("other.topic", 2);  // not matched: never sent
  s.publish("test.beta", 3);
  auto first = c.read();
  CHECK(first["op"] == "message");
  CHECK(first["id"] == 7);
  // The envelope is the NDJSON subscribe route's line, unchanged.
  CHECK(first["message"] == nlohmann::json::parse(envelope));
  auto second = c.read();
  CHECK(second["message"]["topic"] == "test.beta");
  CHECK(second["message"]["payload"]["seq"] == 3);

  c.send({{"op", "unsubscribe"}, {"id", 7}});
  REQUIRE(c.read() == nlohmann::json{{"op", "ack"}, {"id", 7}});
  s.publish("test.gamma", 4);
  c.send({{"op", "ping"}});
  // After the unsubscribe ack nothing of the subscription follows.
  REQUIRE(c.read() == nlohmann::json{{"op", "pong"}});
  CHECK(s.stats().subscriptions == 0);
  CHECK(s.stats().bus_subscriptions == 0);
  CHECK(s.stats().messages_sent == 2);
  c.ws.close(websocket::close_code::normal);
}

TEST_CASE("websocket: one bus subscription per (bus, pattern), shared and ref-counted", "[control][websocket]") {
  WsServer s;
  RawWs a(s.endpoint), b(s.endpoint);
  REQUIRE((a.open() && b.open()));
  a.send_json(subscribe_frame("x", "risk.*"));
  REQUIRE(a.read_json()["op"] == "ack");
  b.send_json(subscribe_frame(1, "risk.*"));
  REQUIRE(b.read_json()["op"] == "ack");
  b.send_json(subscribe_frame(2, "risk.*", "marketdata"));  // another bus: another subscription
  REQUIRE(b.read_json()["op"] == "ack");
  CHECK(s.stats().bus_subscriptions == 2);
  CHECK(s.stats().subscriptions == 3);
  std::size_t ws_subscribers = 0;
  for (const auto& sub : s.router->engine().stats().subscribers) ws_subscribers += sub.name == "ws:risk.*" ? 1 : 0;
  CHECK(ws_subscribers == 1);

  s.publish("risk.alert", 1);
  auto to_a = a.read_json();
  auto to_b = b.read_json();
  CHECK(to_a["id"] == "x");  // each client sees its own id
  CHECK(to_b["id"] == 1);
  CHECK(to_a["message"] == to_b["message"]);

  a.send_json({{"op", "unsubscribe"}, {"id", "x"}});
  REQUIRE(a.read_json()["op"] == "ack");
  CHECK(s.stats().bus_subscriptions == 2);  // b still holds risk.* on the engine bus
  b.send_json({{"op", "unsubscribe"}, {"id", 1}});
  REQUIRE(b.read_json()["op"] == "ack");
  CHECK(s.stats().bus_subscriptions == 1);
}

TEST_CASE("websocket: bad requests get an error frame naming the id, and the connection stays", "[control][websocket]") {
  struct Case {
    const char* frame;
    const char* code;
    nlohmann::json id;
  };
  const Case cases[] = {
      {"{not json", "bad_json", nullptr},
      {"[1,2]", "bad_request", nullptr},
      {R"({"id":4})", "bad_request", 4},
      {R"({"op":"fly","id":5})", "unknown_op", 5},
      {R"({"op":"subscribe","bus":"engine","pattern":"a.*"})", "bad_request", nullptr},
      {R"({"op":"subscribe","id":{"x":1},"bus":"engine","pattern":"a.*"})", "bad_request", {{"x", 1}}},
      {R"({"op":"subscribe","id":6,"bus":"carrier-pigeon","pattern":"a.*"})", "bad_bus", 6},
      {R"({"op":"subscribe","id":7,"bus":"engine","pattern":"has space"})", "bad_pattern", 7},
      {R"({"op":"subscribe","id":8,"bus":"engine"})", "bad_pattern", 8},
      {R"({"op":"subscribe","id":"dup","bus":"engine","pattern":"b.*"})", "duplicate_id", "dup"},
      {R"({"op":"unsubscribe","id":"nope"})", "unknown_id", "nope"},
      {R"({"op":"auth"})", "bad_request", nullptr},
  };
  WsServer s;
  RawWs c(s.endpoint);
  REQUIRE(c.open());
  c.send_json(subscribe_frame("dup", "b.*"));
  REQUIRE(c.read_json()["op"] == "ack");
  for (const auto& k : cases) {
    INFO(k.frame);
    c.send_text(k.frame);
    auto reply = c.read_json();
    CHECK(reply["op"] == "error");
    CHECK(reply["code"] == k.code);
    CHECK(reply["id"] == k.id);
    CHECK(reply["message"].is_string());
  }
  // Still the same connection, still subscribed.
  s.publish("b.1", 1);
  CHECK(c.read_json()["message"]["topic"] == "b.1");
  CHECK(s.stats().protocol_errors == std::size(cases));
}

TEST_CASE("websocket: protocol violations close with the RFC 6455 code; the server stays up", "[control][websocket]") {
  struct Case {
    const char* what;
    std::function<void(RawWs&)> send;
    int close_code;
  };
  const std::string bad_utf8 = "{\"op\":\"ping\",\"x\":\"\xc3\x28\"}";
  const Case cases[] = {
      {"binary frame", [](RawWs& c) { c.send_frame(2, "\x01\x02\x03"); }, 1003},
      {"invalid UTF-8 in a text frame", [&](RawWs& c) { c.send_frame(1, bad_utf8); }, 1007},
      {"reserved bit RSV1 (no extension agreed)", [](RawWs& c) { c.send_frame(1, R"({"op":"ping"})", true, 4); }, 1002},
      {"reserved bits RSV2+RSV3", [](RawWs& c) { c.send_frame(1, R"({"op":"ping"})", true, 3); }, 1002},
      {"reserved opcode 3", [](RawWs& c) { c.send_frame(3, "x"); }, 1002},
      {"reserved control opcode 11", [](RawWs& c) { c.send_frame(11, "x"); }, 1002},
      {"unmasked client frame", [](RawWs& c) { c.send_frame(1, R"({"op":"ping"})", true, 0, false); }, 1002},
      {"fragmented ping", [](RawWs& c) { c.send_frame(9, "a", false); }, 1002},
      {"control frame over 125 bytes", [](RawWs& c) { c.send_frame(9, std::string(126, 'p')); }, 1002},
      {"continuation with nothing to continue", [](RawWs& c) { c.send_frame(0, "x"); }, 1002},
      {"new text frame inside a fragmented one",
       [](RawWs& c) {
         c.send_frame(1, "{\"op\"", false);
         c.send_frame(1, ":\"ping\"}");
       },
       1002},
      {"close code 999", [](RawWs& c) { c.send_frame(8, std::string("\x03\xe7", 2)); }, 1002},
      {"close code 1005 (reserved, never sent)", [](RawWs& c) { c.send_frame(8, std::string("\x03\xed", 2)); }, 1002},
      {"close frame with a 1-byte payload", [](RawWs& c) { c.send_frame(8, "x"); }, 1002},
      {"message over max_message_bytes", [](RawWs& c) { c.send_text(std::string(2048, ' ')); }, 1009},
      {"fragments adding up to over max_message_bytes",
       [](RawWs& c) {
         for (int i = 0; i < 3; ++i) c.send_frame(i == 0 ? 1 : 0, std::string(600, ' '), i == 2);
       },
       1009},
  };
  WsServer s(nlohmann::json{{"max_message_bytes", 1024}});
  for (const auto& k : cases) {
    INFO(k.what);
    RawWs c(s.endpoint);
    REQUIRE(c.open());
    k.send(c);
    CHECK(c.read_close_code() == k.close_code);
    require_server_serves(s.endpoint);
  }
  CHECK(s.stats().protocol_errors >= std::size(cases) - 2);  // the two close-frame cases may count as closes
}

TEST_CASE("websocket: fragmentation and ping/pong per RFC 6455", "[control][websocket]") {
  WsServer s;
  RawWs c(s.endpoint);
  REQUIRE(c.open());
  SECTION("a text message in fragments is reassembled") {
    c.send_frame(1, "{\"op\":", false);
    c.send_frame(0, "\"pi", false);
    c.send_frame(0, "ng\"}", true);
    CHECK(c.read_json() == nlohmann::json{{"op", "pong"}});
  }
  SECTION("a ping between fragments is answered first, then the message (Autobahn 5.6)") {
    c.send_frame(1, "{\"op\":", false);
    c.send_frame(9, "mid");
    c.send_frame(0, "\"ping\"}", true);
    Frame pong = c.read_frame();
    CHECK(pong.opcode == 10);
    CHECK(pong.payload == "mid");
    CHECK(c.read_json() == nlohmann::json{{"op", "pong"}});
  }
  SECTION("a ping control frame gets a pong with the same payload; an unsolicited pong is ignored") {
    c.send_frame(10, "unasked");
    c.send_frame(9, "hello");
    Frame pong = c.read_frame();
    CHECK(pong.opcode == 10);
    CHECK(pong.payload == "hello");
    c.send_frame(9, "");
    CHECK(c.read_frame().opcode == 10);
  }
  SECTION("empty fragments and a 64 KiB-length frame") {
    c.send_frame(1, "", false);
    c.send_frame(0, R"({"op":"ping"})", false);
    c.send_frame(0, "", true);
    CHECK(c.read_json() == nlohmann::json{{"op", "pong"}});
    std::string big = R"({"op":"ping","pad":")" + std::string(60'000, 'x') + "\"}";
    c.send_text(big);  // 16-bit length form
    CHECK(c.read_json() == nlohmann::json{{"op", "pong"}});
  }
  SECTION("a clean close is echoed with its code") {
    c.send_frame(8, std::string("\x03\xe8", 2) + "bye");
    CHECK(c.read_close_code() == 1000);
    CHECK(s.stats().protocol_errors == 0);
  }
}

TEST_CASE("websocket: upgrades the control server cannot hand over are refused", "[control][websocket]") {
  WsServer s;
  SECTION("GET /ws without Upgrade is 400") {
    auto r = raw_request(s.url, "GET", "/ws");
    CHECK(r.status == 400);
    CHECK(nlohmann::json::parse(r.body)["error"]["code"] == "not_websocket");
  }
  SECTION("the engine stopped: 503, then back") {
    s.host->stop("websocket");
    RawWs c(s.endpoint);
    CHECK(c.response().status == 503);
    s.host->start("websocket");
    require_server_serves(s.endpoint);
  }
  SECTION("the handed-over connection frees its control-server slot") {
    RawWs c(s.endpoint);
    REQUIRE(c.open());
    // The counters move once the connection thread has returned.
    for (int i = 0; i < 500 && (s.server->stats().active_connections != 0 || s.server->stats().upgraded != 1); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(s.server->stats().upgraded == 1);
    CHECK(s.server->stats().active_connections == 0);
  }
}
