#include "control/control_server.h"
#include "control/state_dir.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "core/clock.h"

namespace nautilus::control {
namespace http = boost::beast::http;

// ---------------------------------------------------------------- request/response

nlohmann::json HttpRequest::json() const {
  if (body.empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) throw HttpError(400, "bad_json", "request body is not valid JSON");
  return j;
}

std::string HttpRequest::query_or(const std::string& key, std::string fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

HttpResponse HttpResponse::json(const nlohmann::json& j, int status) {
  HttpResponse r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.body += '\n';
  return r;
}

HttpResponse HttpResponse::text(std::string body, std::string content_type) {
  HttpResponse r;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

HttpResponse HttpResponse::error(int status, std::string_view code, std::string_view message) {
  return json({{"error", {{"code", code}, {"message", message}}}}, status);
}

namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '/') {
      ++i;
      continue;
    }
    std::size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    out.push_back(p.substr(i, j - i));
    i = j;
  }
  return out;
}

bool token_equal(std::string_view a, std::string_view b) {
  // Constant time in the length of the expected token.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff |= static_cast<unsigned char>((i < a.size() ? a[i] : 0) ^ b[i]);
  }
  return diff == 0;
}

struct Route {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments;
  RouteHandler handler;
  StreamHandler stream;
  RouteOptions options;
};

bool match(const Route& r, const std::vector<std::string_view>& parts, std::map<std::string, std::string>& params) {
  if (r.segments.size() != parts.size()) return false;
  std::map<std::string, std::string> captured;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& seg = r.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      captured[seg.substr(1, seg.size() - 2)] = percent_decode(parts[i], false);
    } else if (seg != parts[i]) {
      return false;
    }
  }
  params = std::move(captured);
  return true;
}

}  // namespace

// ---------------------------------------------------------------- server

struct ControlServer::Impl {
  ServerOptions options;
  std::vector<Route> routes;
  struct Listener {
    Endpoint ep;
    Fd fd;
  };
  std::vector<Listener> listeners;
  Fd wake_read, wake_write;  // written once at stop: every poll sees it
  std::thread acceptor;
  struct Conn {
    std::thread thread;
    std::atomic<bool> done{false};
    int fd = -1;
  };
  mutable std::mutex conn_mu;
  std::list<Conn> conns;
  std::atomic<std::uint64_t> requests{0}, errors_4xx{0}, errors_5xx{0}, rejected{0};
  ControlServer* self = nullptr;

  void accept_loop();
  void serve(int fd, bool loopback);
  void reap(bool all);
  bool write_response(int fd, const HttpResponse& r, bool keep_alive);
  void count(int status) {
    ++requests;
    if (status >= 500) ++errors_5xx;
    else if (status >= 400) ++errors_4xx;
  }
};

ControlServer::ControlServer(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->self = this;
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  impl_->wake_read = Fd(p[0]);
  impl_->wake_write = Fd(p[1]);
}

ControlServer::~ControlServer() { stop(std::chrono::milliseconds(0)); }

void ControlServer::add_route(std::string method, std::string pattern, RouteHandler handler, RouteOptions options) {
  Route r;
  r.method = std::move(method);
  r.segments.clear();
  for (auto s : split_path(pattern)) r.segments.emplace_back(s);
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  r.options = options;
  for (auto& existing : impl_->routes) {
    if (existing.method == r.method && existing.pattern == r.pattern) {
      existing = std::move(r);
      return;
    }
  }
  impl_->routes.push_back(std::move(r));
}

void ControlServer::add_stream_route(std::string method, std::string pattern, StreamHandler handler,
                                     RouteOptions options) {
  add_route(method, pattern, nullptr, options);
  for (auto& r : impl_->routes) {
    if (r.method == method && r.pattern == pattern) r.stream = std::move(handler);
  }
}

