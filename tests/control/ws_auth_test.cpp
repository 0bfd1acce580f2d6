// Who may open and use a WebSocket: the bearer header, the first auth frame,
// the session cookie, the anonymous loopback role, the principal's topic
// rules, and the Origin allowlist (nautilusd(8) WEBSOCKET, Authentication).
#include <catch2/catch.hpp>

#include "ws_fixture.h"

using namespace nautilus;
using namespace nautilus::control;
using namespace nautilus::control::testing;

namespace {

// Loopback needs a credential too: what a client off loopback sees.
AuthOptions no_anonymous() {
  AuthOptions ao;
  ao.anonymous_loopback = std::nullopt;
  return ao;
}

std::string auth_header(const std::string& token) { return "Authorization: Bearer " + token + "\r\n"; }

}  // namespace

TEST_CASE("websocket auth: origin_allowed", "[control][websocket]") {
  struct Case {
    const char* origin;
    const char* host;
    std::vector<std::string> allowed;
    bool ok;
  };
  const Case cases[] = {
      {"", "10.0.0.5:7000", {}, true},  // a program: no Origin
      {"http://10.0.0.5:7000", "10.0.0.5:7000", {}, true},
      {"http://10.0.0.5:7001", "10.0.0.5:7000", {}, false},
      {"http://evil.example", "10.0.0.5:7000", {}, false},
      {"http://evil.example", "10.0.0.5:7000", {"http://evil.example"}, true},
      {"https://evil.example", "10.0.0.5:7000", {"http://evil.example"}, false},
      {"http://anything", "10.0.0.5:7000", {"*"}, true},
      {"http://127.0.0.1:9999", "10.0.0.5:7000", {}, true},
      {"http://localhost:3000", "10.0.0.5:7000", {}, true},
      {"http://[::1]:3000", "10.0.0.5:7000", {}, true},
      {"http://127.evil.example", "10.0.0.5:7000", {}, false},
      {"null", "10.0.0.5:7000", {}, false},
  };
  for (const auto& c : cases) {
    INFO(c.origin << " on " << c.host);
    CHECK(origin_allowed(c.origin, c.host, c.allowed) == c.ok);
  }
}

