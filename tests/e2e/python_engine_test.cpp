// examples/python-engine against a real nautilusd: as an `external` engine it
// is listed with its health from its heartbeats, its signals arrive on the
// engine bus, the risk halt reaches it, and a silent process turns DEGRADED.
// Once with both buses on a real redis-server (the stream layout of
// docs/redis-layout.md, python3-redis), once over the control API alone.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>

#include "bus/redis_fixture.h"
#include "e2e/cli_e2e_support.h"
#include "e2e/engine_api.h"

using namespace nautilus::e2e;

namespace {

// Debian's interpreter: python3-redis is installed for it (scripts/install-deps.sh).
const std::string kPython = "/usr/bin/python3";
const std::string kExample = kSource + "/examples/python-engine/breakout_engine.py";

std::string config(const std::string& bus_section) {
  return bus_section +
         "[engines.marketdata]\nsymbols = [\"AAPL\"]\nstream_types = [\"trade\"]\nstream_interval_ms = 20\n"
         "[engines.risk]\n"
         "[engines.pybreakout]\nkind = \"external\"\nheartbeat_timeout = \"1s\"\n"
         "subscribes = [\"marketdata.real_time.trade.*\", \"risk.state\"]\npublishes = \"python.signal.*\"\n";
}

nlohmann::json status(const Daemon& d) { return engine_json(d, "pybreakout"); }

// What the process said in its last heartbeat.
nlohmann::json reported(const Daemon& d) {
  nlohmann::json m = status(d).value("metrics", nlohmann::json::object());
  return m.value("reported", nlohmann::json::object()).value("metrics", nlohmann::json::object());
}

void exercise(const Daemon& d, const std::string& transport_args) {
  REQUIRE(eventually([&] { return status(d).value("state", "") == "DEGRADED"; }));  // no heartbeat yet
  Proc py = Proc::spawn(kPython + " " + kExample + " --name pybreakout --lookback 2 --heartbeat-ms 100 " + transport_args,
                        d.dir, "python");
  INFO(slurp(py.err));
  REQUIRE(eventually([&] { return status(d).value("state", "") == "RUNNING"; }));
  CHECK(eventually([&] { return reported(d).value("trades", 0) >= 10; }));

  Proc signals = Proc::spawn(d.cli("bus subscribe engine 'python.signal.*' --count 2 --json --timeout 60"), d.dir, "signals");
  REQUIRE(signals.wait() == 0);
  std::string out = slurp(signals.out);
  CHECK(count_of(out, "\"message_type\":\"trading_signal\"") == 2);
  CHECK(count_of(out, "\"source\":\"pybreakout\"") == 2);

  REQUIRE(d.run_cli("risk halt --reason python-test").rc == 0);
  REQUIRE(eventually([&] { return reported(d).value("halted", false); }));
  nlohmann::json at_halt = reported(d);
  CHECK(eventually([&] { return reported(d).value("held_back", 0) >= at_halt.value("held_back", 0) + 2; }));
  CHECK(reported(d).value("signals", -1) == at_halt.value("signals", -2));
  CHECK_THAT(slurp(py.out), Catch::Contains("risk HALTED: no more signals"));

  ::kill(py.pid, SIGTERM);
  CHECK(py.wait() == 0);
  REQUIRE(eventually([&] { return status(d).value("state", "") == "DEGRADED"; }));
  CHECK_THAT(status(d)["last_error"].get<std::string>(), Catch::Contains("no heartbeat for"));
}

}  // namespace

TEST_CASE("e2e python engine: over Redis streams, listed by its heartbeats, halted by risk") {
  nautilus::testing::RedisServer redis;
  Daemon d(config("[bus]\nmarketdata = \"" + redis.url() + "\"\nengine = \"" + redis.url() + "\"\n"));
  exercise(d, "--redis " + redis.url());
}

TEST_CASE("e2e python engine: over the control API (NDJSON subscribe, publish with the token)") {
  Daemon d(config(""));
  exercise(d, "--control " + d.url + " --token-file " + d.dir + "/token");
}
