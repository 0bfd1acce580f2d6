// The server side of the control API: a small HTTP/1.1 server on TCP and Unix
// sockets with a route table. Routes are registered by pattern
// ("/api/v1/engines/{name}/start"), so other parts of the daemon plug in
// without touching the server. JSON in, JSON out; errors are
// {"error":{"code","message"}}. Bounded: header and body size, connections.
// Every route has a class (control/auth.h): the caller's principal (from its
// bearer token or JWT, or anonymous on loopback) must hold a role for it, and
// a token bucket per principal and class limits its rate (429). No lockout:
// headers must arrive within a deadline, unauthenticated connections may hold
// only part of the slots (the rest are kept for callers with a valid token)
// and no one peer may hold more than its share; when they are full, the
// oldest unauthenticated connection is closed to make room. Non-loopback TCP
// listeners speak TLS (control/tls.h) unless explicitly allowed plain.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/auth.h"
#include "control/rate_limiter.h"
#include "control/socket_io.h"

namespace nautilus::control {

struct HttpRequest {
  std::string method;                         // "GET", "POST", ...
  std::string path;                           // without the query
  std::map<std::string, std::string> query;   // decoded
  std::map<std::string, std::string> params;  // from {name} segments
  std::string body;
  std::string authorization;  // the Authorization header, "" when absent
  std::string target;         // as sent: path and query, undecoded
  // Every header as sent (names lower-cased), for routes that read more than
  // the Authorization header (the WebSocket upgrade: Upgrade, Origin, Cookie).
  std::vector<std::pair<std::string, std::string>> headers;
  bool loopback = true;  // arrived on a loopback or Unix listener
  std::string peer;      // "tcp 10.0.0.5", "unix uid 1000 pid 4242" (per-peer limits, audit)
  PrincipalPtr principal;  // set by dispatch before the handler runs
  // The body as JSON (an empty body is an empty object). Throws HttpError 400.
  nlohmann::json json() const;
  // A query parameter or `fallback`.
  std::string query_or(const std::string& key, std::string fallback = {}) const;
  // A header's value ("" when absent); `lower_name` is lower case.
  std::string header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Retry-After)
  static HttpResponse json(const nlohmann::json& j, int status = 200);
  static HttpResponse text(std::string body, std::string content_type = "text/plain; charset=utf-8");
  static HttpResponse error(int status, std::string_view code, std::string_view message);
};

// Thrown by a handler to answer with an error; anything else a handler throws
// becomes 500 "internal".
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string code_;
};

// What a streaming handler writes to (NDJSON lines, chunked encoding).
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // False once the client is gone; the handler should return.
  virtual bool write(std::string_view data) = 0;
  // True when the client closed its end.
  virtual bool client_gone() = 0;
  // True when the server is shutting down: flush what was accepted, then return.
  virtual bool server_stopping() const = 0;
};

struct RouteOptions {
  bool mutating = false;  // an operator route (kOperate) unless route_class says otherwise
  bool public_route = false;  // no token even off loopback (/health)
  std::optional<RouteClass> route_class;  // else: public, operate (mutating) or read
  // For the browser (WebSocket upgrade): the session cookie (kSessionCookie)
  // counts as a bearer token when no Authorization header came, and a request
  // with no credential at all reaches the handler with a null principal, for
  // it to ask for one (the WebSocket auth frame). A refused credential is
  // still 401.
  bool browser_credentials = false;
  RouteClass effective_class() const {
    if (route_class) return *route_class;
    if (public_route) return RouteClass::kPublic;
    return mutating ? RouteClass::kOperate : RouteClass::kRead;
  }
};

