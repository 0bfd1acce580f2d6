// The server side of the control API: a small HTTP/1.1 server on TCP and Unix
// sockets with a route table. Routes are registered by pattern
// ("/api/v1/engines/{name}/start"), so other parts of the daemon plug in
// without touching the server. JSON in, JSON out; errors are
// {"error":{"code","message"}}. Bounded: header and body size, connections.
// A bearer token guards mutating routes and every route on a non-loopback
// listener (except /health).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/socket_io.h"

namespace nautilus::control {

struct HttpRequest {
  std::string method;                         // "GET", "POST", ...
  std::string path;                           // without the query
  std::map<std::string, std::string> query;   // decoded
  std::map<std::string, std::string> params;  // from {name} segments
  std::string body;
  bool loopback = true;  // arrived on a loopback or Unix listener
  // The body as JSON (an empty body is an empty object). Throws HttpError 400.
  nlohmann::json json() const;
  // A query parameter or `fallback`.
  std::string query_or(const std::string& key, std::string fallback = {}) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
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
  bool mutating = false;  // needs the token on every listener
  bool public_route = false;  // no token even off loopback (/health)
};

using RouteHandler = std::function<HttpResponse(const HttpRequest&)>;
using StreamHandler = std::function<void(const HttpRequest&, StreamWriter&)>;

struct ServerOptions {
  std::string token;                 // empty: no token checks at all (tests only)
  std::size_t max_connections = 64;  // beyond this: 503 and close
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{30'000};  // per request read
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

  // Binds a listener (port 0 picks a free port; a Unix socket is created 0600
  // with no window of looser rights). Returns the bound endpoint. Throws
  // std::runtime_error with the reason.
  Endpoint listen(const Endpoint& ep);
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
