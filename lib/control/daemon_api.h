// The daemon's routes on the control server: /health, /metrics and /api/v1/
// (daemon, status, engines, bus publish/subscribe, stats), plus a table of
// aliases that map friendly routes onto engine commands, e.g.
// POST /api/v1/risk/check -> engine "risk", command "check". Engines stay free
// of HTTP: a new engine route is one line in the alias table (daemon_api.cpp)
// or a call to add_command_alias().
#pragma once

#include <functional>
#include <shared_mutex>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "bus/router.h"
#include "control/control_server.h"
#include "engines/engine_host.h"
#include "store/store.h"

namespace nautilus::control {

struct ApiContext {
  Router& router;
  EngineHost& host;
  Clock& clock;
  std::function<nlohmann::json()> daemon_info;  // version, pid, uptime, listeners, ...
  // Set while the daemon drains for shutdown: publishes are refused (503).
  // Publishes hold the lock shared, so once the flag is set under the exclusive
  // lock no accepted publish is still on its way into a bus.
  std::shared_mutex publish_gate;
  bool draining = false;
  // The history store and the recorder's counters (GET /api/v1/history/...);
  // null when the daemon records nothing. Set before install_api_routes.
  store::Store* history = nullptr;
  std::function<nlohmann::json()> recorder_stats;
  // Issues, lists and revokes signed tokens (/api/v1/tokens); null: no such routes.
  Authenticator* auth = nullptr;
  void begin_drain() {
    std::unique_lock lock(publish_gate);
    draining = true;
  }
};

struct CommandAlias {
  const char* method;   // "GET" (arguments from the query) or "POST" (JSON body)
  const char* path;     // may capture {segments}; captures join the arguments
  const char* engine;   // instance or kind
  const char* command;
  bool mutating;        // needs the token
};
std::span<const CommandAlias> command_aliases();

// Installs every route. `ctx` and its members must outlive the server.
void install_api_routes(ControlServer& server, ApiContext& ctx);
// GET /api/v1/history (store and recorder status), /api/v1/history/events
// and /api/v1/history/{bars|trades|quotes|...}/{symbol} (history_api.cpp).
void install_history_routes(ControlServer& server, ApiContext& ctx);
void add_command_alias(ControlServer& server, EngineHost& host, const CommandAlias& alias);
// POST /api/v1/tokens (issue), GET /api/v1/tokens (list),
// POST /api/v1/tokens/{id}/revoke: admin routes (token_api.cpp).
void install_token_routes(ControlServer& server, Authenticator& auth, Clock& clock);

// The topic rules of a subscriber, shared by NDJSON subscribe and the
// WebSocket: throws HttpError 403 when `pattern` may not be subscribed at
// all; may_receive filters each message (deny rules that overlap in part).
// A null principal (no checks configured) may do anything.
void check_subscribe_permission(const PrincipalPtr& principal, std::string_view pattern);
bool may_receive(const PrincipalPtr& principal, std::string_view topic);

// Prometheus text exposition of the daemon, buses, engines and server.
std::string render_metrics(ApiContext& ctx, const ControlServer::Stats& server);

}  // namespace nautilus::control
