#include "engines/engine_host.h"

#include <algorithm>
#include <deque>
#include <stdexcept>

#include "core/histogram_json.h"

namespace nautilus {

// Timer callbacks hold a shared_ptr to this; the host's destructor clears
// `host` under `mu`, so a callback either runs to completion first or sees null.
struct EngineHost::Lifeline {
  std::mutex mu;
  EngineHost* host = nullptr;
};

struct EngineHost::Instance {
  EngineSpec spec;
  std::string description;
  std::unique_ptr<Engine> engine;
  // Supervision state, under sup_mu (taken on bus threads; never held while an
  // engine starts or stops, since stopping waits for those threads).
  std::mutex sup_mu;
  std::deque<std::int64_t> failures_ns;
  int attempts = 0;
  bool parked = false;
  bool supervised = false;  // false once stopped by request: no automatic restarts
  TimerId restart_timer = 0;
  TimerId stable_timer = 0;
  std::uint64_t generation = 0;  // bumps on every (re)start; stale timers ignore themselves
};

nlohmann::json to_json(const EngineInfo& i) {
  const EngineHealth& h = i.health;
  return {{"name", i.name},
          {"kind", i.kind},
          {"description", i.description},
          {"configured", i.configured},
          {"state", std::string(to_string(h.state))},
          {"last_message_age_ms", h.last_message_age_ms},
          {"messages", h.messages},
          {"errors", h.errors},
          {"queue_depth", h.queue_depth},
          {"dropped", h.dropped},
          {"latency", latency_summary_json(h.latency_ns)},
          {"last_error", h.last_error},
          {"restart_attempts", i.restart_attempts},
          {"parked", i.parked},
          {"subscribes_to", i.subscribes_to},
          {"publishes", i.publishes},
          {"metrics", h.metrics}};
}

EngineHost::EngineHost(Router& router, Clock& clock, const EngineRegistry& registry, SupervisorPolicy policy)
    : router_(router), clock_(clock), registry_(registry), policy_(policy),
      lifeline_(std::make_shared<Lifeline>()) {
  lifeline_->host = this;
}

EngineHost::~EngineHost() {
  stop_all();
  std::lock_guard lock(lifeline_->mu);
  lifeline_->host = nullptr;
}

void EngineHost::set_log_sink(LogSink sink) {
  std::lock_guard lock(mu_);
  log_ = std::move(sink);
}

void EngineHost::log(std::string_view level, const std::string& line) const {
  if (log_) log_(level, line);
}

void EngineHost::add(EngineSpec spec) {
  std::lock_guard lock(mu_);
  if (spec.kind.empty()) spec.kind = spec.name;
  if (spec.name.empty()) throw std::invalid_argument("engine instance without a name");
  if (!registry_.find(spec.kind)) {
    throw std::invalid_argument("engine '" + spec.name + "': unknown kind '" + spec.kind + "'");
  }
  if (find_locked(spec.name)) throw std::invalid_argument("engine '" + spec.name + "' is configured twice");
  create_locked(std::move(spec));
}

EngineHost::Instance& EngineHost::create_locked(EngineSpec spec) {
  auto inst = std::make_unique<Instance>();
  const EngineKind* k = registry_.find(spec.kind);
  inst->description = k ? k->description : std::string();
  inst->engine = registry_.create(spec.kind, spec.name);
  inst->spec = std::move(spec);
  Instance* raw = inst.get();
  inst->engine->set_failure_observer([this, raw](Engine&, const std::string& what) { on_failure(*raw, what); });
  inst->engine->set_transition_observer([this](Engine& e, EngineState from, EngineState to) {
    std::string line = "engine '" + e.name() + "': " + std::string(to_string(from)) + " -> " +
                       std::string(to_string(to));
    if (to == EngineState::kError) line += " (" + e.health().last_error + ")";
    log(to == EngineState::kError ? "error" : "info", line);
  });
  instances_.push_back(std::move(inst));
  return *raw;
}

EngineHost::Instance* EngineHost::find_locked(std::string_view name) const {
  for (const auto& i : instances_) {
    if (i->spec.name == name) return i.get();
  }
  return nullptr;
}

EngineHost::Instance& EngineHost::find_or_create_locked(std::string_view name) {
  if (Instance* i = find_locked(name)) return *i;
  if (!registry_.find(name)) throw EngineNotFound("no engine named '" + std::string(name) + "'");
  EngineSpec spec;
  spec.name = std::string(name);
  spec.kind = std::string(name);
  spec.autostart = false;
  return create_locked(std::move(spec));
}

void EngineHost::start_locked(Instance& inst) {
  {
    std::lock_guard s(inst.sup_mu);
    inst.failures_ns.clear();
    inst.supervised = true;
    ++inst.generation;
  }
  if (inst.engine->state() == EngineState::kError) inst.engine->stop();  // ERROR -> STOPPED
  inst.engine->start(EngineContext{router_, clock_, inst.spec.config,
                                   [this](std::string_view level, const std::string& line) { log(level, line); }});
  auto it = std::find(started_order_.begin(), started_order_.end(), &inst);
  if (it != started_order_.end()) started_order_.erase(it);
  started_order_.push_back(&inst);
}

void EngineHost::stop_locked(Instance& inst) {
  {
    std::lock_guard s(inst.sup_mu);
    inst.supervised = false;
    ++inst.generation;
    if (inst.restart_timer) clock_.cancel(inst.restart_timer);
    if (inst.stable_timer) clock_.cancel(inst.stable_timer);
    inst.restart_timer = inst.stable_timer = 0;
  }
  inst.engine->stop();
  auto it = std::find(started_order_.begin(), started_order_.end(), &inst);
  if (it != started_order_.end()) started_order_.erase(it);
}

std::vector<std::string> EngineHost::start_all() {
  std::lock_guard lock(mu_);
  std::vector<std::string> failed;
  for (auto& i : instances_) {
    if (!i->spec.autostart || i->engine->state() != EngineState::kStopped) continue;
    try {
      start_locked(*i);
    } catch (const std::exception& e) {
      failed.push_back(i->spec.name);
      log("error", e.what());
      if (std::find(started_order_.begin(), started_order_.end(), i.get()) == started_order_.end()) {
        started_order_.push_back(i.get());
      }
      schedule_restart(*i, e.what());
    }
  }
  return failed;
}

void EngineHost::stop_all() {
  std::lock_guard lock(mu_);
  // Reverse start order; engines started later depend on the earlier ones.
  std::vector<Instance*> order(started_order_.rbegin(), started_order_.rend());
  for (Instance* i : order) {
    try {
      stop_locked(*i);
    } catch (const std::exception& e) {
      log("error", "engine '" + i->spec.name + "': " + e.what());
    }
  }
  for (auto& i : instances_) {  // anything left (e.g. parked in ERROR but never ordered)
    try {
      if (i->engine->state() != EngineState::kStopped) stop_locked(*i);
    } catch (const std::exception& e) {
      log("error", "engine '" + i->spec.name + "': " + e.what());
    }
  }
  started_order_.clear();
}

void EngineHost::start(std::string_view name) {
  std::lock_guard lock(mu_);
  Instance& inst = find_or_create_locked(name);
  {
    std::lock_guard s(inst.sup_mu);
    inst.attempts = 0;
    inst.parked = false;
    if (inst.restart_timer) clock_.cancel(inst.restart_timer);
    inst.restart_timer = 0;
  }
  start_locked(inst);
}

void EngineHost::stop(std::string_view name) {
  std::lock_guard lock(mu_);
  Instance* inst = find_locked(name);
  if (!inst) {
    if (registry_.find(name)) return;  // a kind that never ran is already stopped
    throw EngineNotFound("no engine named '" + std::string(name) + "'");
  }
  stop_locked(*inst);
}

void EngineHost::restart(std::string_view name) {
  std::lock_guard lock(mu_);
  Instance& inst = find_or_create_locked(name);
  stop_locked(inst);
  {
    std::lock_guard s(inst.sup_mu);
    inst.attempts = 0;
    inst.parked = false;
  }
  start_locked(inst);
}

void EngineHost::reconfigure(std::string_view name, nlohmann::json config) {
  std::lock_guard lock(mu_);
  Instance* inst = find_locked(name);
  if (!inst) throw EngineNotFound("no engine named '" + std::string(name) + "'");
  inst->spec.config = std::move(config);
  if (inst->engine->state() == EngineState::kStopped) return;  // applies at its next start
  // Keep its place in the start order, so shutdown still stops in reverse file order.
  auto pos = std::find(started_order_.begin(), started_order_.end(), inst);
  std::ptrdiff_t index = pos == started_order_.end() ? -1 : pos - started_order_.begin();
  stop_locked(*inst);
  {
    std::lock_guard s(inst->sup_mu);
    inst->attempts = 0;
    inst->parked = false;
  }
  start_locked(*inst);
  if (index >= 0 && static_cast<std::size_t>(index) < started_order_.size() - 1) {
    started_order_.pop_back();
    started_order_.insert(started_order_.begin() + index, inst);
  }
}

void EngineHost::on_failure(Instance& inst, const std::string& what) {
  // Runs on a bus thread: only sup_mu, never mu_ (a stop holding mu_ waits for
  // this very thread to leave the handler).
  EngineState s = inst.engine->state();
  if (s != EngineState::kRunning && s != EngineState::kDegraded) return;
  std::int64_t now = clock_.now_ns();
  std::size_t count;
  {
    std::lock_guard lock(inst.sup_mu);
    if (!inst.supervised) return;
    inst.failures_ns.push_back(now);
    while (!inst.failures_ns.empty() && inst.failures_ns.front() < now - policy_.failure_window_ns) {
      inst.failures_ns.pop_front();
    }
    count = inst.failures_ns.size();
    if (count < static_cast<std::size_t>(policy_.max_failures)) return;
    inst.failures_ns.clear();
  }
  std::string reason = std::to_string(count) + " handler failures, last: " + what;
  try {
    inst.engine->mark_error(reason);
  } catch (const IllegalTransition&) {
    return;  // stopped concurrently
  }
  schedule_restart(inst, reason);
}

void EngineHost::schedule_restart(Instance& inst, const std::string& why) {
  std::lock_guard lock(inst.sup_mu);
  if (!inst.supervised && inst.engine->state() != EngineState::kError) return;
  if (inst.stable_timer) clock_.cancel(inst.stable_timer);
  inst.stable_timer = 0;
  if (inst.attempts >= policy_.max_restarts) {
    inst.parked = true;
    log("error", "engine '" + inst.spec.name + "': giving up after " + std::to_string(inst.attempts) +
                     " restarts; parked in ERROR (" + why + ")");
    return;
  }
  std::int64_t delay = policy_.backoff_initial_ns;
  for (int i = 0; i < inst.attempts && delay < policy_.backoff_max_ns; ++i) delay *= 2;
  delay = std::min(delay, policy_.backoff_max_ns);
  ++inst.attempts;
  inst.supervised = true;
  std::uint64_t gen = ++inst.generation;
  log("warn", "engine '" + inst.spec.name + "': restart " + std::to_string(inst.attempts) + "/" +
                  std::to_string(policy_.max_restarts) + " in " + std::to_string(delay / 1'000'000) + " ms");
  std::weak_ptr<Lifeline> weak = lifeline_;
  Instance* raw = &inst;
  inst.restart_timer = clock_.schedule_after(delay, [weak, raw, gen] {
    auto life = weak.lock();
    if (!life) return;
    std::lock_guard l(life->mu);
    if (!life->host) return;
    {
      std::lock_guard s(raw->sup_mu);
      if (raw->generation != gen) return;  // stopped or restarted by hand meanwhile
      raw->restart_timer = 0;
    }
    life->host->run_restart(*raw);
  });
}

void EngineHost::run_restart(Instance& inst) {
  std::lock_guard lock(mu_);
  if (inst.engine->state() != EngineState::kError) return;
  try {
    start_locked(inst);
  } catch (const std::exception& e) {
    schedule_restart(inst, e.what());
    return;
  }
  std::lock_guard s(inst.sup_mu);
  std::uint64_t gen = inst.generation;
  std::weak_ptr<Lifeline> weak = lifeline_;
  Instance* raw = &inst;
  // A restart that keeps running without tripping the supervisor again earns a
  // fresh budget of attempts.
  inst.stable_timer = clock_.schedule_after(policy_.stable_after_ns, [weak, raw, gen] {
    auto life = weak.lock();
    if (!life) return;
    std::lock_guard l(life->mu);
    if (!life->host) return;
    std::lock_guard s2(raw->sup_mu);
    if (raw->generation != gen) return;
    raw->stable_timer = 0;
    raw->attempts = 0;
  });
}

EngineInfo EngineHost::info_locked(const Instance& inst) const {
  EngineInfo i;
  i.name = inst.spec.name;
  i.kind = inst.spec.kind;
  i.description = inst.description;
  i.configured = true;
  i.health = inst.engine->health();
  i.subscribes_to = inst.engine->subscribes_to();
  i.publishes = inst.engine->publishes();
  std::lock_guard s(const_cast<std::mutex&>(inst.sup_mu));
  i.restart_attempts = inst.attempts;
  i.parked = inst.parked;
  return i;
}

EngineInfo EngineHost::info(std::string_view name) const {
  std::lock_guard lock(mu_);
  if (const Instance* inst = find_locked(name)) return info_locked(*inst);
  const EngineKind* k = registry_.find(name);
  if (!k) throw EngineNotFound("no engine named '" + std::string(name) + "'");
  EngineInfo i;
  i.name = k->name;
  i.kind = k->name;
  i.description = k->description;
  return i;
}

std::vector<EngineInfo> EngineHost::list() const {
  std::lock_guard lock(mu_);
  std::vector<EngineInfo> out;
  for (const auto& inst : instances_) out.push_back(info_locked(*inst));
  for (const EngineKind* k : registry_.list()) {
    if (find_locked(k->name)) continue;
    bool kind_has_instance = std::any_of(instances_.begin(), instances_.end(),
                                         [&](const auto& inst) { return inst->spec.kind == k->name; });
    if (kind_has_instance) continue;
    EngineInfo i;
    i.name = k->name;
    i.kind = k->name;
    i.description = k->description;
    out.push_back(std::move(i));
  }
  return out;
}

nlohmann::json EngineHost::command(std::string_view name, std::string_view cmd, const nlohmann::json& args) {
  Engine* engine;
  {
    std::lock_guard lock(mu_);
    Instance* inst = find_locked(name);
    if (!inst) {
      // A command for a kind: the first instance of that kind answers.
      for (auto& i : instances_) {
        if (i->spec.kind == name) {
          inst = i.get();
          break;
        }
      }
    }
    if (!inst) {
      if (registry_.find(name)) throw IllegalTransition("engine '" + std::string(name) + "' is not running");
      throw EngineNotFound("no engine named '" + std::string(name) + "'");
    }
    EngineState s = inst->engine->state();
    if (s != EngineState::kRunning && s != EngineState::kDegraded) {
      throw IllegalTransition("engine '" + std::string(name) + "' is " + std::string(to_string(s)));
    }
    engine = inst->engine.get();
  }
  // Outside the lock: a slow command must not block start/stop of other engines.
  // Instances are never destroyed before the host, so the pointer stays valid.
  return engine->command(cmd, args);
}

}  // namespace nautilus
