// The Engine base: what every engine (risk, vpin, marketdata, ...) is to the
// daemon. An engine subscribes and publishes only through the Router it is
// given on start; it never sees a concrete backend, HTTP or a data source.
//
// Lifecycle (SPEC section 5), one transition table in engine.cpp:
//   STOPPED -> STARTING -> RUNNING -> STOPPING -> STOPPED
//   any -> ERROR;  RUNNING <-> DEGRADED;  ERROR -> STARTING (restart) | STOPPED
// Every transition is published as `engine_status` on engine.status.<name>.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/router.h"
#include "core/clock.h"
#include "core/histogram.h"
#include "engines/config_reader.h"

namespace nautilus {

enum class EngineState : unsigned char { kStopped, kStarting, kRunning, kDegraded, kStopping, kError };

std::string_view to_string(EngineState s);  // "STOPPED", "RUNNING", ...
bool is_legal_transition(EngineState from, EngineState to);

// What the host hands an engine when it starts.
struct EngineContext {
  Router& router;
  Clock& clock;
  nlohmann::json config;  // the engine's own config section (an object)
  // The daemon's log: (level "info"|"warn"|"error", line). Unset in tests and
  // benches; Engine::log() then drops the line.
  std::function<void(std::string_view level, const std::string& line)> log = {};
};

struct EngineHealth {
  EngineState state = EngineState::kStopped;
  std::int64_t last_message_age_ms = -1;  // -1: nothing received yet
  std::uint64_t messages = 0;
  std::uint64_t errors = 0;               // handler exceptions
  std::uint64_t queue_depth = 0;
  std::uint64_t dropped = 0;              // by its full subscriber queues
  HistogramSnapshot latency_ns;           // publish-to-handler over its subscriptions
  std::string last_error;
  nlohmann::json metrics = nlohmann::json::object();  // the engine's own
};

// Thrown for a transition the table forbids (e.g. start() on a RUNNING engine).
class IllegalTransition : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class Engine {
 public:
  virtual ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  virtual std::string_view kind() const = 0;         // "risk"
  virtual std::string_view description() const = 0;
  virtual std::vector<std::string> subscribes_to() const { return {}; }  // patterns, for docs/status
  virtual std::vector<std::string> publishes() const { return {}; }

  // Host-facing lifecycle. start() throws std::runtime_error (with the reason)
  // when the engine cannot start; the engine is then in ERROR.
  void start(EngineContext ctx);
  void stop();
  EngineState state() const { return state_.load(std::memory_order_acquire); }
  EngineHealth health() const;
  const std::string& name() const { return name_; }  // instance name; defaults to kind()
  void set_name(std::string name) { name_ = std::move(name); }
  // Called by the supervisor when it gives up or restarts.
  void mark_error(const std::string& reason);
  // Control-plane requests routed to this engine by the daemon (the control API
  // maps e.g. POST /api/v1/risk/check to command("check", body)). Engines know
  // nothing of HTTP. Throws std::invalid_argument for a bad request and
  // std::out_of_range for an unknown command.
  virtual nlohmann::json command(std::string_view name, const nlohmann::json& args);
  // Every problem of `config` (the engine's own section) without starting:
  // unknown keys, types, ranges, enum values. What `nautilusd --check-config`,
  // the start and SIGHUP report. An engine reads its config with one
  // ConfigReader-based parse used both here and in on_start.
  virtual std::vector<ConfigProblem> config_problems(const nlohmann::json& config) const;
  // Observer for the host: (engine, from, to). Set before start().
  using TransitionObserver = std::function<void(Engine&, EngineState, EngineState)>;
  void set_transition_observer(TransitionObserver fn) { observer_ = std::move(fn); }
  // Observer for the supervisor: called (on the bus thread) after a handler threw
  // and the failure was counted. Set before start().
  using FailureObserver = std::function<void(Engine&, const std::string& what)>;
  void set_failure_observer(FailureObserver fn) { failure_observer_ = std::move(fn); }

 protected:
  Engine() = default;

  // Engine-facing hooks. on_start subscribes; on_stop releases what on_start took
  // (subscriptions made with subscribe() are cancelled by the base after on_stop).
  virtual void on_start(EngineContext& ctx) = 0;
  virtual void on_stop() {}
  virtual nlohmann::json metrics() const { return nlohmann::json::object(); }

  // Subscribes through the context's router; counts messages and handler
  // exceptions (which are caught, counted and reported to the supervisor).
  void subscribe(BusKind bus, std::string_view pattern, std::function<void(const Message&)> handler,
                 SubscribeOptions options = {});
  // Publishes with source = name(); false (and counted) if the bus refused it.
  bool publish(std::shared_ptr<Message> msg);
  Router& router();
  Clock& clock();
  // A line for the daemon's log, prefixed "engine '<name>': ". Control-plane
  // events only (halts, state changes), never per message.
  void log(std::string_view level, const std::string& line) const;
  // RUNNING <-> DEGRADED, for an engine whose dependency is failing.
  void set_degraded(bool degraded, const std::string& reason = {});

 private:
  bool transition(EngineState to, const std::string& reason = {});
  void on_handler_error(const std::string& what);

  std::string name_;
  std::atomic<EngineState> state_{EngineState::kStopped};
  std::optional<EngineContext> ctx_;
  std::vector<SubscriptionPtr> subs_;
  void cancel_subscriptions();

  TransitionObserver observer_;
  FailureObserver failure_observer_;
  std::atomic<std::uint64_t> messages_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::int64_t> last_message_ns_{0};
  mutable std::mutex mu_;  // guards last_error_, subs_, transitions
  std::string last_error_;
};

}  // namespace nautilus
