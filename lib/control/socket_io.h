// Small POSIX socket helpers shared by the control server and client: TCP and
// Unix-domain endpoints from one address form, and reads/writes with deadlines
// (poll), so nothing in the control plane can block forever on a peer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nautilus::control {

// "host:port" (TCP) or "unix:/path" / a path starting with '/' (Unix socket).
struct Endpoint {
  bool is_unix = false;
  std::string host;   // TCP
  std::uint16_t port = 0;
  std::string path;   // Unix
  std::string to_string() const;  // "127.0.0.1:8001" or "unix:/run/nautilus.sock"
  bool is_loopback() const;       // Unix sockets count as loopback
};
// Throws std::invalid_argument for a malformed address.
Endpoint parse_endpoint(std::string_view text);

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset();
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

enum class IoResult { kOk, kTimeout, kClosed, kError };

// Waits until `fd` is readable (or `wake_fd`, when >= 0, is readable) or the
// deadline (monotonic ns; 0 = none) passes.
IoResult wait_readable(int fd, std::int64_t deadline_ns, int wake_fd = -1);
// Reads what is available (at most `cap`) into `buf`; `n` gets the count.
IoResult read_some(int fd, char* buf, std::size_t cap, std::size_t& n, std::int64_t deadline_ns,
                   int wake_fd = -1);
IoResult write_all(int fd, std::string_view data, std::int64_t deadline_ns);

// Connects with a deadline. Throws std::system_error (ECONNREFUSED, ENOENT, ...)
// or returns an empty Fd on timeout.
Fd connect_to(const Endpoint& ep, std::int64_t deadline_ns);

}  // namespace nautilus::control
