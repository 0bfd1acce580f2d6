#include "control/control_server.h"
#include "control/http_request_reader.h"
#include "control/state_dir.h"
#include "control/transport.h"

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

#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "core/clock.h"

namespace nautilus::control {

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

std::string HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
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
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
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

struct Route {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments;
  RouteHandler handler;
  StreamHandler stream;
  UpgradeHandler upgrade;
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

// The value of cookie `name` in a Cookie header ("a=1; b=2"), "" when absent.
std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

// "unix uid 1000 pid 4242" or "tcp 127.0.0.1": the key of the per-peer cap.
std::string peer_of(int fd, bool is_unix) {
  if (is_unix) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      return "unix uid " + std::to_string(cred.uid) + " pid " + std::to_string(cred.pid);
    }
    return "unix";
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  char host[INET6_ADDRSTRLEN] = "?";
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    if (ss.ss_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, host, sizeof(host));
    } else if (ss.ss_family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, host, sizeof(host));
    }
  }
  return std::string("tcp ") + host;
}

}  // namespace

// ---------------------------------------------------------------- server

struct ControlServer::Impl {
  ServerOptions options;
  std::shared_ptr<Authenticator> auth;  // null: no checks (tests without a token)
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<TlsContext> tls;
  Clock* clock = nullptr;
  std::vector<Route> routes;
  struct Listener {
    Endpoint ep;
    Fd fd;
    bool tls = false;
  };
  std::vector<Listener> listeners;
  Fd wake_read, wake_write;  // written once at stop: every poll sees it
  std::thread acceptor;
  struct Conn {
    std::thread thread;
    std::atomic<bool> done{false};
    std::atomic<bool> authenticated{false};  // a request carried a valid credential
    bool evicted = false;                    // closed to make room (under conn_mu)
    int fd = -1;                             // -1 once closed (under conn_mu)
    std::string peer;
  };
  mutable std::mutex conn_mu;
  std::list<Conn> conns;
  std::atomic<std::uint64_t> requests{0}, errors_4xx{0}, errors_5xx{0}, rejected{0}, evicted{0}, header_timeouts{0},
      auth_failures{0}, forbidden{0}, upgraded{0};
  ControlServer* self = nullptr;

  void accept_loop();
  void admit(int cfd, const Listener& l);
  Conn* eviction_victim(const std::string& peer);
  void serve(Conn& c, bool loopback, bool use_tls, bool is_unix);
  // Hands the connection to an upgrade route; true when the route took it.
  bool hand_over(Conn& c, Transport& t, const UpgradeHandler& upgrade, HttpRequest& req, bool plain_tcp,
                 const std::string& pending);
  void reap(bool all);
  bool write_response(Transport& t, const HttpResponse& r, bool keep_alive);
  HttpResponse dispatch(HttpRequest& req, bool& is_stream, StreamHandler& stream_out, std::atomic<bool>* authenticated,
                        UpgradeHandler* upgrade_out = nullptr);
  void log(std::string_view level, const std::string& line) const {
    if (options.log) options.log(level, line);
  }
  void audit(const HttpRequest& req, const Route& route, int status) const;
  void count(int status) {
    ++requests;
    if (status >= 500) ++errors_5xx;
    else if (status >= 400) ++errors_4xx;
  }
};

