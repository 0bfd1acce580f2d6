#include "marketdata/sources/fixture_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

namespace nautilus::md::testing {
namespace {

bool send_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

std::string FixtureRequest::param(const std::string& name) const {
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t amp = query.find('&', start);
    std::string pair = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      std::string raw = eq == std::string::npos ? "" : pair.substr(eq + 1), out;
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '%' && i + 2 < raw.size() + 0 && hex_value(raw[i + 1]) >= 0 && hex_value(raw[i + 2]) >= 0) {
          out += static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
          i += 2;
        } else {
          out += raw[i] == '+' ? ' ' : raw[i];
        }
      }
      return out;
    }
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return {};
}

std::string gzip_bytes(const std::string& data) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

FixtureServer::FixtureServer(std::function<std::int64_t()> now) : now_(std::move(now)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) throw std::runtime_error("fixture: socket");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("fixture: bind/listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FixtureServer::~FixtureServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  stop_cv_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
}

void FixtureServer::route(const std::string& path, Handler handler) {
  std::lock_guard lock(mu_);
  routes_[path] = std::move(handler);
}

void FixtureServer::route(const std::string& path, FixtureResponse response) {
  route(path, [response](const FixtureRequest&) { return response; });
}

std::string FixtureServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<FixtureRequest> FixtureServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::size_t FixtureServer::count(const std::string& path_prefix) const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(std::count_if(requests_.begin(), requests_.end(),
                                                [&](const FixtureRequest& r) { return r.path.starts_with(path_prefix); }));
}

std::size_t FixtureServer::connections() const {
  std::lock_guard lock(mu_);
  return connections_;
}

std::size_t FixtureServer::max_in_window(std::int64_t window_ns, const std::string& path_prefix) const {
  std::vector<std::int64_t> times;
  for (const auto& r : requests()) {
    if (r.path.starts_with(path_prefix)) times.push_back(r.at_ns);
  }
  std::sort(times.begin(), times.end());
  std::size_t best = 0, lo = 0;
  for (std::size_t hi = 0; hi < times.size(); ++hi) {
    while (times[hi] - times[lo] >= window_ns) ++lo;
    best = std::max(best, hi - lo + 1);
  }
  return best;
}

void FixtureServer::accept_loop() {
  for (;;) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;  // shut down
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    int one = 1;  // headers and body go in separate writes: no Nagle/delayed-ACK stall between them
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    open_fds_.push_back(fd);
    std::size_t id = ++connections_;
    workers_.emplace_back([this, fd, id] { serve(fd, id); });
  }
}

bool FixtureServer::stall(std::int64_t ms) {
  std::unique_lock lock(mu_);
  return !stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_.load(); });
}

void FixtureServer::serve(int fd, std::size_t connection) {
  std::string buffer;
  char chunk[4096];
  for (;;) {
    std::size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) goto done;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    {
      std::string head = buffer.substr(0, end);
      buffer.erase(0, end + 4);  // GET requests carry no body
      FixtureRequest req;
      req.connection = connection;
      req.at_ns = now_ ? now_() : 0;
      std::size_t line_end = head.find("\r\n");
      std::string request_line = head.substr(0, line_end);
      std::size_t sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
      std::string target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
      std::size_t q = target.find('?');
      req.path = target.substr(0, q);
      req.query = q == std::string::npos ? "" : target.substr(q + 1);
      std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        std::size_t next = head.find("\r\n", pos);
        std::string line = head.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
        std::size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::size_t v = line.find_first_not_of(' ', colon + 1);
          req.headers[lower(line.substr(0, colon))] = v == std::string::npos ? "" : line.substr(v);
        }
        if (next == std::string::npos) break;
        pos = next + 2;
      }
      Handler handler;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
        auto it = routes_.find(req.path);
        if (it != routes_.end()) handler = it->second;
      }
      FixtureResponse resp;
      if (handler) {
        resp = handler(req);
      } else {
        resp.status = 404;
        resp.body = R"({"error":"no fixture for this path"})";
      }
      if (!send_response(fd, req, resp)) break;
    }
  }
done:
  std::lock_guard lock(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

bool FixtureServer::send_response(int fd, const FixtureRequest& req, const FixtureResponse& r) {
  std::string body = r.body;
  const bool gzip = r.gzip && req.headers.count("accept-encoding") && req.headers.at("accept-encoding").find("gzip") != std::string::npos;
  if (gzip) body = gzip_bytes(body);
  const std::size_t length = r.filler_bytes > 0 ? r.filler_bytes : body.size();
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  head += "Content-Type: " + r.content_type + "\r\n";
  head += "Content-Length: " + std::to_string(length) + "\r\n";
  if (gzip) head += "Content-Encoding: gzip\r\n";
  for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
  head += "\r\n";
  if (!send_all(fd, head.data(), head.size())) return false;
  if (r.hang_ms > 0 && !stall(r.hang_ms)) return false;
  if (r.filler_bytes > 0) {
    const std::string block(1 << 16, ' ');
    for (std::size_t sent = 0; sent < r.filler_bytes;) {
      std::size_t n = std::min(block.size(), r.filler_bytes - sent);
      if (!send_all(fd, block.data(), n)) return false;  // the client hung up (over its limit)
      sent += n;
    }
    return true;
  }
  if (r.truncate_to < body.size()) {
    send_all(fd, body.data(), r.truncate_to);
    return false;  // close the connection mid-body
  }
  return send_all(fd, body.data(), body.size());
}

}  // namespace nautilus::md::testing
