// The `websocket` engine: bus topics streamed to WebSocket clients on the
// daemon's listener (GET /ws, control/ws_gateway.h; protocol in nautilusd(8),
// section WEBSOCKET). It is an engine so that it starts, stops and reports
// (connections, subscriptions, messages sent, slow-client disconnects,
// protocol errors) like the others, but it lives in the control layer:
// engines never know HTTP. The /ws route is installed on the control server
// before it starts and reaches the engine's gateway through a WsLink; while
// the engine is not running, the upgrade is answered 503.
#pragma once

#include <memory>
#include <mutex>

#include "control/ws_gateway.h"
#include "engines/config_reader.h"
#include "engines/registry.h"

namespace nautilus::control {

// What the /ws route and the engine share: the running gateway (or none) and
// the daemon's Authenticator, for auth frames.
class WsLink {
 public:
  void set_auth(std::shared_ptr<Authenticator> auth);
  std::shared_ptr<Authenticator> auth() const;
  void set_gateway(std::shared_ptr<WsGateway> gateway);
  std::shared_ptr<WsGateway> gateway() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<Authenticator> auth_;
  std::shared_ptr<WsGateway> gateway_;
};

// The engine's section ([engines.websocket]); problems go to the reader.
WsOptions read_ws_options(ConfigReader& r);

// Registers kind "websocket" (one gateway per daemon: the engine is meant
// to run once).
void register_websocket_engine(EngineRegistry& registry, std::shared_ptr<WsLink> link);

// GET /ws (the upgrade; role and subscribe rate as the NDJSON subscribe, the
// session cookie or an auth frame for browsers), POST /api/v1/session (sets
// the session cookie from the caller's bearer token) and DELETE
// /api/v1/session (clears it). `auth` may be null (no checks).
void install_websocket_routes(ControlServer& server, std::shared_ptr<WsLink> link,
                              std::shared_ptr<Authenticator> auth);

}  // namespace nautilus::control