Endpoint ControlServer::listen(const Endpoint& ep) {
  Impl::Listener l;
  l.ep = ep;
  if (ep.is_unix) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, ep.path.c_str(), ep.path.size() + 1);
    // A stale socket file from a crashed run is replaced; anything else is not ours.
    struct stat st{};
    if (::lstat(ep.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) throw std::runtime_error(ep.path + " exists and is not a socket");
      Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
        throw std::runtime_error(ep.path + " is in use by another nautilusd");
      }
      ::unlink(ep.path.c_str());
    }
    l.fd = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    // umask around bind: the socket file is born 0600, never looser; 0660
    // when its directory is shared with the operators' group.
    auto slash = ep.path.find_last_of('/');
    std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : ep.path.substr(0, slash);
    mode_t old = ::umask(shared_with_group(parent) ? 0117 : 0177);
    int rc = ::bind(l.fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    int err = errno;
    ::umask(old);
    if (rc != 0) throw std::runtime_error("cannot bind " + ep.path + ": " + std::strerror(err));
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string port = std::to_string(ep.port);
    int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || !res) throw std::runtime_error("cannot resolve " + ep.host + ": " + gai_strerror(rc));
    l.fd = Fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    int one = 1;
    ::setsockopt(l.fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    rc = ::bind(l.fd.get(), res->ai_addr, res->ai_addrlen);
    int err = errno;
    ::freeaddrinfo(res);
    if (rc != 0) throw std::runtime_error("cannot listen on " + ep.to_string() + ": " + std::strerror(err));
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ::getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    if (ss.ss_family == AF_INET) {
      l.ep.port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      l.ep.port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    }
  }
  if (::listen(l.fd.get(), 128) != 0) {
    throw std::runtime_error("cannot listen on " + ep.to_string() + ": " + std::strerror(errno));
  }
  Endpoint bound = l.ep;
  impl_->listeners.push_back(std::move(l));
  return bound;
}

std::vector<Endpoint> ControlServer::endpoints() const {
  std::vector<Endpoint> out;
  for (const auto& l : impl_->listeners) out.push_back(l.ep);
  return out;
}

void ControlServer::start() {
  if (impl_->acceptor.joinable()) return;
  impl_->acceptor = std::thread([this] { impl_->accept_loop(); });
}

