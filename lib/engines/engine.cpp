#include "engines/engine.h"

#include <array>
#include <exception>
#include <utility>

#include "core/message.h"

namespace nautilus {
namespace {

constexpr std::size_t kStateCount = 6;
constexpr std::size_t idx(EngineState s) { return static_cast<std::size_t>(s); }

// The lifecycle of SPEC section 5 as one table: kLegal[from][to].
//   STOPPED -> STARTING -> RUNNING -> STOPPING -> STOPPED
//   any -> ERROR;  RUNNING <-> DEGRADED;  DEGRADED -> STOPPING;
//   ERROR -> STARTING (restart) | STOPPED
constexpr std::array<std::array<bool, kStateCount>, kStateCount> kLegal = [] {
  std::array<std::array<bool, kStateCount>, kStateCount> t{};
  using S = EngineState;
  t[idx(S::kStopped)][idx(S::kStarting)] = true;
  t[idx(S::kStarting)][idx(S::kRunning)] = true;
  t[idx(S::kRunning)][idx(S::kStopping)] = true;
  t[idx(S::kStopping)][idx(S::kStopped)] = true;
  t[idx(S::kRunning)][idx(S::kDegraded)] = true;
  t[idx(S::kDegraded)][idx(S::kRunning)] = true;
  t[idx(S::kDegraded)][idx(S::kStopping)] = true;
  t[idx(S::kError)][idx(S::kStarting)] = true;
  t[idx(S::kError)][idx(S::kStopped)] = true;
  for (std::size_t from = 0; from < kStateCount; ++from) {
    if (from != idx(S::kError)) t[from][idx(S::kError)] = true;
  }
  return t;
}();

}  // namespace

std::string_view to_string(EngineState s) {
  switch (s) {
    case EngineState::kStopped: return "STOPPED";
    case EngineState::kStarting: return "STARTING";
    case EngineState::kRunning: return "RUNNING";
    case EngineState::kDegraded: return "DEGRADED";
    case EngineState::kStopping: return "STOPPING";
    case EngineState::kError: return "ERROR";
  }
  return "UNKNOWN";
}

bool is_legal_transition(EngineState from, EngineState to) { return kLegal[idx(from)][idx(to)]; }

Engine::~Engine() {
  // The owner should stop() first; cancelling here keeps a forgotten engine from
  // running handlers against a destroyed object.
  cancel_subscriptions();
}

bool Engine::transition(EngineState to, const std::string& reason) {
  EngineState from;
  {
    std::lock_guard lock(mu_);
    from = state_.load(std::memory_order_acquire);
    if (!is_legal_transition(from, to)) {
      throw IllegalTransition("engine '" + name_ + "': illegal transition " + std::string(to_string(from)) +
                              " -> " + std::string(to_string(to)));
    }
    state_.store(to, std::memory_order_release);
    if (to == EngineState::kError || to == EngineState::kDegraded) last_error_ = reason;
  }
  if (ctx_) {
    nlohmann::json payload = {{"engine", name_},
                              {"kind", std::string(kind())},
                              {"from", std::string(to_string(from))},
                              {"to", std::string(to_string(to))},
                              {"state", std::string(to_string(to))}};
    if (!reason.empty()) payload["reason"] = reason;
    auto msg = make_message("engine.status." + name_, MessageType::kEngineStatus, payload.dump(),
                            to == EngineState::kError ? Priority::kHigh : Priority::kNormal, name_);
    // A closed bus (shutdown) refuses the event; the transition still happened.
    (void)ctx_->router.publish(BusKind::kEngine, std::move(msg));
  }
  if (observer_) observer_(*this, from, to);
  return true;
}

void Engine::start(EngineContext ctx) {
  if (name_.empty()) name_ = std::string(kind());
  EngineState s = state();
  if (s != EngineState::kStopped && s != EngineState::kError) {
    throw IllegalTransition("engine '" + name_ + "' is " + std::string(to_string(s)) + ", cannot start");
  }
  cancel_subscriptions();
  if (!ctx.config.is_object()) ctx.config = nlohmann::json::object();
  ctx_.emplace(std::move(ctx));
  transition(EngineState::kStarting);
  try {
    on_start(*ctx_);
  } catch (const std::exception& e) {
    cancel_subscriptions();
    transition(EngineState::kError, std::string("start failed: ") + e.what());
    throw std::runtime_error("engine '" + name_ + "': " + e.what());
  }
  transition(EngineState::kRunning);
}

void Engine::stop() {
  EngineState s = state();
  if (s == EngineState::kStopped) return;
  if (s == EngineState::kRunning || s == EngineState::kDegraded) {
    transition(EngineState::kStopping);
    try {
      on_stop();
    } catch (const std::exception& e) {
      // Stopping must finish: the failure is recorded and the engine still stops.
      std::lock_guard lock(mu_);
      last_error_ = std::string("stop failed: ") + e.what();
    }
    cancel_subscriptions();
    transition(EngineState::kStopped);
    return;
  }
  if (s == EngineState::kError) {
    try {
      on_stop();
    } catch (const std::exception&) {
      // Already in ERROR; the original reason is the useful one.
    }
    cancel_subscriptions();
    transition(EngineState::kStopped);
    return;
  }
  throw IllegalTransition("engine '" + name_ + "' is " + std::string(to_string(s)) + ", cannot stop");
}

void Engine::mark_error(const std::string& reason) {
  if (state() == EngineState::kError) {
    std::lock_guard lock(mu_);
    last_error_ = reason;
    return;
  }
  transition(EngineState::kError, reason);
}

void Engine::set_degraded(bool degraded, const std::string& reason) {
  EngineState s = state();
  if (degraded && s == EngineState::kRunning) transition(EngineState::kDegraded, reason);
  if (!degraded && s == EngineState::kDegraded) transition(EngineState::kRunning);
}

EngineHealth Engine::health() const {
  EngineHealth h;
  h.state = state();
  h.messages = messages_.load(std::memory_order_relaxed);
  h.errors = errors_.load(std::memory_order_relaxed);
  std::int64_t last = last_message_ns_.load(std::memory_order_relaxed);
  if (last != 0 && ctx_) {
    std::int64_t age = ctx_->clock.now_ns() - last;
    h.last_message_age_ms = age < 0 ? 0 : age / 1'000'000;
  }
  {
    std::lock_guard lock(mu_);
    h.last_error = last_error_;
    for (const auto& s : subs_) {
      SubscriberStats st = s->stats();
      h.queue_depth += st.queue_depth;
      h.dropped += st.dropped;
      h.latency_ns.merge(st.latency_ns);
    }
  }
  try {
    h.metrics = metrics();
  } catch (const std::exception& e) {
    h.metrics = {{"error", e.what()}};
  }
  return h;
}

nlohmann::json Engine::command(std::string_view name, const nlohmann::json&) {
  throw std::out_of_range("engine '" + name_ + "' has no command '" + std::string(name) + "'");
}

void Engine::log(std::string_view level, const std::string& line) const {
  if (ctx_ && ctx_->log) ctx_->log(level, "engine '" + name_ + "': " + line);
}

std::vector<ConfigProblem> Engine::config_problems(const nlohmann::json&) const { return {}; }

void Engine::subscribe(BusKind bus, std::string_view pattern, std::function<void(const Message&)> handler,
                       SubscribeOptions options) {
  if (!ctx_) throw std::logic_error("engine '" + name_ + "': subscribe() outside on_start");
  if (options.name.empty()) options.name = name_ + ":" + std::string(pattern);
  // One consumer group per kind and pattern: instances of a kind (in one
  // daemon or several) share a pattern's messages, and two patterns of one
  // engine on the same streams (trades and quotes, both marketdata.*) each
  // see all of theirs. One group per kind alone let each subscription take
  // (and ACK, unmatched) part of the other's entries on Redis.
  if (options.group.empty()) options.group = std::string(kind()) + ":" + std::string(pattern);
  auto wrapped = [this, h = std::move(handler)](const MessagePtr& m) {
    // An engine parked in ERROR ignores traffic until it is restarted.
    if (state() == EngineState::kError) return;
    messages_.fetch_add(1, std::memory_order_relaxed);
    last_message_ns_.store(ctx_->clock.now_ns(), std::memory_order_relaxed);
    try {
      h(*m);
    } catch (const std::exception& e) {
      on_handler_error(e.what());
    } catch (...) {
      on_handler_error("unknown exception");
    }
  };
  auto sub = ctx_->router.subscribe(bus, pattern, std::move(wrapped), std::move(options));
  std::lock_guard lock(mu_);
  subs_.push_back(std::move(sub));
}

bool Engine::publish(std::shared_ptr<Message> msg) {
  if (!ctx_ || !msg) return false;
  if (msg->source.empty()) msg->source = name_;
  Status st = ctx_->router.publish(std::move(msg));
  if (!st.is_ok()) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    last_error_ = "publish: " + st.to_string();
    return false;
  }
  return true;
}

Router& Engine::router() {
  if (!ctx_) throw std::logic_error("engine '" + name_ + "' is not started");
  return ctx_->router;
}

Clock& Engine::clock() {
  if (!ctx_) throw std::logic_error("engine '" + name_ + "' is not started");
  return ctx_->clock;
}

void Engine::on_handler_error(const std::string& what) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    last_error_ = "handler: " + what;
  }
  if (failure_observer_) failure_observer_(*this, what);
}

void Engine::cancel_subscriptions() {
  std::vector<SubscriptionPtr> subs;
  {
    std::lock_guard lock(mu_);
    subs.swap(subs_);
  }
  // Outside the lock: cancel() waits for a running handler, which may itself
  // take mu_ (on_handler_error).
  for (auto& s : subs) s->cancel();
}

}  // namespace nautilus
