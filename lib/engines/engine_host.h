// The engine host: creates engine instances from the registry, starts them in
// configured order and stops them in reverse, and supervises them: a handler
// that throws is counted; `max_failures` within `failure_window` put the engine
// in ERROR, and it is restarted with exponential backoff, at most
// `max_restarts` times in a row, after which it stays parked in ERROR. Nothing
// an engine does takes the host (or the daemon) down.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engines/engine.h"
#include "engines/registry.h"

namespace nautilus {

struct SupervisorPolicy {
  int max_failures = 5;                            // handler failures ...
  std::int64_t failure_window_ns = 10'000'000'000;  // ... within this window -> ERROR
  int max_restarts = 10;                           // consecutive attempts before parking
  std::int64_t backoff_initial_ns = 1'000'000'000;  // 1 s, 2 s, 4 s, ...
  std::int64_t backoff_max_ns = 60'000'000'000;
  std::int64_t stable_after_ns = 60'000'000'000;    // running this long resets the attempts
};

// One engine instance as configured: `[engines.<name>]` with `kind` (defaults
// to the name) and the engine's own settings.
struct EngineSpec {
  std::string name;
  std::string kind;
  nlohmann::json config = nlohmann::json::object();
  bool autostart = true;
};

struct EngineInfo {
  std::string name;
  std::string kind;
  std::string description;
  bool configured = false;  // an instance exists (from config or a start request)
  EngineHealth health;
  int restart_attempts = 0;
  bool parked = false;      // gave up restarting
  std::vector<std::string> subscribes_to;
  std::vector<std::string> publishes;
};
nlohmann::json to_json(const EngineInfo& info);

class EngineNotFound : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

class EngineHost {
 public:
  EngineHost(Router& router, Clock& clock, const EngineRegistry& registry, SupervisorPolicy policy = {});
  ~EngineHost();  // stop_all()
  EngineHost(const EngineHost&) = delete;
  EngineHost& operator=(const EngineHost&) = delete;

  // Creates the instance (STOPPED). Throws std::invalid_argument for an unknown
  // kind or a duplicate name.
  void add(EngineSpec spec);
  // Starts the autostart engines in the order they were added. A failure is
  // logged, the engine is in ERROR and supervised (restarted with backoff);
  // returns the names of the engines that failed.
  std::vector<std::string> start_all();
  // Stops every running engine, in reverse start order, and cancels pending
  // restarts. Never throws.
  void stop_all();

  // Control plane. `name` is an instance, or a registered kind not yet
  // instantiated (created with default config). Throw EngineNotFound,
  // IllegalTransition, or std::runtime_error when the engine fails to start.
  void start(std::string_view name);
  void stop(std::string_view name);
  void restart(std::string_view name);
  // Replaces an instance's config (a SIGHUP reload); a running, degraded or
  // failed engine is restarted with it. Throws EngineNotFound, or
  // std::runtime_error when the engine fails to start with the new config.
  void reconfigure(std::string_view name, nlohmann::json config);
  EngineInfo info(std::string_view name) const;
  std::vector<EngineInfo> list() const;  // instances, then registered kinds without one
  // Routes a control-plane command to a running engine. Throws EngineNotFound,
  // IllegalTransition (not running), or whatever Engine::command throws.
  nlohmann::json command(std::string_view name, std::string_view cmd, const nlohmann::json& args);

  // Diagnostics for the daemon's log: (level "info"|"warn"|"error", line).
  using LogSink = std::function<void(std::string_view level, const std::string& line)>;
  void set_log_sink(LogSink sink);
  const SupervisorPolicy& policy() const { return policy_; }

 private:
  struct Instance;
  struct Lifeline;
  Instance* find_locked(std::string_view name) const;
  Instance& find_or_create_locked(std::string_view name);
  Instance& create_locked(EngineSpec spec);
  void start_locked(Instance& inst);
  void stop_locked(Instance& inst);
  void on_failure(Instance& inst, const std::string& what);
  void schedule_restart(Instance& inst, const std::string& why);
  void run_restart(Instance& inst);
  void log(std::string_view level, const std::string& line) const;
  EngineInfo info_locked(const Instance& inst) const;

  Router& router_;
  Clock& clock_;
  const EngineRegistry& registry_;
  SupervisorPolicy policy_;
  mutable std::recursive_mutex mu_;  // instances, start order; held across start/stop
  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<Instance*> started_order_;
  std::shared_ptr<Lifeline> lifeline_;  // keeps timer callbacks off a dead host
  LogSink log_;
};

}  // namespace nautilus
