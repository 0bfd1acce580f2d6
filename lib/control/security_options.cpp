#include "control/security_options.h"

#include <stdexcept>

namespace nautilus::control {

void apply_security(const SecurityOptions& s, ServerOptions& server, AuthOptions& auth) {
  server.header_timeout = std::chrono::milliseconds(s.header_timeout_ms);
  server.reserved_connections = s.reserved_connections;
  server.max_connections_per_peer = s.max_connections_per_peer;
  server.tls_cert_file = s.tls_cert;
  server.tls_key_file = s.tls_key;
  server.allow_insecure_listen = s.insecure_listen;
  server.rate_limits = s.rate_limits;
  auth.issuer = s.jwt_issuer;
  auth.audience = s.jwt_audience;
  if (s.anonymous_loopback == "none") {
    auth.anonymous_loopback.reset();
  } else if (auto role = parse_role(s.anonymous_loopback)) {
    auth.anonymous_loopback = role;
  } else {
    throw std::invalid_argument("anonymous_loopback must be viewer, operator, admin or none, not '" +
                                s.anonymous_loopback + "'");
  }
}

}  // namespace nautilus::control
