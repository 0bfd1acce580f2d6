// A real HTTP/1.1 server on 127.0.0.1 (port 0) that stands in for the market
// data providers in tests: each path answers what its handler says, in the
// provider's recorded shape, and can also misbehave the ways providers do
// (gzip, 429 + Retry-After, 5xx, a hanging body, a truncated body, a huge
// body). Every request is recorded with the time of the test's clock, so a
// test can assert no rate limit was exceeded in any window. No internet.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace nautilus::md::testing {

struct FixtureRequest {
  std::string path;    // without the query
  std::string query;   // after '?', raw
  std::map<std::string, std::string> headers;  // lower-case names
  std::int64_t at_ns = 0;                      // the test clock when it arrived
  std::size_t connection = 0;                  // which accepted connection carried it
  std::string param(const std::string& name) const;  // a query value, percent-decoded
};

struct FixtureResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  bool gzip = false;                 // gzip the body (Content-Encoding: gzip)
  std::int64_t hang_ms = 0;          // send the headers, then stall this long before the body
  std::size_t truncate_to = SIZE_MAX;  // announce the whole body, send only this much, then close
  std::size_t filler_bytes = 0;      // body of this many bytes of JSON-ish filler, streamed
};

class FixtureServer {
 public:
  using Handler = std::function<FixtureResponse(const FixtureRequest&)>;

  // `now` stamps each request (the test's SimulatedClock); default 0.
  explicit FixtureServer(std::function<std::int64_t()> now = {});
  ~FixtureServer();
  FixtureServer(const FixtureServer&) = delete;
  FixtureServer& operator=(const FixtureServer&) = delete;

  void route(const std::string& path, Handler handler);           // exact path
  void route(const std::string& path, FixtureResponse response);  // always this answer
  std::string base_url() const;                                   // http://127.0.0.1:<port>

  std::vector<FixtureRequest> requests() const;
  std::size_t count(const std::string& path_prefix = "") const;
  std::size_t connections() const;
  // The most requests (to paths starting with `path_prefix`) stamped within
  // any half-open window [t, t + window_ns).
  std::size_t max_in_window(std::int64_t window_ns, const std::string& path_prefix = "") const;

 private:
  void accept_loop();
  void serve(int fd, std::size_t connection);
  bool send_response(int fd, const FixtureRequest& req, const FixtureResponse& r);
  bool stall(std::int64_t ms);  // false when the server is stopping

  std::function<std::int64_t()> now_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::map<std::string, Handler> routes_;
  std::vector<FixtureRequest> requests_;
  std::vector<int> open_fds_;
  std::vector<std::thread> workers_;
  std::size_t connections_ = 0;
};

// gzip (RFC 1952) of `data`, for asserting a gzipped body decodes.
std::string gzip_bytes(const std::string& data);

}  // namespace nautilus::md::testing
