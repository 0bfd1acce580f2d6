// The client side of the control API, used by the CLI: JSON requests to
// nautilusd over TCP (http://host:port) or a Unix socket (unix:/path), and NDJSON
// streams (bus subscribe). Failures are distinct exception types so the CLI can
// map them onto its exit codes (unreachable 3, not found 4, timeout 5).
#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nautilus::control {

// Base of every control-client failure. `http_status` is 0 when there was no
// HTTP answer; `code` is the server's error code ("not_found", ...) if any.
class ControlError : public std::runtime_error {
 public:
  ControlError(const std::string& message, int http_status = 0, std::string code = {})
      : std::runtime_error(message), http_status_(http_status), code_(std::move(code)) {}
  int http_status() const { return http_status_; }
  const std::string& code() const { return code_; }

 private:
  int http_status_;
  std::string code_;
};
class DaemonUnreachable : public ControlError { using ControlError::ControlError; };  // connect failed
class NotFound : public ControlError { using ControlError::ControlError; };           // HTTP 404
class Timeout : public ControlError { using ControlError::ControlError; };            // no answer in time
class Unauthorized : public ControlError { using ControlError::ControlError; };       // HTTP 401/403
class BadRequest : public ControlError { using ControlError::ControlError; };         // HTTP 400
class ProtocolError : public ControlError { using ControlError::ControlError; };      // not HTTP/JSON

struct ControlResponse {
  int status = 0;
  nlohmann::json body;  // null when the body was empty
};

class ControlClient {
 public:
  // `url`: http://host:port, https://host:port (TLS; the certificate checked
  // against the system's CAs and NAUTILUS_CA_FILE), host:port, unix:/path or
  // /path. Throws std::invalid_argument for a malformed URL.
  explicit ControlClient(std::string url, std::string token = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Throw the exceptions above for a non-2xx answer.
  ControlResponse get(std::string_view path);
  ControlResponse post(std::string_view path, const nlohmann::json& body = nlohmann::json::object());
  // Any status is returned; throws only for transport failures.
  ControlResponse request(std::string_view method, std::string_view path, const nlohmann::json* body);

  // GET `path` and hand each NDJSON line to `on_line` until it returns false or
  // the server ends the stream. `deadline` (0 = none) bounds the whole stream.
  enum class StreamEnd { kStopped, kEnded, kDeadline };
  StreamEnd stream(std::string_view path, const std::function<bool(std::string_view line)>& on_line,
                   std::chrono::milliseconds deadline = std::chrono::milliseconds(0),
                   const std::function<void()>& on_open = {});  // after a 2xx head: the stream is live

  const std::string& url() const { return url_; }
  // Throws the exception matching `r.status` (no-op for 2xx).
  static void check(const ControlResponse& r);

 private:
  std::string url_;
  std::string token_;
  std::chrono::milliseconds timeout_;
};

// Percent-encodes a query parameter value.
std::string url_encode(std::string_view s);

}  // namespace nautilus::control