using RouteHandler = std::function<HttpResponse(const HttpRequest&)>;
using StreamHandler = std::function<void(const HttpRequest&, StreamWriter&)>;
// A route that takes the connection over (GET /ws): called after the role and
// rate checks with the request as read and the connection's socket. Moving
// the socket out of `socket` hands the connection over (the server forgets it
// and frees its slot; the returned response is not sent); leaving it answers
// with the response and closes. Only plain TCP connections reach it: on TLS
// and Unix listeners the server answers 400 itself.
using UpgradeHandler = std::function<HttpResponse(HttpRequest& req, Fd& socket)>;

// The cookie POST /api/v1/session sets (HttpOnly, SameSite=Strict).
inline constexpr std::string_view kSessionCookie = "nautilus_session";

// Where a log line goes (level "info", "warn", "error"): refusal reasons and
// the audit trail.
using LogSink = std::function<void(std::string_view level, const std::string& line)>;

struct ServerOptions {
  // The admin token (the state directory's token file). Used only when `auth`
  // is null; both empty: no checks at all (tests only).
  std::string token;
  std::shared_ptr<Authenticator> auth;
  std::size_t max_connections = 64;  // beyond this: 503 and close
  // Slots only connections whose request carried a valid credential may keep.
  std::size_t reserved_connections = 16;
  // Unauthenticated connections one peer may hold (see peer in HttpRequest).
  std::size_t max_connections_per_peer = 16;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{5'000};  // from accept or first byte to the end of the headers
  std::chrono::milliseconds idle_timeout{30'000};   // keep-alive wait, and the body read
  RateLimits rate_limits = default_rate_limits();
  Clock* clock = nullptr;  // rate limits and token times; null: live_clock()
  LogSink log;             // null: nothing logged
  // TLS for TCP listeners that are not on loopback (PEM files).
  std::string tls_cert_file;
  std::string tls_key_file;
  // Serve plain HTTP on a non-loopback listener (--insecure-listen).
  bool allow_insecure_listen = false;
};

class ControlServer {
 public:
  explicit ControlServer(ServerOptions options);
  ~ControlServer();  // stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Pattern segments in braces capture: "/api/v1/engines/{name}". Register
  // before start(). A later registration of the same method+pattern replaces.
  void add_route(std::string method, std::string pattern, RouteHandler handler, RouteOptions options = {});
  void add_stream_route(std::string method, std::string pattern, StreamHandler handler, RouteOptions options = {});
  void add_upgrade_route(std::string pattern, UpgradeHandler handler, RouteOptions options = {});

  // Binds a listener (port 0 picks a free port; a Unix socket is created 0600
  // with no window of looser rights). Returns the bound endpoint. Throws
  // std::runtime_error with the reason, also for a non-loopback TCP listener
  // without TLS (unless allow_insecure_listen). `tls` forces TLS on loopback
  // too (tests).
  Endpoint listen(const Endpoint& ep, bool tls = false);
  std::vector<Endpoint> endpoints() const;

  void start();  // accept threads
  // Stops accepting, lets streams flush what they hold, waits up to `grace`
  // for connections to finish, then closes them. Removes Unix socket files.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  bool stopping() const { return stopping_.load(); }

  // Counters for /metrics.
  struct Stats {
    std::uint64_t requests = 0;
    std::uint64_t errors_4xx = 0;
    std::uint64_t errors_5xx = 0;
    std::uint64_t rejected_connections = 0;
    std::uint64_t active_connections = 0;
    std::uint64_t evicted_connections = 0;  // unauthenticated ones closed to make room
    std::uint64_t header_timeouts = 0;
    std::uint64_t auth_failures = 0;        // 401
    std::uint64_t forbidden = 0;            // 403: role or topic rules
    std::uint64_t upgraded = 0;             // connections handed to an upgrade route
    std::array<std::uint64_t, kRouteClassCount> rate_limited{};  // 429 by route class
  };
  Stats stats() const;

  // Dispatches a parsed request (also used by tests without a socket).
  HttpResponse dispatch(HttpRequest& req, bool& is_stream, StreamHandler& stream_out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stopping_{false};
};

}  // namespace nautilus::control
