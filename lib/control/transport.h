// One accepted control connection's byte stream: plain socket I/O, or TLS
// (OpenSSL directly on the accepted socket: SSL_accept, SSL_read,
// SSL_write) for listeners off loopback. Every call has a deadline, as in
// control/socket_io.h, so a peer cannot block a server thread forever.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "control/socket_io.h"

namespace nautilus::control {

class Transport {
 public:
  virtual ~Transport() = default;
  // As read_some / write_all in socket_io.h.
  virtual IoResult read_some(char* buf, std::size_t cap, std::size_t& n, std::int64_t deadline_ns, int wake_fd) = 0;
  virtual IoResult write_all(std::string_view data, std::int64_t deadline_ns) = 0;
  virtual int fd() const = 0;
};

std::unique_ptr<Transport> plain_transport(int fd);

// The client side (nautilus --url https://...): the handshake on a connected
// `fd`, the server's certificate verified against the system's trust store
// and `ca_file` when given, for `host` (a name or an IP address). Null, and
// `error` set, when it fails.
std::unique_ptr<Transport> tls_connect(int fd, const std::string& host, const std::string& ca_file,
                                       std::int64_t deadline_ns, std::string& error);

// A server certificate and key (PEM files), TLS 1.2 and later.
class TlsContext {
 public:
  // Throws std::runtime_error naming the file and OpenSSL's reason.
  TlsContext(const std::string& cert_file, const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  // Runs the handshake on `fd` until `deadline_ns`; null (and `error` set)
  // when it fails, e.g. a plain-HTTP client.
  std::unique_ptr<Transport> accept(int fd, std::int64_t deadline_ns, std::string& error);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus::control