ControlServer::ControlServer(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->self = this;
  impl_->clock = impl_->options.clock ? impl_->options.clock : &live_clock();
  impl_->auth = impl_->options.auth;
  if (!impl_->auth && !impl_->options.token.empty()) {
    AuthOptions ao;
    ao.admin_token = impl_->options.token;
    impl_->auth = std::make_shared<Authenticator>(ao);
  }
  impl_->limiter = std::make_unique<RateLimiter>(*impl_->clock, impl_->options.rate_limits);
  auto& o = impl_->options;
  if (o.max_connections == 0) o.max_connections = 1;
  if (o.reserved_connections >= o.max_connections) o.reserved_connections = o.max_connections - 1;
  if (o.max_connections_per_peer == 0) o.max_connections_per_peer = o.max_connections;
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

void ControlServer::add_upgrade_route(std::string pattern, UpgradeHandler handler, RouteOptions options) {
  add_route("GET", pattern, nullptr, options);
  for (auto& r : impl_->routes) {
    if (r.method == "GET" && r.pattern == pattern) r.upgrade = std::move(handler);
  }
}

void ControlServer::add_stream_route(std::string method, std::string pattern, StreamHandler handler,
                                     RouteOptions options) {
  add_route(method, pattern, nullptr, options);
  for (auto& r : impl_->routes) {
    if (r.method == method && r.pattern == pattern) r.stream = std::move(handler);
  }
}

Endpoint ControlServer::listen(const Endpoint& ep, bool force_tls) {
  Impl::Listener l;
  l.ep = ep;
  if (!ep.is_unix && (force_tls || !ep.is_loopback())) {
    const auto& o = impl_->options;
    if (!o.tls_cert_file.empty() || !o.tls_key_file.empty()) {
      if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
        throw std::runtime_error("TLS needs both a certificate and a key (tls_cert, tls_key)");
      }
      if (!impl_->tls) impl_->tls = std::make_unique<TlsContext>(o.tls_cert_file, o.tls_key_file);
      l.tls = true;
    } else if (force_tls) {
      throw std::runtime_error("TLS asked for on " + ep.to_string() + " but no certificate and key are configured");
    } else if (!o.allow_insecure_listen) {
      throw std::runtime_error("refusing to listen on " + ep.to_string() +
                               " (not loopback) without TLS: set [security] tls_cert and tls_key, or pass "
                               "--insecure-listen");
    }
  }
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
        for (auto& conn : impl_->conns) {
          if (conn.fd >= 0) ::shutdown(conn.fd, SHUT_RDWR);
        }
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
  s.evicted_connections = impl_->evicted.load();
  s.header_timeouts = impl_->header_timeouts.load();
  s.auth_failures = impl_->auth_failures.load();
  s.forbidden = impl_->forbidden.load();
  s.upgraded = impl_->upgraded.load();
  for (std::size_t i = 0; i < kRouteClassCount; ++i) s.rate_limited[i] = impl_->limiter->refused(static_cast<RouteClass>(i));
  std::lock_guard lock(impl_->conn_mu);
  for (const auto& c : impl_->conns) s.active_connections += (c.done || c.evicted) ? 0 : 1;
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

// Under conn_mu. Unauthenticated connections (headers still on their way, or
// served without a credential) may hold max - reserved slots, and one peer at
// most its cap of those; past either, the oldest of the peer's (or of the
// peer holding most) makes room. Authenticated connections are never chosen,
// so a pile of slow or idle clients can neither keep a newcomer out nor push
// a caller with a token off.
ControlServer::Impl::Conn* ControlServer::Impl::eviction_victim(const std::string& peer) {
  std::size_t unauthenticated = 0, of_peer = 0;
  std::map<std::string, std::size_t> by_peer;
  for (auto& c : conns) {
    if (c.done || c.evicted || c.authenticated) continue;
    ++unauthenticated;
    of_peer += c.peer == peer ? 1 : 0;
    ++by_peer[c.peer];
  }
  std::string target;
  if (of_peer >= options.max_connections_per_peer) {
    target = peer;
  } else if (unauthenticated >= options.max_connections - options.reserved_connections) {
    std::size_t most = 0;
    for (const auto& [p, n] : by_peer) {
      if (n > most) {
        most = n;
        target = p;
      }
    }
  } else {
    return nullptr;
  }
  for (auto& c : conns) {  // oldest first: the list is in accept order
    if (!c.done && !c.evicted && !c.authenticated && c.peer == target && c.fd >= 0) return &c;
  }
  return nullptr;
}

void ControlServer::Impl::admit(int cfd, const Listener& l) {
  bool loopback = l.ep.is_loopback();
  bool use_tls = l.tls;
  bool is_unix = l.ep.is_unix;
  if (!l.ep.is_unix) {
    int one = 1;
    ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  std::string peer = peer_of(cfd, l.ep.is_unix);
  std::lock_guard lock(conn_mu);
  std::size_t open = 0;
  for (const auto& c : conns) open += (c.done || c.evicted) ? 0 : 1;
  if (open >= options.max_connections) {
    ++rejected;
    if (!use_tls) {
      auto t = plain_transport(cfd);
      write_response(*t, HttpResponse::error(503, "too_many_connections", "connection limit reached"), false);
    }
    ::close(cfd);
    return;
  }
  if (Conn* victim = eviction_victim(peer)) {
    victim->evicted = true;
    ::shutdown(victim->fd, SHUT_RDWR);  // its thread sees the hang-up and ends
    ++evicted;
  }
  Conn& c = conns.emplace_back();
  c.fd = cfd;
  c.peer = std::move(peer);
  c.thread = std::thread([this, loopback, use_tls, is_unix, &c] {
    serve(c, loopback, use_tls, is_unix);
    std::lock_guard done_lock(conn_mu);
    if (c.fd >= 0) ::close(c.fd);  // -1: handed over to an upgrade route
    c.fd = -1;
    c.done = true;
  });
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
      admit(cfd, listeners[i]);
    }
  }
}

