#include "engines/heartbeat/heartbeat_engine.h"

#include <mutex>
#include <stdexcept>

#include "core/message.h"
#include "core/periodic_timer.h"

namespace nautilus {
namespace {

// The whole [engines.heartbeat] section: interval_ms (10 ms .. 1 h, default 1 s).
std::int64_t read_interval_ms(ConfigReader& r) {
  std::int64_t ms = r.integer("interval_ms", 1000, 10, 3'600'000);
  r.finish();
  return ms;
}

class HeartbeatEngine final : public Engine {
 public:
  std::string_view kind() const override { return "heartbeat"; }
  std::string_view description() const override {
    return "publishes system_health on system.heartbeat.<name> at a fixed interval";
  }
  std::vector<std::string> publishes() const override { return {"system.heartbeat." + name()}; }

  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "beat") {  // an extra beat now, e.g. to test a listener
      (void)args;
      beat();
      return {{"sequence", sequence()}};
    }
    return Engine::command(cmd, args);
  }

  std::vector<ConfigProblem> config_problems(const nlohmann::json& config) const override {
    ConfigReader r(config);
    (void)read_interval_ms(r);
    return r.problems();
  }

 protected:
  void on_start(EngineContext& ctx) override {
    ConfigReader r(ctx.config);
    std::int64_t interval_ms = read_interval_ms(r);
    r.throw_if_problems();
    interval_ns_ = interval_ms * 1'000'000;
    timer_.start(ctx.clock, interval_ns_, [this] { beat(); });
  }

  void on_stop() override { timer_.stop(); }

  nlohmann::json metrics() const override {
    return {{"beats", sequence()}, {"interval_ms", interval_ns_ / 1'000'000}};
  }

 private:
  void beat() {
    std::uint64_t seq = ++sequence_;
    nlohmann::json payload = {{"engine", name()}, {"sequence", seq}, {"interval_ms", interval_ns_ / 1'000'000}};
    publish(make_message("system.heartbeat." + name(), MessageType::kSystemHealth, payload.dump(),
                         Priority::kLow));
  }
  std::uint64_t sequence() const { return sequence_.load(); }

  std::int64_t interval_ns_ = 0;
  PeriodicTimer timer_;
  std::atomic<std::uint64_t> sequence_{0};
};

}  // namespace

std::unique_ptr<Engine> make_heartbeat_engine() { return std::make_unique<HeartbeatEngine>(); }

}  // namespace nautilus
