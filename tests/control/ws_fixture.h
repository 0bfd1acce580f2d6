// The daemon's WebSocket side on a real socket: a control server with the
// daemon's routes and /ws, the websocket engine running on an inproc router
// in an EngineHost, an Authenticator (admin token + JWT key); and a raw client
// that crafts RFC 6455 frames by hand, for the cases a well-behaved client
// library will not send.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "auth_fixture.h"
#include "control/ws_engine.h"

namespace nautilus::control::testing {

// AuthServer (the daemon's routes, admin token + JWT key) with /ws and the
// websocket engine added before the server starts.
struct WsServer : AuthServer {
  std::shared_ptr<WsLink> link;
  Endpoint endpoint;  // the TCP listener

  // `ws_config`: the [engines.websocket] section; `tune` adjusts the server
  // options; `ao` the authenticator's (admin token and JWT key are set).
  template <class Tune>
  WsServer(nlohmann::json ws_config, Tune tune, AuthOptions ao = {},
           std::shared_ptr<WsLink> shared = std::make_shared<WsLink>())
      : AuthServer(tune, std::move(ao),
                   [shared, ws_config](AuthServer& s) {
                     register_websocket_engine(s.registry, shared);
                     install_websocket_routes(*s.server, shared, s.auth);
                     s.host->add({"websocket", "websocket", ws_config, true});
                     s.host->start("websocket");  // after the routes: it takes the link's authenticator
                   }),
        link(std::move(shared)),
        endpoint(parse_endpoint(url.substr(std::string_view("http://").size()))) {}
  explicit WsServer(nlohmann::json ws_config = nlohmann::json::object())
      : WsServer(std::move(ws_config), [](ServerOptions&) {}) {}

  WsStats stats() const { return link->gateway()->stats(); }
  // Publishes on the engine bus: topic, a trading_signal with payload {"seq": seq}.
  void publish(const std::string& topic, int seq, BusKind bus = BusKind::kEngine, Priority p = Priority::kNormal,
               std::string pad = {}) {
    nlohmann::json payload = {{"seq", seq}};
    if (!pad.empty()) payload["pad"] = std::move(pad);
    MessageType type = bus == BusKind::kEngine ? MessageType::kTradingSignal : MessageType::kTrade;
    auto m = make_message(topic, type, payload.dump(), p, "test");
    REQUIRE(router->publish(bus, m));
  }
};

// One WebSocket frame as read by RawWs.
struct Frame {
  int opcode = -1;  // -1: the connection ended (or timed out) first
  bool fin = true;
  std::string payload;
  // A close frame's status code; -1 when it has none.
  int close_code() const {
    if (opcode != 8 || payload.size() < 2) return -1;
    return (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
  }
  nlohmann::json json() const { return nlohmann::json::parse(payload); }
};

// A client speaking RFC 6455 by hand over a blocking socket (10 s deadlines).
class RawWs {
 public:
  // Connects and sends the upgrade with `extra_headers` ("Name: value\r\n"...).
  // `rcvbuf` > 0 shrinks the receive buffer first (a slow reader).
  explicit RawWs(const Endpoint& ep, const std::string& extra_headers = {}, int rcvbuf = 0) {
    fd_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (rcvbuf > 0) ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(ep.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return;
    std::string req = "GET /ws HTTP/1.1\r\nHost: " + ep.to_string() +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                      extra_headers + "\r\n";
    if (write_all(fd_.get(), req, deadline()) != IoResult::kOk) return;
    while (pending_.find("\r\n\r\n") == std::string::npos) {
      if (!fill()) return;
    }
    auto end = pending_.find("\r\n\r\n") + 4;
    response_ = parse_raw(pending_.substr(0, end));
    pending_.erase(0, end);
    if (response_.status != 101) {
      // The body of a refusal follows its head (the connection may stay open).
      const std::size_t length = std::stoul(response_.headers.count("content-length") ? response_.headers["content-length"] : "0");
      while (pending_.size() < length && fill()) {
      }
      response_.body = pending_;
    }
  }
  const RawResponse& response() const { return response_; }
  bool open() const { return response_.status == 101; }

  // A masked frame (clients must mask); `rsv` sets the reserved bits (0..7).
  void send_frame(int opcode, std::string_view payload, bool fin = true, int rsv = 0, bool masked = true) {
    std::string f;
    f += static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode);
    const unsigned char mask_bit = masked ? 0x80 : 0;
    if (payload.size() < 126) {
      f += static_cast<char>(mask_bit | payload.size());
    } else if (payload.size() < 65536) {
      f += static_cast<char>(mask_bit | 126);
      f += static_cast<char>(payload.size() >> 8);
      f += static_cast<char>(payload.size() & 0xff);
    } else {
      f += static_cast<char>(mask_bit | 127);
      for (int i = 7; i >= 0; --i) f += static_cast<char>((payload.size() >> (8 * i)) & 0xff);
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    if (masked) f.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) f += masked ? static_cast<char>(payload[i] ^ mask[i % 4]) : payload[i];
    (void)write_all(fd_.get(), f, deadline());
  }
  void send_text(std::string_view text) { send_frame(1, text); }
  void send_json(const nlohmann::json& j) { send_text(j.dump()); }

  Frame read_frame() {
    Frame f;
    if (!need(2)) return f;
    auto b0 = static_cast<unsigned char>(pending_[0]);
    auto b1 = static_cast<unsigned char>(pending_[1]);
    std::size_t len = b1 & 0x7f, off = 2;
    if (len == 126) {
      if (!need(4)) return f;
      len = (static_cast<unsigned char>(pending_[2]) << 8) | static_cast<unsigned char>(pending_[3]);
      off = 4;
    } else if (len == 127) {
      if (!need(10)) return f;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(pending_[2 + i]);
      off = 10;
    }
    if (!need(off + len)) return f;
    f.opcode = b0 & 0x0f;
    f.fin = (b0 & 0x80) != 0;
    f.payload = pending_.substr(off, len);
    pending_.erase(0, off + len);
    return f;
  }
  // The next data frame, skipping none: what a test expects next.
  nlohmann::json read_json() {
    Frame f = read_frame();
    if (f.opcode != 1) return nlohmann::json{{"opcode", f.opcode}, {"close_code", f.close_code()}};
    return f.json();
  }
  // Reads until a close frame: its code (-1: the connection ended without one).
  int read_close_code() {
    for (;;) {
      Frame f = read_frame();
      if (f.opcode == -1) return -1;
      if (f.opcode == 8) return f.close_code();
    }
  }
  int fd() const { return fd_.get(); }

 private:
  static std::int64_t deadline() { return monotonic_now_ns() + 10'000'000'000; }
  bool fill() {
    char buf[65536];
    std::size_t n = 0;
    if (read_some(fd_.get(), buf, sizeof(buf), n, deadline()) != IoResult::kOk || n == 0) return false;
    pending_.append(buf, n);
    return true;
  }
  bool need(std::size_t n) {
    while (pending_.size() < n) {
      if (!fill()) return false;
    }
    return true;
  }
  Fd fd_;
  std::string pending_;
  RawResponse response_;
};

inline nlohmann::json subscribe_frame(const nlohmann::json& id, const std::string& pattern,
                                      const std::string& bus = "engine") {
  return {{"op", "subscribe"}, {"id", id}, {"bus", bus}, {"pattern", pattern}};
}

}  // namespace nautilus::control::testing
