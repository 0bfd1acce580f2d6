// nautilusd's configuration: the TOML file (nautilusd.conf(5)), then the
// environment, then flags. Validation lists every problem at once (unknown keys
// included) and nothing is applied from an invalid file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/security_options.h"
#include "control/state_dir.h"
#include "engines/engine_host.h"
#include "engines/registry.h"
#include "store/recorder.h"

namespace nautilus::daemon {

struct DaemonConfig {
  std::string source = "(built-in defaults)";  // the file it came from
  std::string listen = "127.0.0.1:8001";       // "" disables TCP
  std::string socket;                          // Unix socket path, "" for none
  std::string state_dir;                       // "" = default_state_dir()
  std::string log_format = "auto";             // auto | text | json
  std::string log_level = "info";              // trace debug info warn error
  std::int64_t drain_timeout_ms = 5000;
  std::string marketdata_bus = "inproc://";
  std::string engine_bus = "inproc://";
  std::size_t max_connections = 64;
  std::size_t max_body_bytes = 1 << 20;
  // [control] web_root: the dashboard's assets ("" = found beside the binary).
  std::string web_root;
  // [security]: no-lockout bounds, roles, rate limits, TLS (nautilusd.conf(5)).
  control::SecurityOptions security;
  SupervisorPolicy supervisor;
  std::vector<EngineSpec> engines;  // in file order: the start order
  // [daemon] plugin_dir: where relative `plugin = "libx.so"` paths of engine
  // sections are found ("" = the config file's directory).
  std::string plugin_dir;
  // Engine plugins that could not be loaded ("file:line: engines.x.plugin:
  // plugin P: why"). Their engines are added in ERROR with that reason, so the
  // daemon runs the rest; --check-config fails on them.
  std::vector<std::string> plugin_errors;
  // [store] and [recorder]: the history store (nautilusd.conf(5), docs/store.md).
  std::string store_url;            // "" = sqlite:history.db in the state directory
  bool recorder_enabled = true;
  store::RecorderConfig recorder;
};

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> errors);
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

// The file to use: control::find_config_file (shared with the CLI).
using control::find_config_file;
// The engines a daemon without a config file runs, in start order:
// heartbeat, marketdata, features, ml, vpin, risk, portfolio, strategy (those
// registered): each stage starts after the ones it reads from.
std::vector<EngineSpec> default_engines(const EngineRegistry& registry);
// Parses and validates, each engine section by its engine
// (Engine::config_problems); throws ConfigError listing every problem as
// "file:line: key: reason". An empty path gives the built-in defaults. Engine
// sections with `plugin = "..."` load the plugin and add its kind to
// `registry` (see plugin_errors for the ones that fail).
DaemonConfig load_config(const std::string& path, EngineRegistry& registry);
// NAUTILUS_STATE_DIR, NAUTILUS_LISTEN, NAUTILUS_SOCKET, NAUTILUS_LOG_FORMAT,
// NAUTILUS_MARKETDATA_BUS, NAUTILUS_ENGINE_BUS, NAUTILUS_STORE.
void apply_environment(DaemonConfig& cfg);

}  // namespace nautilus::daemon