bool ControlServer::Impl::write_response(Transport& t, const HttpResponse& r, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason_phrase(r.status)) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "Cache-Control: no-store\r\n\r\n";
  out += r.body;
  return t.write_all(out, monotonic_now_ns() + 10'000'000'000) == IoResult::kOk;
}

namespace {

class ChunkedWriter final : public StreamWriter {
 public:
  ChunkedWriter(Transport& t, const ControlServer& server) : t_(t), server_(server) {}
  bool write(std::string_view data) override {
    if (gone_) return false;
    if (!send_head()) return false;
    if (data.empty()) return true;
    char size[32];
    int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    std::string chunk(size, static_cast<std::size_t>(n));
    chunk.append(data).append("\r\n");
    if (t_.write_all(chunk, monotonic_now_ns() + 10'000'000'000) != IoResult::kOk) gone_ = true;
    return !gone_;
  }
  bool client_gone() override {
    if (gone_) return true;
    int fd = t_.fd();
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      char c;
      ssize_t r = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) gone_ = true;
      if (p.revents & (POLLHUP | POLLERR)) gone_ = true;
    }
    return gone_;
  }
  bool server_stopping() const override { return server_.stopping(); }
  void finish() {
    if (send_head()) (void)t_.write_all("0\r\n\r\n", monotonic_now_ns() + 1'000'000'000);
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
    if (t_.write_all(kHead, monotonic_now_ns() + 10'000'000'000) != IoResult::kOk) gone_ = true;
    return !gone_;
  }

 private:
  Transport& t_;
  const ControlServer& server_;
  bool gone_ = false;
  bool head_sent_ = false;
};

std::int64_t ms_to_ns(std::chrono::milliseconds ms) { return static_cast<std::int64_t>(ms.count()) * 1'000'000; }

}  // namespace

bool ControlServer::Impl::hand_over(Conn& conn, Transport& t, const UpgradeHandler& upgrade, HttpRequest& req,
                                    bool plain_tcp, const std::string& pending) {
  // Beast's WebSocket stream runs on a plain TCP socket; a TLS session cannot
  // move from this thread's OpenSSL state into it.
  HttpResponse refused;
  if (!plain_tcp) {
    refused = HttpResponse::error(400, "upgrade_unavailable",
                                  "upgrades are served on plain TCP listeners only (not TLS or Unix sockets)");
  } else if (!pending.empty()) {
    // RFC 6455 4.1: the client waits for the server's handshake before sending.
    refused = HttpResponse::error(400, "bad_request", "data sent before the upgrade was answered");
  }
  if (refused.status != 200) {
    count(refused.status);
    write_response(t, refused, false);
    return false;
  }
  Fd socket;
  {
    // Taken out of the table first, so eviction and stop() never shut down a
    // socket that now belongs to the upgrade route.
    std::lock_guard lock(conn_mu);
    socket = Fd(conn.fd);
    conn.fd = -1;
  }
  HttpResponse res;
  try {
    res = upgrade(req, socket);
  } catch (const std::exception& e) {
    res = HttpResponse::error(500, "internal", e.what());
  }
  if (!socket) {
    ++upgraded;
    count(101);
    return true;
  }
  {
    std::lock_guard lock(conn_mu);
    conn.fd = socket.release();
  }
  count(res.status);
  write_response(t, res, false);
  return false;
}

void ControlServer::Impl::serve(Conn& conn, bool loopback, bool use_tls, bool is_unix) {
  const int fd = conn.fd;
  const std::int64_t accepted_ns = monotonic_now_ns();
  std::unique_ptr<Transport> transport;
  if (use_tls) {
    std::string why;
    transport = tls->accept(fd, accepted_ns + ms_to_ns(options.header_timeout), why);
    if (!transport) {
      log("warn", "control: " + conn.peer + ": " + why);
      return;
    }
  } else {
    transport = plain_transport(fd);
  }
  Transport& t = *transport;
  std::string pending;
  char buf[16384];
  for (bool first = true;; first = false) {
    RequestReader reader(options.max_header_bytes, options.max_body_bytes);
    // The first request's headers are due header_timeout after accept; a
    // later one's header_timeout after its first byte, the wait for which is
    // the keep-alive idle_timeout. The body gets idle_timeout after the headers.
    std::int64_t now = monotonic_now_ns();
    std::int64_t header_deadline = first ? accepted_ns + ms_to_ns(options.header_timeout) : 0;
    std::int64_t idle_deadline = now + ms_to_ns(options.idle_timeout);
    std::int64_t body_deadline = 0;
    RequestReader::State state;
    for (;;) {
      state = reader.feed(pending);
      if (state != RequestReader::State::kNeedMore) break;
      now = monotonic_now_ns();
      if (reader.got_some() && header_deadline == 0) header_deadline = now + ms_to_ns(options.header_timeout);
      if (reader.header_done() && body_deadline == 0) body_deadline = now + ms_to_ns(options.idle_timeout);
      std::int64_t deadline = reader.header_done() ? body_deadline : header_deadline ? header_deadline : idle_deadline;
      std::size_t n = 0;
      // Between requests the stop pipe ends an idle keep-alive connection.
      IoResult r = t.read_some(buf, sizeof(buf), n, deadline, reader.got_some() ? -1 : wake_read.get());
      if (r == IoResult::kTimeout) {
        if (!reader.header_done() && (first || reader.got_some())) ++header_timeouts;
        if (reader.got_some()) {
          count(408);
          write_response(t, HttpResponse::error(408, "timeout", "request not received in time"), false);
        }
        return;
      }
      if (r != IoResult::kOk) return;
      pending.append(buf, n);
    }
    if (state == RequestReader::State::kError) {
      count(reader.error_status());
      write_response(t, HttpResponse::error(reader.error_status(), reader.error_code(), reader.error_message()), false);
      return;
    }
    HttpRequest req = reader.take();
    req.loopback = loopback;
    req.peer = conn.peer;
    bool keep_alive = reader.keep_alive() && !self->stopping();

    bool is_stream = false;
    StreamHandler stream;
    UpgradeHandler upgrade;
    HttpResponse res = dispatch(req, is_stream, stream, &conn.authenticated, &upgrade);
    if (upgrade) {
      hand_over(conn, t, upgrade, req, !use_tls && !is_unix, pending);
      return;
    }
    if (!is_stream) {
      count(res.status);
      if (!write_response(t, res, keep_alive) || !keep_alive) return;
      continue;
    }
    ChunkedWriter writer(t, *self);
    try {
      stream(req, writer);
    } catch (const HttpError& e) {
      if (!writer.head_sent()) {
        count(e.status());
        if (e.status() == 403) ++forbidden;
        write_response(t, HttpResponse::error(e.status(), e.code(), e.what()), false);
        return;
      }
      writer.write(nlohmann::json{{"error", {{"code", e.code()}, {"message", e.what()}}}}.dump() + "\n");
    } catch (const std::exception& e) {
      if (!writer.head_sent()) {
        count(500);
        write_response(t, HttpResponse::error(500, "internal", e.what()), false);
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
  return impl_->dispatch(req, is_stream, stream_out, nullptr);
}

void ControlServer::Impl::audit(const HttpRequest& req, const Route& route, int status) const {
  nlohmann::json line = {{"audit", "control"},
                         {"principal", req.principal ? req.principal->name : "(none)"},
                         {"role", req.principal ? std::string(to_string(req.principal->role)) : "(none)"},
                         {"token_id", req.principal ? req.principal->token_id : ""},
                         {"peer", req.peer},
                         {"method", req.method},
                         {"route", route.pattern},
                         {"path", req.path},
                         {"status", status},
                         {"result", status < 400 ? "ok" : "refused"}};
  log("info", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpResponse ControlServer::Impl::dispatch(HttpRequest& req, bool& is_stream, StreamHandler& stream_out,
                                           std::atomic<bool>* authenticated, UpgradeHandler* upgrade_out) {
  is_stream = false;
  req.params.clear();
  auto parts = split_path(req.path);
  const Route* found = nullptr;
  bool path_matched = false;
  std::map<std::string, std::string> params;
  for (const auto& r : routes) {
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
  const RouteClass cls = found->options.effective_class();
  const bool audited = cls == RouteClass::kPublish || cls == RouteClass::kOperate || cls == RouteClass::kAdmin;
  auto refuse = [&](HttpResponse r) {
    if (audited) audit(req, *found, r.status);
    return r;
  };
  if (!auth) {
    auto unchecked = std::make_shared<Principal>();
    unchecked->name = "unchecked";
    unchecked->role = Role::kAdmin;
    req.principal = unchecked;
  } else if (cls == RouteClass::kPublic) {
    req.principal = auth->anonymous();
  } else {
    std::string credential = req.authorization;
    if (credential.empty() && found->options.browser_credentials) {
      if (std::string c = cookie_value(req.header("cookie"), kSessionCookie); !c.empty()) credential = "Bearer " + c;
    }
    AuthResult r = auth->authenticate(credential, req.loopback, clock->now_ns() / 1'000'000'000);
    const bool ask_later = !r.principal && credential.empty() && found->options.browser_credentials;
    if (ask_later) {
      // No credential at all: the route asks for one itself (null principal).
    } else if (!r.principal) {
      ++auth_failures;
      log("warn", "control: 401 for " + req.method + " " + req.path + " from " + req.peer + ": " + r.reason);
      HttpResponse res = HttpResponse::error(401, "unauthorized", "authentication required");
      res.headers.emplace_back("WWW-Authenticate", "Bearer");
      return refuse(std::move(res));
    }
    req.principal = std::move(r.principal);
    if (req.principal && req.principal->authenticated && authenticated) *authenticated = true;
    if (req.principal && !req.principal->may(cls)) {
      if (!req.principal->authenticated) {
        // An anonymous caller: a credential could open it, so 401.
        ++auth_failures;
        HttpResponse res = HttpResponse::error(401, "unauthorized", "this route needs 'Authorization: Bearer <token>'");
        res.headers.emplace_back("WWW-Authenticate", "Bearer");
        return refuse(std::move(res));
      }
      ++forbidden;
      log("warn", "control: 403 for " + req.method + " " + req.path + ": " + req.principal->name + " is " +
                      std::string(to_string(req.principal->role)) + ", " + std::string(to_string(cls)) + " routes need " +
                      std::string(to_string(required_role(cls))));
      return refuse(HttpResponse::error(403, "forbidden",
                                        "role " + std::string(to_string(req.principal->role)) + " may not use " +
                                            std::string(to_string(cls)) + " routes"));
    }
  }
  const std::string limited_as = req.principal ? req.principal->name : "peer " + req.peer;
  if (RateDecision d = limiter->take(limited_as, cls); !d.allowed) {
    HttpResponse res = HttpResponse::error(429, "rate_limited", "too many " + std::string(to_string(cls)) + " requests");
    res.headers.emplace_back("Retry-After", std::to_string(d.retry_after_s));
    return refuse(std::move(res));
  }
  req.params = std::move(params);
  if (found->upgrade) {
    if (!upgrade_out) return HttpResponse::error(400, "upgrade_unavailable", req.path + " needs a connection to take over");
    *upgrade_out = found->upgrade;
    return {};
  }
  if (found->stream) {
    is_stream = true;
    stream_out = found->stream;
    return {};
  }
  HttpResponse res;
  try {
    res = found->handler(req);
  } catch (const HttpError& e) {
    if (e.status() == 403) ++forbidden;
    res = HttpResponse::error(e.status(), e.code(), e.what());
  } catch (const nlohmann::json::exception& e) {
    res = HttpResponse::error(400, "bad_request", e.what());
  } catch (const std::exception& e) {
    res = HttpResponse::error(500, "internal", e.what());
  }
  if (audited) audit(req, *found, res.status);
  return res;
}

}  // namespace nautilus::control