void ControlServer::stop(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) {
    if (impl_->acceptor.joinable()) impl_->acceptor.join();
    return;
  }
  char c = 1;
  (void)!::write(impl_->wake_write.get(), &c, 1);
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  // Streams see server_stopping(), flush and end; idle keep-alive connections
  // wake on the pipe. Past the grace period, sockets are shut down under them.
  std::int64_t deadline = monotonic_now_ns() + static_cast<std::int64_t>(grace.count()) * 1'000'000;
  for (;;) {
    impl_->reap(false);
    {
      std::lock_guard lock(impl_->conn_mu);
      if (impl_->conns.empty()) break;
      if (monotonic_now_ns() >= deadline) {
        for (auto& conn : impl_->conns) ::shutdown(conn.fd, SHUT_RDWR);
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->reap(true);
  for (auto& l : impl_->listeners) {
    if (l.ep.is_unix) ::unlink(l.ep.path.c_str());
    l.fd.reset();
  }
}

ControlServer::Stats ControlServer::stats() const {
  Stats s;
  s.requests = impl_->requests.load();
  s.errors_4xx = impl_->errors_4xx.load();
  s.errors_5xx = impl_->errors_5xx.load();
  s.rejected_connections = impl_->rejected.load();
  std::lock_guard lock(impl_->conn_mu);
  for (const auto& c : impl_->conns) s.active_connections += c.done ? 0 : 1;
  return s;
}

void ControlServer::Impl::reap(bool all) {
  std::list<Conn> finished;
  {
    std::lock_guard lock(conn_mu);
    for (auto it = conns.begin(); it != conns.end();) {
      auto next = std::next(it);
      if (all || it->done) finished.splice(finished.end(), conns, it);
      it = next;
    }
  }
  for (auto& c : finished) {
    if (c.thread.joinable()) c.thread.join();
  }
}

void ControlServer::Impl::accept_loop() {
  std::vector<pollfd> fds;
  for (auto& l : listeners) fds.push_back({l.fd.get(), POLLIN, 0});
  fds.push_back({wake_read.get(), POLLIN, 0});
  while (!self->stopping()) {
    for (auto& p : fds) p.revents = 0;
    int r = ::poll(fds.data(), fds.size(), 1000);
    reap(false);
    if (r <= 0) continue;
    if (fds.back().revents & POLLIN) break;
    for (std::size_t i = 0; i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      int cfd = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (cfd < 0) continue;
      bool loopback = listeners[i].ep.is_loopback();
      if (!listeners[i].ep.is_unix) {
        int one = 1;
        ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      }
      std::lock_guard lock(conn_mu);
      std::size_t active = 0;
      for (const auto& c : conns) active += c.done ? 0 : 1;
      if (active >= options.max_connections) {
        ++rejected;
        HttpResponse busy = HttpResponse::error(503, "too_many_connections", "connection limit reached");
        write_response(cfd, busy, false);
        ::close(cfd);
        continue;
      }
      Conn& c = conns.emplace_back();
      c.fd = cfd;
      c.thread = std::thread([this, cfd, loopback, &c] {
        serve(cfd, loopback);
        ::close(cfd);
        c.done = true;
      });
    }
  }
}

bool ControlServer::Impl::write_response(int fd, const HttpResponse& r, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason_phrase(r.status)) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "Cache-Control: no-store\r\n\r\n";
  out += r.body;
  return write_all(fd, out, monotonic_now_ns() + 10'000'000'000) == IoResult::kOk;
}

namespace {

class ChunkedWriter final : public StreamWriter {
 public:
  ChunkedWriter(int fd, const ControlServer& server) : fd_(fd), server_(server) {}
  bool write(std::string_view data) override {
    if (gone_) return false;
    if (!send_head()) return false;
    if (data.empty()) return true;
    char size[32];
    int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    std::string chunk(size, static_cast<std::size_t>(n));
    chunk.append(data).append("\r\n");
    if (write_all(fd_, chunk, monotonic_now_ns() + 10'000'000'000) != IoResult::kOk) gone_ = true;
    return !gone_;
  }
  bool client_gone() override {
    if (gone_) return true;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      char c;
      ssize_t r = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) gone_ = true;
      if (p.revents & (POLLHUP | POLLERR)) gone_ = true;
    }
    return gone_;
  }
  bool server_stopping() const override { return server_.stopping(); }
  void finish() {
    if (send_head()) (void)write_all(fd_, "0\r\n\r\n", monotonic_now_ns() + 1'000'000'000);
  }
  bool head_sent() const { return head_sent_; }
  // The 200 head goes out with the first data, so a handler can still refuse
  // (HttpError) before writing anything.
  bool send_head() {
    if (head_sent_) return !gone_;
    head_sent_ = true;
    static constexpr std::string_view kHead =
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\nCache-Control: no-store\r\n\r\n";
    if (write_all(fd_, kHead, monotonic_now_ns() + 10'000'000'000) != IoResult::kOk) gone_ = true;
    return !gone_;
  }

 private:
  int fd_;
  const ControlServer& server_;
  bool gone_ = false;
  bool head_sent_ = false;
};

}  // namespace

void ControlServer::Impl::serve(int fd, bool loopback) {
  std::string pending;
  char buf[16384];
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);
    boost::beast::error_code ec;
    std::int64_t deadline = monotonic_now_ns() + static_cast<std::int64_t>(options.idle_timeout.count()) * 1'000'000;
    // Parse what is buffered, reading more until a whole request is there.
    for (;;) {
      while (!pending.empty() && !parser.is_done()) {
        std::size_t used = parser.put(boost::asio::buffer(pending.data(), pending.size()), ec);
        pending.erase(0, used);
        if (ec == http::error::need_more) {
          ec = {};
          break;
        }
        if (ec || used == 0) break;
      }
      if (ec || parser.is_done()) break;
      std::size_t n = 0;
      // Between requests the stop pipe ends an idle keep-alive connection.
      IoResult r = read_some(fd, buf, sizeof(buf), n, deadline, parser.got_some() ? -1 : wake_read.get());
      if (r == IoResult::kTimeout) {
        if (parser.got_some()) write_response(fd, HttpResponse::error(408, "timeout", "request not received in time"), false);
        return;
      }
      if (r != IoResult::kOk) return;
      pending.append(buf, n);
    }
    if (ec) {
      int status = 400;
      std::string code = "bad_request";
      if (ec == http::error::body_limit) {
        status = 413;
        code = "body_too_large";
      } else if (ec == http::error::header_limit) {
        status = 431;
        code = "header_too_large";
      }
      count(status);
      write_response(fd, HttpResponse::error(status, code, "malformed request: " + ec.message()), false);
      return;
    }
    auto msg = parser.release();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    std::string_view target(msg.target().data(), msg.target().size());
    auto q = target.find('?');
    req.path = percent_decode(target.substr(0, q), false);
    if (q != std::string_view::npos) {
      std::string_view qs = target.substr(q + 1);
      while (!qs.empty()) {
        auto amp = qs.find('&');
        std::string_view kv = qs.substr(0, amp);
        auto eq = kv.find('=');
        if (!kv.empty()) {
          req.query[percent_decode(kv.substr(0, eq), true)] =
              eq == std::string_view::npos ? std::string() : percent_decode(kv.substr(eq + 1), true);
        }
        if (amp == std::string_view::npos) break;
        qs.remove_prefix(amp + 1);
      }
    }
    req.body = std::move(msg.body());
    req.loopback = loopback;
    auto auth = msg[http::field::authorization];
    req.params["__authorization"] = std::string(auth);
    bool keep_alive = msg.keep_alive() && !self->stopping();

    bool is_stream = false;
    StreamHandler stream;
    HttpResponse res = self->dispatch(req, is_stream, stream);
    if (!is_stream) {
      count(res.status);
      if (!write_response(fd, res, keep_alive) || !keep_alive) return;
      continue;
    }
    ChunkedWriter writer(fd, *self);
    try {
      stream(req, writer);
    } catch (const HttpError& e) {
      if (!writer.head_sent()) {
        count(e.status());
        write_response(fd, HttpResponse::error(e.status(), e.code(), e.what()), false);
        return;
      }
      writer.write(nlohmann::json{{"error", {{"code", e.code()}, {"message", e.what()}}}}.dump() + "\n");
    } catch (const std::exception& e) {
      if (!writer.head_sent()) {
        count(500);
        write_response(fd, HttpResponse::error(500, "internal", e.what()), false);
        return;
      }
      // The head is out: report in-band as a last NDJSON line.
      writer.write(nlohmann::json{{"error", {{"code", "internal"}, {"message", e.what()}}}}.dump() + "\n");
    }
    count(200);
    writer.finish();
    return;
  }
}

HttpResponse ControlServer::dispatch(HttpRequest& req, bool& is_stream, StreamHandler& stream_out) {
  is_stream = false;
  std::string authorization = req.params["__authorization"];
  req.params.clear();
  auto parts = split_path(req.path);
  const Route* found = nullptr;
  bool path_matched = false;
  std::map<std::string, std::string> params;
  for (const auto& r : impl_->routes) {
    std::map<std::string, std::string> p;
    if (!match(r, parts, p)) continue;
    path_matched = true;
    if (r.method == req.method) {
      found = &r;
      params = std::move(p);
      break;
    }
  }
  if (!found) {
    if (path_matched) return HttpResponse::error(405, "method_not_allowed", req.method + " is not allowed on " + req.path);
    return HttpResponse::error(404, "not_found", "no route " + req.method + " " + req.path);
  }
  const std::string& token = impl_->options.token;
  bool needs_token = !token.empty() && (found->options.mutating || (!req.loopback && !found->options.public_route));
  if (needs_token) {
    constexpr std::string_view kBearer = "Bearer ";
    if (!authorization.starts_with(kBearer)) {
      return HttpResponse::error(401, "unauthorized", "this route needs 'Authorization: Bearer <token>'");
    }
    if (!token_equal(std::string_view(authorization).substr(kBearer.size()), token)) {
      return HttpResponse::error(403, "forbidden", "wrong token");
    }
  }
  req.params = std::move(params);
  if (found->stream) {
    is_stream = true;
    stream_out = found->stream;
    return {};
  }
  try {
    return found->handler(req);
  } catch (const HttpError& e) {
    return HttpResponse::error(e.status(), e.code(), e.what());
  } catch (const nlohmann::json::exception& e) {
    return HttpResponse::error(400, "bad_request", e.what());
  } catch (const std::exception& e) {
    return HttpResponse::error(500, "internal", e.what());
  }
}

}  // namespace nautilus::control
