#include "marketdata/sources/http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <charconv>
#include <ctime>
#include <mutex>

namespace nautilus::md {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  HttpResponse* response;
  std::size_t max_body;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->response->body.size() + n > t->max_body) {
    t->too_large = true;
    return 0;  // curl aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response->body.append(data, n);
  return n;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool header_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != std::tolower(static_cast<unsigned char>(name[i]))) return false;
  }
  return true;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect or 100): forget the last one's headers
    t->response->retry_after_ms = -1;
    t->response->content_type.clear();
  } else if (header_is(line, "retry-after")) {
    t->response->retry_after_ms = parse_retry_after_ms(trim(line.substr(12)), static_cast<std::int64_t>(std::time(nullptr)));
  } else if (header_is(line, "content-type")) {
    t->response->content_type = std::string(trim(line.substr(13)));
  }
  return n;
}

}  // namespace

std::int64_t parse_retry_after_ms(std::string_view value, std::int64_t now_unix_s) {
  value = trim(value);
  if (value.empty()) return -1;
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) return seconds < 0 ? -1 : seconds * 1000;
  std::tm tm{};
  std::string text(value);
  const char* rest = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest == nullptr || *rest != '\0') return -1;
  std::int64_t at = static_cast<std::int64_t>(::timegm(&tm));
  return at <= now_unix_s ? 0 : (at - now_unix_s) * 1000;
}

std::string url_encode_component(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

HttpClient::HttpClient(HttpClientConfig config) : config_(std::move(config)) {
  global_init_once();
  handle_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (handle_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(handle_));
}

HttpResponse HttpClient::get(const std::string& url, const std::vector<std::string>& headers) {
  HttpResponse response;
  auto* curl = static_cast<CURL*>(handle_);
  if (curl == nullptr) {
    response.outcome = HttpOutcome::kConnect;
    response.error = "libcurl could not make a handle";
    return response;
  }
  // The handle keeps its connection cache across reset; only options go.
  curl_easy_reset(curl);
  Transfer transfer{&response, config_.max_body_bytes};
  char error_buffer[CURL_ERROR_SIZE] = {};
  curl_slist* header_list = nullptr;
  for (const auto& h : headers) header_list = curl_slist_append(header_list, h.c_str());

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: we run in a threaded daemon
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // every encoding curl can decode (gzip, deflate, ...)
  curl_easy_setopt(curl, CURLOPT_USERAGENT, config_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, config_.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, config_.verify_tls ? 2L : 0L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);  // DBnomics answers "latest" releases with a 302
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(config_.max_body_bytes));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  if (header_list != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);

  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_slist_free_all(header_list);

  if (rc == CURLE_OK) {
    response.outcome = HttpOutcome::kOk;
    return response;
  }
  response.error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
  if (transfer.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    response.outcome = HttpOutcome::kTooLarge;
    response.error = "response body over the " + std::to_string(config_.max_body_bytes) + "-byte limit";
    response.body.clear();
    response.body.shrink_to_fit();
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    response.outcome = HttpOutcome::kTimeout;
  } else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
             rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION) {
    response.outcome = HttpOutcome::kConnect;
  } else {
    response.outcome = HttpOutcome::kTransfer;
  }
  return response;
}

}  // namespace nautilus::md
