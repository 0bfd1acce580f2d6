// A small blocking HTTP GET client for the market-data sources, on one libcurl
// easy handle per client so connections are kept alive between calls to the
// same provider. Bodies may be gzip/deflate-encoded (curl decodes them); TLS
// peers are verified unless the source is configured otherwise (IBKR's local
// gateway has a self-signed certificate). A body over `max_body_bytes` is
// aborted, not buffered. get() never throws: the outcome says what happened.
//
// Not thread-safe: one client belongs to one source, and the hub calls a
// source from one flight at a time per key; the source serialises its calls.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nautilus::md {

struct HttpClientConfig {
  std::int64_t timeout_ms = 10'000;         // whole request, body included
  std::int64_t connect_timeout_ms = 5'000;
  std::size_t max_body_bytes = 16u << 20;   // 16 MiB
  std::string user_agent = "nautilus/1.0";
  bool verify_tls = true;
};

enum class HttpOutcome : unsigned char {
  kOk,          // a response arrived (any status)
  kTimeout,     // connect or transfer took longer than allowed
  kConnect,     // no connection (refused, DNS, TLS handshake)
  kTooLarge,    // the body passed max_body_bytes: aborted
  kTransfer,    // the connection broke mid-response (truncated body, ...)
};

struct HttpResponse {
  HttpOutcome outcome = HttpOutcome::kTransfer;
  long status = 0;
  std::string body;
  std::string content_type;
  std::int64_t retry_after_ms = -1;  // the Retry-After header, -1 when absent
  std::string error;                 // libcurl's words for a failed transfer (no URL in it)
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientConfig config = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GET `url` with extra request headers ("Name: value").
  HttpResponse get(const std::string& url, const std::vector<std::string>& headers = {});
  const HttpClientConfig& config() const { return config_; }

 private:
  HttpClientConfig config_;
  void* handle_ = nullptr;  // CURL*
};

// Retry-After as milliseconds: delta-seconds ("120") or an HTTP date
// ("Wed, 21 Oct 2015 07:28:00 GMT", relative to `now_unix_s`). -1 if neither.
std::int64_t parse_retry_after_ms(std::string_view value, std::int64_t now_unix_s);

// Percent-encodes a query value (RFC 3986 unreserved characters kept).
std::string url_encode_component(std::string_view text);

}  // namespace nautilus::md
