// The WebSocket side of the control API (GET /ws; protocol in nautilusd(8),
// section WEBSOCKET). The control server reads the upgrade request, checks
// role and rate, and hands the socket over; every session then runs on one
// Boost.Asio io_context (a small thread pool) with Beast, so a thousand
// long-lived clients cost no connection threads. JSON text frames: subscribe,
// unsubscribe, ping and auth in; message, ack, error and pong out. One bus
// subscription per distinct (bus, pattern), shared by every session that
// asked for it. Each session has a bounded send queue: a client that lets it
// fill is closed with kSlowConsumerClose and counted, never by dropping a
// `high` or higher message; market data may instead be conflated to the
// latest message per topic.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/router.h"
#include "control/control_server.h"

namespace nautilus::control {

struct WsGatewayState;  // ws_gateway.cpp

// Close codes beyond RFC 6455's own (1002 protocol, 1003 binary, 1007 bad
// UTF-8, 1009 too big, 1001 daemon stopping): 1008 for a refused or missing
// credential, and this one for a client that does not keep up.
inline constexpr std::uint16_t kSlowConsumerClose = 4008;

struct WsOptions {
  std::size_t threads = 1;                    // io_context threads
  std::size_t max_connections = 10'000;       // beyond: 503 on the upgrade
  std::size_t max_subscriptions = 64;         // per connection
  std::size_t max_message_bytes = 64 * 1024;  // a client's frame (reassembled); larger: close 1009
  std::size_t send_queue_messages = 4096;     // per connection
  std::size_t send_queue_bytes = 8 << 20;
  // SO_SNDBUF of each connection (0: the kernel's autotuning, up to
  // net.ipv4.tcp_wmem's max, a few MiB per slow client); bounds what a client
  // that stopped reading holds in the kernel before its queue fills.
  std::size_t socket_send_buffer = 0;
  bool conflate_marketdata = true;  // a full queue replaces a waiting market-data message of the same topic
  std::vector<std::string> allowed_origins;  // besides the daemon's own host and loopback; "*" allows all
  std::chrono::milliseconds auth_timeout{10'000};  // no principal yet: the auth frame is due by then
};

struct WsStats {
  std::uint64_t connections = 0;  // open now
  std::uint64_t connections_total = 0;
  std::uint64_t subscriptions = 0;      // the clients' subscriptions, open now
  std::uint64_t bus_subscriptions = 0;  // distinct (bus, pattern) on the buses
  std::uint64_t messages_sent = 0;      // message frames written
  std::uint64_t slow_disconnects = 0;   // closed with kSlowConsumerClose
  std::uint64_t conflated = 0;          // market-data messages replaced by a later one
  std::uint64_t protocol_errors = 0;    // error frames and protocol closes
  std::uint64_t auth_failures = 0;
  std::uint64_t refused_origin = 0;
  nlohmann::json to_json() const;
};

// May a browser page from `origin` open a WebSocket on `host` (the request's
// Host header)? No Origin (a program) is allowed; so is the same host, a
// loopback origin, and any origin listed exactly (or "*").
bool origin_allowed(std::string_view origin, std::string_view host, const std::vector<std::string>& allowed);

class WsGateway {
 public:
  // `auth` checks auth frames (null: no checks, as the control server without
  // a token).
  WsGateway(Router& router, Clock& clock, WsOptions options, std::shared_ptr<Authenticator> auth);
  ~WsGateway();  // stop()
  WsGateway(const WsGateway&) = delete;
  WsGateway& operator=(const WsGateway&) = delete;

  // An UpgradeHandler: answers the handshake (101) and runs the session,
  // taking `socket`; or refuses (Origin 403, capacity 503) and leaves it.
  // `req.principal` null: the client must send an auth frame first.
  HttpResponse adopt(HttpRequest& req, Fd& socket);
  // Closes every session (1001), waits up to `grace`, joins the threads.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(1000));
  WsStats stats() const;

 private:
  std::shared_ptr<WsGatewayState> impl_;
};

}  // namespace nautilus::control
