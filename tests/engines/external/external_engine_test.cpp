// The `external` engine on the simulated clock: RUNNING while the process's
// heartbeats arrive, DEGRADED (with why) when they stop, the process's own
// report in the metrics, and listed with its health by the host.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/clock.h"
#include "core/message.h"
#include "engines/engine_host.h"
#include "engines/external/external_engine.h"
#include "engines/registry.h"
#include "engines/engine_test_support.h"

using namespace nautilus;

namespace {

constexpr std::int64_t kMs = 1'000'000;

struct Fixture {
  SimulatedClock clock;
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://", &clock);
  EngineRegistry registry;
  std::unique_ptr<EngineHost> host;

  explicit Fixture(nlohmann::json config) {
    registry.add({"external", "in another process", make_external_engine});
    host = std::make_unique<EngineHost>(*router, clock, registry);
    host->add({"pyengine", "external", std::move(config)});
    REQUIRE(host->start_all().empty());
  }
  ~Fixture() { host->stop_all(); }

  void beat(std::uint64_t sequence, nlohmann::json extra = nlohmann::json::object()) {
    extra["sequence"] = sequence;
    REQUIRE(router->publish(make_message("system.heartbeat.pyengine", MessageType::kSystemHealth, extra.dump())));
    REQUIRE(test::settle(*router));
  }
  EngineInfo info() { return host->info("pyengine"); }
};

}  // namespace

TEST_CASE("external engine: degraded until the first beat, running while beats arrive, degraded when they stop",
          "[external]") {
  Fixture f(nlohmann::json{{"heartbeat_timeout", "2s"}});
  // A check every timeout/4 = 500 ms; with no beat at all it reports why.
  f.clock.advance_by(500 * kMs);
  CHECK(f.info().health.state == EngineState::kDegraded);
  CHECK(f.info().health.last_error == "no heartbeat yet");

  f.beat(1, {{"metrics", {{"signals", 4}}}});
  CHECK(f.info().health.state == EngineState::kRunning);
  for (std::uint64_t seq = 2; seq <= 5; ++seq) {
    f.clock.advance_by(1000 * kMs);
    f.beat(seq);
    CHECK(f.info().health.state == EngineState::kRunning);
  }
  f.clock.advance_by(2500 * kMs);  // silence past the timeout
  EngineInfo stale = f.info();
  CHECK(stale.health.state == EngineState::kDegraded);
  CHECK(stale.health.last_error.find("no heartbeat for") == 0);
  CHECK(stale.health.metrics["beats"] == 5);
  CHECK(stale.health.metrics["heartbeat_age_ms"] == 2500);

  f.beat(6);  // it is back
  CHECK(f.info().health.state == EngineState::kRunning);
}

TEST_CASE("external engine: the process's last report is in its metrics, restarts counted", "[external]") {
  Fixture f(nlohmann::json{{"heartbeat_timeout", "5s"}, {"publishes", "python.signal.*"}});
  f.beat(7, {{"pid", 4242}, {"metrics", {{"halted", true}}}});
  f.beat(1);  // the process started over
  nlohmann::json m = f.info().health.metrics;
  CHECK(m["process_restarts"] == 1);
  CHECK(m["last_sequence"] == 1);
  CHECK(m["reported"]["sequence"] == 1);
  CHECK_FALSE(m["reported"].contains("pid"));  // the newest beat replaces the report
  CHECK(f.info().publishes == std::vector<std::string>{"python.signal.*"});
  CHECK(f.info().subscribes_to == std::vector<std::string>{"system.heartbeat.pyengine"});
}

TEST_CASE("external engine: config problems, every one at once", "[external]") {
  auto engine = make_external_engine();
  auto problems = engine->config_problems(
      {{"heartbeat_timeout", "1ms"}, {"subscribes", 3}, {"description", "x"}, {"bogus", true}});
  std::vector<std::string> keys;
  for (const auto& p : problems) keys.push_back(p.key);
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"bogus", "heartbeat_timeout", "subscribes"});
  CHECK(engine->config_problems({{"heartbeat_timeout", "3s"}, {"subscribes", {"risk.state"}}}).empty());
}
