// nautilusd's [security] settings (nautilusd.conf(5)) as the control server
// takes them: the no-lockout bounds, the anonymous loopback role, the rate
// limits per route class, TLS for listeners off loopback, the JWT claims.
#pragma once

#include <cstdint>
#include <string>

#include "control/control_server.h"

namespace nautilus::control {

struct SecurityOptions {
  std::int64_t header_timeout_ms = 5000;
  std::size_t reserved_connections = 16;
  std::size_t max_connections_per_peer = 16;
  std::string anonymous_loopback = "viewer";  // viewer | operator | admin | none
  std::string tls_cert;
  std::string tls_key;
  bool insecure_listen = false;  // nautilusd --insecure-listen
  RateLimits rate_limits = default_rate_limits();
  std::string jwt_issuer = "nautilusd";
  std::string jwt_audience = "nautilus-control";
  bool operator==(const SecurityOptions&) const = default;
};

// The rate-limited route classes, as named in the config keys
// rate_<class> and burst_<class>.
inline constexpr RouteClass kLimitedClasses[] = {RouteClass::kRead, RouteClass::kSubscribe, RouteClass::kPublish,
                                                 RouteClass::kOperate, RouteClass::kAdmin};

// Copies the settings onto server options; the authenticator's options get
// the anonymous role and JWT claims. Throws std::invalid_argument for an
// unknown anonymous_loopback value.
void apply_security(const SecurityOptions& s, ServerOptions& server, AuthOptions& auth);

}  // namespace nautilus::control
