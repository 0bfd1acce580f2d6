#include "control/transport.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <csignal>
#include <mutex>
#include <stdexcept>

#include "core/clock.h"

namespace nautilus::control {
namespace {

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(int fd) : fd_(fd) {}
  IoResult read_some(char* buf, std::size_t cap, std::size_t& n, std::int64_t deadline_ns, int wake_fd) override {
    return control::read_some(fd_, buf, cap, n, deadline_ns, wake_fd);
  }
  IoResult write_all(std::string_view data, std::int64_t deadline_ns) override {
    return control::write_all(fd_, data, deadline_ns);
  }
  int fd() const override { return fd_; }

 private:
  int fd_;
};

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "no OpenSSL error queued";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

// Waits for what OpenSSL asked for (read or write), or the wake fd.
IoResult wait_for(int fd, int ssl_error, std::int64_t deadline_ns, int wake_fd) {
  if (ssl_error == SSL_ERROR_WANT_READ) return wait_readable(fd, deadline_ns, wake_fd);
  for (;;) {
    pollfd p{fd, POLLOUT, 0};
    int ms = -1;
    if (deadline_ns != 0) {
      std::int64_t left = deadline_ns - monotonic_now_ns();
      ms = left <= 0 ? 0 : static_cast<int>((left + 999'999) / 1'000'000);
    }
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return IoResult::kError;
    return r == 0 ? IoResult::kTimeout : IoResult::kOk;
  }
}

class TlsTransport final : public Transport {
 public:
  TlsTransport(SSL* ssl, int fd) : ssl_(ssl), fd_(fd) {}
  ~TlsTransport() override {
    SSL_shutdown(ssl_);  // one close_notify, no wait for the peer's
    SSL_free(ssl_);
  }
  IoResult read_some(char* buf, std::size_t cap, std::size_t& n, std::int64_t deadline_ns, int wake_fd) override {
    n = 0;
    for (;;) {
      int r = SSL_read(ssl_, buf, static_cast<int>(cap));
      if (r > 0) {
        n = static_cast<std::size_t>(r);
        return IoResult::kOk;
      }
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_ZERO_RETURN) return IoResult::kClosed;
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return IoResult::kClosed;
      }
      IoResult w = wait_for(fd_, err, deadline_ns, wake_fd);
      if (w != IoResult::kOk) return w;
    }
  }
  IoResult write_all(std::string_view data, std::int64_t deadline_ns) override {
    while (!data.empty()) {
      int r = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
      if (r > 0) {
        data.remove_prefix(static_cast<std::size_t>(r));
        continue;
      }
      int err = SSL_get_error(ssl_, r);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return IoResult::kClosed;
      }
      IoResult w = wait_for(fd_, err, deadline_ns, -1);
      if (w != IoResult::kOk) return w;
    }
    return IoResult::kOk;
  }
  int fd() const override { return fd_; }

 private:
  SSL* ssl_;
  int fd_;
};

// Drives SSL_accept or SSL_connect to the end, polling with the deadline;
// frees `ssl` when it fails.
std::unique_ptr<Transport> handshake(SSL* ssl, int fd, int (*step)(SSL*), std::int64_t deadline_ns, std::string& error) {
  for (;;) {
    int r = step(ssl);
    if (r == 1) return std::make_unique<TlsTransport>(ssl, fd);
    int err = SSL_get_error(ssl, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      long verify = SSL_get_verify_result(ssl);
      error = verify != X509_V_OK ? std::string("certificate not trusted: ") + X509_verify_cert_error_string(verify)
                                  : "TLS handshake failed: " + openssl_error();
      SSL_free(ssl);
      return nullptr;
    }
    IoResult w = wait_for(fd, err, deadline_ns, -1);
    if (w != IoResult::kOk) {
      error = w == IoResult::kTimeout ? "TLS handshake timed out" : "TLS handshake: connection closed";
      SSL_free(ssl);
      return nullptr;
    }
  }
}

}  // namespace

std::unique_ptr<Transport> plain_transport(int fd) { return std::make_unique<PlainTransport>(fd); }

std::unique_ptr<Transport> tls_connect(int fd, const std::string& host, const std::string& ca_file,
                                       std::int64_t deadline_ns, std::string& error) {
  std::signal(SIGPIPE, SIG_IGN);  // as for the server: a hang-up is EPIPE
  // One context per process: certificates are loaded once.
  static SSL_CTX* ctx = nullptr;
  static std::string loaded_ca;
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (!ctx || loaded_ca != ca_file) {
    if (ctx) SSL_CTX_free(ctx);
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
      error = openssl_error();
      return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_default_verify_paths(ctx);
    if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
      error = "cannot load CA file " + ca_file + ": " + openssl_error();
      SSL_CTX_free(ctx);
      ctx = nullptr;
      return nullptr;
    }
    loaded_ca = ca_file;
  }
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  SSL* ssl = SSL_new(ctx);
  if (!ssl || SSL_set_fd(ssl, fd) != 1) {
    error = openssl_error();
    SSL_free(ssl);
    return nullptr;
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
    // A name, not an address: SNI and the name check. (SSL_set_tlsext_host_name
    // is a macro with a C cast, refused by -Wold-style-cast.)
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  }
  return handshake(ssl, fd, SSL_connect, deadline_ns, error);
}

struct TlsContext::Impl {
  SSL_CTX* ctx = nullptr;
};

TlsContext::TlsContext(const std::string& cert_file, const std::string& key_file) : impl_(std::make_unique<Impl>()) {
  // OpenSSL writes with write(2): a peer that hangs up must be EPIPE, not a
  // signal that ends the process (nautilusd ignores SIGPIPE as well).
  std::signal(SIGPIPE, SIG_IGN);
  impl_->ctx = SSL_CTX_new(TLS_server_method());
  if (!impl_->ctx) throw std::runtime_error("TLS: " + openssl_error());
  SSL_CTX_set_min_proto_version(impl_->ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(impl_->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(impl_->ctx, cert_file.c_str()) != 1) {
    std::string why = openssl_error();
    SSL_CTX_free(impl_->ctx);
    throw std::runtime_error("TLS certificate " + cert_file + ": " + why);
  }
  if (SSL_CTX_use_PrivateKey_file(impl_->ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(impl_->ctx) != 1) {
    std::string why = openssl_error();
    SSL_CTX_free(impl_->ctx);
    throw std::runtime_error("TLS key " + key_file + ": " + why);
  }
}

TlsContext::~TlsContext() { SSL_CTX_free(impl_->ctx); }

std::unique_ptr<Transport> TlsContext::accept(int fd, std::int64_t deadline_ns, std::string& error) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);  // OpenSSL returns WANT_READ; we poll with the deadline
  SSL* ssl = SSL_new(impl_->ctx);
  if (!ssl || SSL_set_fd(ssl, fd) != 1) {
    error = openssl_error();
    SSL_free(ssl);
    return nullptr;
  }
  return handshake(ssl, fd, SSL_accept, deadline_ns, error);
}

}  // namespace nautilus::control
