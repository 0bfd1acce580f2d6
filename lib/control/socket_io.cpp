#include "control/socket_io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "core/clock.h"

namespace nautilus::control {

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string Endpoint::to_string() const {
  if (is_unix) return "unix:" + path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

bool Endpoint::is_loopback() const {
  if (is_unix) return true;
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

Endpoint parse_endpoint(std::string_view text) {
  Endpoint ep;
  if (text.starts_with("unix:") || text.starts_with("/")) {
    ep.is_unix = true;
    ep.path = std::string(text.starts_with("unix:") ? text.substr(5) : text);
    if (ep.path.empty() || ep.path.size() >= sizeof(sockaddr_un::sun_path)) {
      throw std::invalid_argument("bad Unix socket path '" + ep.path + "'");
    }
    return ep;
  }
  std::string_view host, port;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw std::invalid_argument("bad address '" + std::string(text) + "' (expected HOST:PORT)");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      throw std::invalid_argument("bad address '" + std::string(text) + "' (expected HOST:PORT)");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || p != port.data() + port.size() || value > 65535) {
    throw std::invalid_argument("bad address '" + std::string(text) + "' (expected HOST:PORT, port 0-65535)");
  }
  ep.host = std::string(host);
  ep.port = static_cast<std::uint16_t>(value);
  return ep;
}

namespace {
int remaining_ms(std::int64_t deadline_ns) {
  if (deadline_ns == 0) return -1;
  std::int64_t left = deadline_ns - monotonic_now_ns();
  if (left <= 0) return 0;
  return static_cast<int>((left + 999'999) / 1'000'000);
}
}  // namespace

IoResult wait_readable(int fd, std::int64_t deadline_ns, int wake_fd) {
  for (;;) {
    pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    int ms = remaining_ms(deadline_ns);
    int r = ::poll(p, wake_fd >= 0 ? 2 : 1, ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      return IoResult::kError;
    }
    if (r == 0) return IoResult::kTimeout;
    if (wake_fd >= 0 && (p[1].revents & POLLIN)) return IoResult::kClosed;
    return IoResult::kOk;  // readable, or an error/hangup the read will report
  }
}

IoResult read_some(int fd, char* buf, std::size_t cap, std::size_t& n, std::int64_t deadline_ns, int wake_fd) {
  n = 0;
  for (;;) {
    IoResult w = wait_readable(fd, deadline_ns, wake_fd);
    if (w != IoResult::kOk) return w;
    ssize_t r = ::recv(fd, buf, cap, 0);
    if (r > 0) {
      n = static_cast<std::size_t>(r);
      return IoResult::kOk;
    }
    if (r == 0) return IoResult::kClosed;
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
    return errno == ECONNRESET ? IoResult::kClosed : IoResult::kError;
  }
}

IoResult write_all(int fd, std::string_view data, std::int64_t deadline_ns) {
  while (!data.empty()) {
    ssize_t r = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r > 0) {
      data.remove_prefix(static_cast<std::size_t>(r));
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      int pr = ::poll(&p, 1, remaining_ms(deadline_ns));
      if (pr == 0) return IoResult::kTimeout;
      if (pr < 0 && errno != EINTR) return IoResult::kError;
      continue;
    }
    return (errno == EPIPE || errno == ECONNRESET) ? IoResult::kClosed : IoResult::kError;
  }
  return IoResult::kOk;
}

namespace {
// Non-blocking connect, then poll for completion until the deadline.
Fd connect_addr(int family, const sockaddr* addr, socklen_t len, std::int64_t deadline_ns) {
  Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket");
  if (::connect(fd.get(), addr, len) == 0) return fd;
  if (errno != EINPROGRESS && errno != EAGAIN) throw std::system_error(errno, std::generic_category(), "connect");
  pollfd p{fd.get(), POLLOUT, 0};
  for (;;) {
    int r = ::poll(&p, 1, remaining_ms(deadline_ns));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return Fd();
    break;
  }
  int err = 0;
  socklen_t el = sizeof(err);
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &el);
  if (err != 0) throw std::system_error(err, std::generic_category(), "connect");
  return fd;
}
}  // namespace

Fd connect_to(const Endpoint& ep, std::int64_t deadline_ns) {
  if (ep.is_unix) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, ep.path.c_str(), ep.path.size() + 1);
    return connect_addr(AF_UNIX, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa), deadline_ns);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(ep.port);
  int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) throw std::system_error(EHOSTUNREACH, std::generic_category(), "resolve " + ep.host + ": " + gai_strerror(rc));
  std::system_error last(ECONNREFUSED, std::generic_category(), "connect");
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    try {
      Fd fd = connect_addr(ai->ai_family, ai->ai_addr, ai->ai_addrlen, deadline_ns);
      ::freeaddrinfo(res);
      if (fd) {
        int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      }
      return fd;
    } catch (const std::system_error& e) {
      last = e;
    }
  }
  ::freeaddrinfo(res);
  throw last;
}

}  // namespace nautilus::control