TEST_CASE("websocket auth: credentials", "[control][websocket]") {
  WsServer s(nlohmann::json::object(), [](ServerOptions&) {}, no_anonymous());

  SECTION("no credential: upgraded, but only ping and auth until an auth frame succeeds") {
    RawWs c(s.endpoint);
    REQUIRE(c.open());
    c.send_json({{"op", "ping"}});
    CHECK(c.read_json()["op"] == "pong");
    c.send_json(subscribe_frame(1, "risk.*"));
    auto refused = c.read_json();
    CHECK(refused["code"] == "unauthorized");
    CHECK(refused["id"] == 1);
    CHECK(s.stats().subscriptions == 0);
    c.send_json({{"op", "auth"}, {"token", s.token(Role::kViewer)}, {"id", "a"}});
    CHECK(c.read_json() == nlohmann::json{{"op", "ack"}, {"id", "a"}});
    c.send_json(subscribe_frame(1, "risk.*"));
    CHECK(c.read_json()["op"] == "ack");
    s.publish("risk.x", 1);
    CHECK(c.read_json()["message"]["payload"]["seq"] == 1);
  }
  SECTION("a refused auth frame: error, then close 1008") {
    RawWs c(s.endpoint);
    REQUIRE(c.open());
    c.send_json({{"op", "auth"}, {"token", "forged"}});
    CHECK(c.read_json()["code"] == "unauthorized");
    CHECK(c.read_close_code() == 1008);
    CHECK(s.stats().auth_failures == 1);
  }
  SECTION("a bearer header: subscribed at once") {
    RawWs c(s.endpoint, auth_header(kAdminToken));
    REQUIRE(c.open());
    c.send_json(subscribe_frame(1, "risk.*"));
    CHECK(c.read_json()["op"] == "ack");
  }
  SECTION("a refused bearer header: 401 before any upgrade") {
    RawWs c(s.endpoint, auth_header("forged-token"));
    CHECK(c.response().status == 401);
    CHECK(s.stats().connections_total == 0);
  }
  SECTION("the session cookie from POST /api/v1/session") {
    std::string token = s.token(Role::kViewer);
    auto session = raw_request(s.url, "POST", "/api/v1/session", bearer(token));
    REQUIRE(session.status == 200);
    const std::string cookie = session.headers["set-cookie"];
    CHECK(cookie == std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict");
    CHECK(nlohmann::json::parse(session.body)["role"] == "viewer");
    RawWs c(s.endpoint, "Cookie: theme=dark; " + std::string(kSessionCookie) + "=" + token + "\r\n");
    REQUIRE(c.open());
    c.send_json(subscribe_frame(1, "risk.*"));
    CHECK(c.read_json()["op"] == "ack");
    // The cookie opens the upgrade only: it is no credential for other routes.
    CHECK(raw_request(s.url, "GET", "/api/v1/status").status == 401);
    auto closed = raw_request(s.url, "DELETE", "/api/v1/session");
    CHECK(closed.headers["set-cookie"].find("Max-Age=0") != std::string::npos);
  }
  SECTION("a forged session cookie: 401") {
    RawWs c(s.endpoint, "Cookie: " + std::string(kSessionCookie) + "=forged\r\n");
    CHECK(c.response().status == 401);
  }
  SECTION("no session without a bearer token") {
    CHECK(raw_request(s.url, "POST", "/api/v1/session").status == 401);
  }
}

TEST_CASE("websocket auth: no auth frame in time closes with 1008", "[control][websocket]") {
  WsServer s(nlohmann::json{{"auth_timeout", "200ms"}}, [](ServerOptions&) {}, no_anonymous());
  RawWs c(s.endpoint);
  REQUIRE(c.open());
  CHECK(c.read_json()["code"] == "unauthorized");
  CHECK(c.read_close_code() == 1008);
}

TEST_CASE("websocket auth: anonymous loopback viewer, topic rules, roles", "[control][websocket]") {
  WsServer s;
  SECTION("anonymous on loopback subscribes as the HTTP API lets it") {
    RawWs c(s.endpoint);
    REQUIRE(c.open());
    c.send_json(subscribe_frame(1, "engine.status.*"));
    CHECK(c.read_json()["op"] == "ack");
  }
  SECTION("a token's subscribe rules: a pattern they do not cover is refused, deny filters per message") {
    TokenRequest tr;
    tr.subscribe.allow = {"risk.*"};
    tr.subscribe.deny = {"risk.secret.*"};
    RawWs c(s.endpoint, auth_header(s.token(Role::kViewer, tr)));
    REQUIRE(c.open());
    c.send_json(subscribe_frame(1, "vpin.*"));
    auto refused = c.read_json();
    CHECK(refused["code"] == "topic_forbidden");
    CHECK(refused["id"] == 1);
    c.send_json(subscribe_frame(2, "risk.*"));
    CHECK(c.read_json()["op"] == "ack");
    s.publish("risk.secret.limits", 1);
    s.publish("risk.open", 2);
    auto got = c.read_json();
    CHECK(got["message"]["topic"] == "risk.open");  // the denied one was never sent
  }
}

TEST_CASE("websocket auth: Origin allowlist", "[control][websocket]") {
  WsServer s(nlohmann::json{{"allowed_origins", nlohmann::json::array({"https://ops.example.com"})}});
  SECTION("a foreign page is refused with 403") {
    RawWs c(s.endpoint, "Origin: http://evil.example\r\n");
    CHECK(c.response().status == 403);
    CHECK(nlohmann::json::parse(c.response().body)["error"]["code"] == "origin_refused");
    CHECK(s.stats().refused_origin == 1);
  }
  SECTION("the same host, a listed origin") {
    RawWs same(s.endpoint, "Origin: http://" + s.endpoint.to_string() + "\r\n");
    CHECK(same.open());
    RawWs listed(s.endpoint, "Origin: https://ops.example.com\r\n");
    CHECK(listed.open());
  }
}
