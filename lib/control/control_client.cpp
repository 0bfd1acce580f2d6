#include "control/control_client.h"

#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cctype>
#include <cstdlib>
#include <system_error>

#include "control/socket_io.h"
#include "control/transport.h"
#include "core/clock.h"

namespace nautilus::control {
namespace http = boost::beast::http;

namespace {

std::string endpoint_text(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!url.starts_with(scheme)) continue;
    url.remove_prefix(scheme.size());
    if (auto slash = url.find('/'); slash != std::string_view::npos) url = url.substr(0, slash);
  }
  return std::string(url);
}

bool is_https(std::string_view url) { return url.starts_with("https://"); }

std::int64_t deadline_after(std::chrono::milliseconds d) {
  if (d.count() <= 0) return 0;
  return monotonic_now_ns() + static_cast<std::int64_t>(d.count()) * 1'000'000;
}

// One request on a fresh connection (the CLI makes a handful; keep-alive buys nothing).
class Exchange {
 public:
  Exchange(const Endpoint& ep, const std::string& url, std::int64_t deadline) : url_(url), deadline_(deadline) {
    try {
      fd_ = connect_to(ep, deadline);
    } catch (const std::system_error& e) {
      throw DaemonUnreachable("cannot reach nautilusd at " + url + ": " + e.code().message() +
                              " (is it running? see --url / NAUTILUS_URL / NAUTILUS_STATE_DIR)");
    }
    if (!fd_) throw Timeout("timed out connecting to nautilusd at " + url);
    if (is_https(url)) {
      // The server's certificate against the system's trust store, plus
      // NAUTILUS_CA_FILE (a self-signed or private CA).
      const char* ca = std::getenv("NAUTILUS_CA_FILE");
      std::string why;
      io_ = tls_connect(fd_.get(), ep.host, ca ? ca : "", deadline, why);
      if (!io_) throw DaemonUnreachable("TLS to nautilusd at " + url + ": " + why + " (see NAUTILUS_CA_FILE)");
    } else {
      io_ = plain_transport(fd_.get());
    }
    parser_.body_limit(std::uint64_t{1} << 62);  // streams are long; (boost::none trips a 1.74 bug)
    parser_.header_limit(64 * 1024);
  }

  void send(std::string_view method, std::string_view path, const std::string& host, const std::string& token,
            const std::string* body, bool stream) {
    std::string req;
    req.reserve(256 + (body ? body->size() : 0));
    req.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
    req.append("\r\nUser-Agent: nautilus-cli\r\nAccept: ").append(stream ? "application/x-ndjson" : "application/json");
    req.append("\r\nConnection: close\r\n");
    if (!token.empty()) req.append("Authorization: Bearer ").append(token).append("\r\n");
    if (body) {
      req.append("Content-Type: application/json\r\nContent-Length: ").append(std::to_string(body->size()));
      req.append("\r\n\r\n").append(*body);
    } else {
      req.append("\r\n");
    }
    IoResult r = io_->write_all(req, deadline_);
    if (r == IoResult::kTimeout) throw Timeout("timed out sending to nautilusd at " + url_);
    if (r != IoResult::kOk) throw DaemonUnreachable("connection to nautilusd at " + url_ + " failed while sending");
  }

  // Feeds the parser until `done()` is true. Returns false at the deadline.
  template <class Done>
  bool pump(Done done) {
    char buf[16384];
    while (!done()) {
      std::size_t n = 0;
      IoResult r = io_->read_some(buf, sizeof(buf), n, deadline_, -1);
      if (r == IoResult::kTimeout) return false;
      boost::beast::error_code ec;
      if (r == IoResult::kClosed) {
        if (!parser_.got_some()) {
          throw DaemonUnreachable("nautilusd at " + url_ + " closed the connection without answering");
        }
        parser_.put_eof(ec);
        if (ec) throw ProtocolError("truncated answer from " + url_ + ": " + ec.message());
        return true;
      }
      if (r != IoResult::kOk) throw DaemonUnreachable("connection to nautilusd at " + url_ + " failed");
      pending_.append(buf, n);
      while (!pending_.empty() && !parser_.is_done()) {
        std::size_t used = parser_.put(boost::asio::buffer(pending_.data(), pending_.size()), ec);
        pending_.erase(0, used);
        if (ec == http::error::need_more) break;
        if (ec) throw ProtocolError("bad answer from " + url_ + ": " + ec.message());
        if (used == 0) break;
      }
    }
    return true;
  }

  http::response_parser<http::string_body>& parser() { return parser_; }

