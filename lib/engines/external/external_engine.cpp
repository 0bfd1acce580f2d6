#include "engines/external/external_engine.h"

#include <algorithm>
#include <mutex>

#include "core/periodic_timer.h"
#include "engines/external/heartbeat_watch.h"

namespace nautilus {
namespace {

struct ExternalConfig {
  std::int64_t heartbeat_timeout_ns = 5'000'000'000;
  std::string description;
  std::vector<std::string> subscribes;
  std::vector<std::string> publishes;
};

constexpr const char* kDefaultDescription = "an engine in another process, known by its heartbeats";

// The whole [engines.<name>] section of kind "external".
ExternalConfig read_config(ConfigReader& r) {
  ExternalConfig c;
  c.heartbeat_timeout_ns = r.duration_ns("heartbeat_timeout", c.heartbeat_timeout_ns, 100'000'000, 3'600'000'000'000);
  c.description = r.string("description", kDefaultDescription);
  c.subscribes = r.string_or_strings("subscribes", {});
  c.publishes = r.string_or_strings("publishes", {});
  r.finish();
  return c;
}

class ExternalEngine final : public Engine {
 public:
  std::string_view kind() const override { return "external"; }
  std::string_view description() const override { return description_; }
  std::vector<std::string> subscribes_to() const override {
    std::vector<std::string> out = subscribes_;
    out.push_back(heartbeat_topic());
    return out;
  }
  std::vector<std::string> publishes() const override { return publishes_; }

  std::vector<ConfigProblem> config_problems(const nlohmann::json& config) const override {
    ConfigReader r(config);
    (void)read_config(r);
    return r.problems();
  }

 protected:
  void on_start(EngineContext& ctx) override {
    ConfigReader r(ctx.config);
    ExternalConfig c = read_config(r);
    r.throw_if_problems();
    clock_ = &ctx.clock;
    description_ = c.description;
    subscribes_ = c.subscribes;
    publishes_ = c.publishes;
    {
      std::lock_guard lock(mu_);
      watch_ = external::HeartbeatWatch(c.heartbeat_timeout_ns);
      reported_ = nlohmann::json::object();
    }
    subscribe(BusKind::kEngine, heartbeat_topic(), [this](const Message& m) { on_beat(m); });
    // Checked four times per timeout, so a silent process is seen within 1.25 timeouts.
    timer_.start(ctx.clock, std::max<std::int64_t>(c.heartbeat_timeout_ns / 4, 10'000'000), [this] { check(); });
  }

  void on_stop() override { timer_.stop(); }

  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    external::HeartbeatStatus s = watch_.status(now_ns());
    return {{"beats", watch_.beats()},
            {"process_restarts", watch_.restarts()},
            {"last_sequence", watch_.last_sequence()},
            {"heartbeat_age_ms", s.age_ns < 0 ? -1 : s.age_ns / 1'000'000},
            {"heartbeat_timeout_ms", watch_.timeout_ns() / 1'000'000},
            {"reported", reported_}};
  }

 private:
  std::string heartbeat_topic() const { return "system.heartbeat." + name(); }
  std::int64_t now_ns() const { return clock_ ? clock_->now_ns() : 0; }

  // {"sequence": n, "metrics": {...}, ...}: anything else in the payload is
  // kept as the process's report. A beat that is not JSON still counts as alive.
  void on_beat(const Message& m) {
    nlohmann::json j = nlohmann::json::parse(m.payload, nullptr, false);
    std::uint64_t sequence = 0;
    if (j.is_object()) {
      auto it = j.find("sequence");
      if (it != j.end() && it->is_number_unsigned()) sequence = it->get<std::uint64_t>();
    }
    bool fresh;
    {
      std::lock_guard lock(mu_);
      watch_.beat(clock().now_ns(), sequence);
      if (j.is_object()) reported_ = std::move(j);
      fresh = watch_.status(clock().now_ns()).fresh;
    }
    if (fresh) set_degraded(false);
  }

  void check() {
    external::HeartbeatStatus s;
    {
      std::lock_guard lock(mu_);
      s = watch_.status(clock().now_ns());
    }
    if (!s.fresh) set_degraded(true, s.reason);
  }

  std::string description_ = kDefaultDescription;
  std::vector<std::string> subscribes_, publishes_;
  mutable std::mutex mu_;  // watch_, reported_: the bus thread, the timer, metrics()
  external::HeartbeatWatch watch_{5'000'000'000};
  nlohmann::json reported_ = nlohmann::json::object();
  Clock* clock_ = nullptr;
  PeriodicTimer timer_;
};

}  // namespace

std::unique_ptr<Engine> make_external_engine() { return std::make_unique<ExternalEngine>(); }

}  // namespace nautilus