 private:
  std::string url_;
  std::int64_t deadline_;
  Fd fd_;
  std::unique_ptr<Transport> io_;  // after fd_: closed (TLS close_notify) before the socket
  http::response_parser<http::string_body> parser_;
  std::string pending_;
};

ControlResponse to_response(http::response<http::string_body>& res) {
  ControlResponse out;
  out.status = static_cast<int>(res.result_int());
  const std::string& b = res.body();
  if (!b.empty()) {
    out.body = nlohmann::json::parse(b, nullptr, false);
    if (out.body.is_discarded()) out.body = nlohmann::json{{"text", b}};
  }
  return out;
}

}  // namespace

ControlClient::ControlClient(std::string url, std::string token, std::chrono::milliseconds timeout)
    : url_(std::move(url)), token_(std::move(token)), timeout_(timeout) {
  (void)parse_endpoint(endpoint_text(url_));  // validate now: a bad URL is a usage error
}

ControlResponse ControlClient::request(std::string_view method, std::string_view path, const nlohmann::json* body) {
  std::string ep_text = endpoint_text(url_);
  Endpoint ep = parse_endpoint(ep_text);
  std::int64_t deadline = deadline_after(timeout_);
  Exchange ex(ep, url_, deadline);
  std::string text;
  if (body) text = body->dump();
  ex.send(method, path, ep.is_unix ? std::string("localhost") : ep_text, token_, body ? &text : nullptr, false);
  if (!ex.pump([&] { return ex.parser().is_done(); })) {
    throw Timeout("nautilusd at " + url_ + " did not answer within " + std::to_string(timeout_.count()) + " ms");
  }
  auto res = ex.parser().release();
  return to_response(res);
}

void ControlClient::check(const ControlResponse& r) {
  if (r.status >= 200 && r.status < 300) return;
  std::string code, message;
  if (r.body.is_object() && r.body.contains("error") && r.body["error"].is_object()) {
    code = r.body["error"].value("code", "");
    message = r.body["error"].value("message", "");
  }
  if (message.empty()) message = "HTTP " + std::to_string(r.status);
  switch (r.status) {
    case 400: throw BadRequest(message, r.status, code);
    case 401:
    case 403: throw Unauthorized(message, r.status, code);
    case 404: throw NotFound(message, r.status, code);
    case 408:
    case 504: throw Timeout(message, r.status, code);
    default: throw ControlError(message, r.status, code);
  }
}

ControlResponse ControlClient::get(std::string_view path) {
  ControlResponse r = request("GET", path, nullptr);
  check(r);
  return r;
}

ControlResponse ControlClient::post(std::string_view path, const nlohmann::json& body) {
  ControlResponse r = request("POST", path, &body);
  check(r);
  return r;
}

ControlClient::StreamEnd ControlClient::stream(std::string_view path,
                                               const std::function<bool(std::string_view line)>& on_line,
                                               std::chrono::milliseconds deadline,
                                               const std::function<void()>& on_open) {
  std::string ep_text = endpoint_text(url_);
  Endpoint ep = parse_endpoint(ep_text);
  std::int64_t end = deadline_after(deadline);  // bounds connect, header and stream
  Exchange ex(ep, url_, end);
  ex.send("GET", path, ep.is_unix ? std::string("localhost") : ep_text, token_, nullptr, true);
  auto& p = ex.parser();
  if (!ex.pump([&] { return p.is_header_done(); })) return StreamEnd::kDeadline;
  int status = static_cast<int>(p.get().result_int());
  if (status < 200 || status >= 300) {
    if (!ex.pump([&] { return p.is_done(); })) throw Timeout("timed out reading an error from " + url_);
    auto res = p.release();
    check(to_response(res));
  }
  if (on_open) on_open();
  bool stopped = false;
  auto drain_lines = [&] {
    std::string& body = p.get().body();
    std::size_t start = 0;
    for (;;) {
      auto nl = body.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(body.data() + start, nl - start);
      start = nl + 1;
      if (!line.empty() && !on_line(line)) {
        stopped = true;
        break;
      }
    }
    body.erase(0, start);
  };
  drain_lines();
  if (stopped) return StreamEnd::kStopped;
  bool in_time = ex.pump([&] {
    drain_lines();
    return stopped || p.is_done();
  });
  if (!stopped) drain_lines();
  if (!in_time) return stopped ? StreamEnd::kStopped : StreamEnd::kDeadline;
  return stopped ? StreamEnd::kStopped : StreamEnd::kEnded;
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '*') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace nautilus::control
