// nautilusd's configuration as an operator meets it: --check-config lists every
// engine's problems as file:line: key: reason and a daemon with such a config
// never starts; engines start in file order and stop in reverse; SIGHUP
// restarts the engines whose settings changed and names what needs a restart.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "support/daemon_process.h"

using namespace nautilus::test;

namespace {

// The daemon's JSON log lines' "msg" fields, in order.
std::vector<std::string> log_messages(const std::string& log) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    auto j = nlohmann::json::parse(log.substr(start, end - start), nullptr, false);
    if (j.is_object() && j.contains("msg")) out.push_back(j["msg"].get<std::string>());
    start = end + 1;
  }
  return out;
}

std::size_t index_of(const std::vector<std::string>& lines, const std::string& text) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find(text) != std::string::npos) return i;
  }
  return lines.size();
}

}  // namespace

TEST_CASE("e2e config: --check-config lists every engine section's problems with file and line") {
  std::string dir = make_temp_dir();
  std::string file = dir + "/F.toml";
  std::ofstream(file) << "[engines.heartbeat]\ninterval_ms = 0\nbogus_key = 1\n[engines.vpin]\ncdf_threshold = 1.5\n"
                         "[engines.marketdata]\nstream_types = [\"candles\"]\n";
  auto r = run_command(kDaemonBinary + " --check-config --config " + file, dir);
  CHECK(r.rc == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains(file + ":2: engines.heartbeat.interval_ms: must be between 10 and 3600000 (got 0)"));
  CHECK_THAT(r.err, Catch::Contains(file + ":3: engines.heartbeat.bogus_key: unknown key"));
  CHECK_THAT(r.err, Catch::Contains(file + ":5: engines.vpin.cdf_threshold:"));
  CHECK_THAT(r.err, Catch::Contains(file + ":7: engines.marketdata.stream_types: unknown data type 'candles'"));

  // The same file does not start a daemon: no address written, exit 2.
  auto start = run_command(kDaemonBinary + " --listen 127.0.0.1:0 --state-dir " + dir + " --config " + file, dir);
  CHECK(start.rc == 2);
  CHECK_FALSE(std::filesystem::exists(dir + "/address"));
  CHECK_THAT(start.err, Catch::Contains("invalid configuration (4 errors)"));

  // The built-in defaults and the shipped example are valid.
  CHECK(run_command(kDaemonBinary + " --check-config --config " NAUTILUS_SOURCE_DIR "/examples/nautilusd.toml", dir).rc == 0);
  CHECK(run_command("env -u NAUTILUS_CONFIG HOME=" + dir + " XDG_CONFIG_HOME=" + dir + " " + kDaemonBinary +
                        " --check-config",
                    dir)
            .rc == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("e2e config: problems inside nested tables point at their own line") {
  std::string dir = make_temp_dir();
  std::string file = dir + "/N.toml";
  std::ofstream(file) << "[engines.marketdata]\nsymbols = [\"AAPL\"]\n\n[[engines.marketdata.sources]]\nkind = \"synthetic\"\n"
                         "volatility = -1\n\n[[engines.marketdata.sources]]\nkind = \"carrier-pigeon\"\n";
  auto r = run_command(kDaemonBinary + " --check-config --config " + file, dir);
  CHECK(r.rc == 2);
  CHECK_THAT(r.err, Catch::Contains(file + ":6: engines.marketdata.sources[0].volatility: must be between 0 and 100"));
  CHECK_THAT(r.err, Catch::Contains(file + ":9: engines.marketdata.sources[1].kind: must be one of synthetic, replay"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("e2e config: engines start in file order and stop in reverse") {
  std::vector<std::string> lines;
  {
    DaemonProcess d("[engines.risk]\n[engines.heartbeat]\ninterval_ms = 500\n");
    REQUIRE(eventually([&] { return d.log().find("ready (2/2 engines running") != std::string::npos; }));
    ::kill(d.proc.pid, SIGTERM);
    CHECK(d.proc.wait() == 0);
    lines = log_messages(d.log());
  }
  std::size_t risk_start = index_of(lines, "engine 'risk': STARTING -> RUNNING");
  std::size_t hb_start = index_of(lines, "engine 'heartbeat': STARTING -> RUNNING");
  std::size_t risk_stop = index_of(lines, "engine 'risk': STOPPING -> STOPPED");
  std::size_t hb_stop = index_of(lines, "engine 'heartbeat': STOPPING -> STOPPED");
  REQUIRE(risk_start < lines.size());
  REQUIRE(hb_start < lines.size());
  REQUIRE(risk_stop < lines.size());
  REQUIRE(hb_stop < lines.size());
  CHECK(risk_start < hb_start);  // file order, not alphabetical
  CHECK(hb_stop < risk_stop);    // reverse
}

TEST_CASE("e2e config: SIGHUP restarts changed engines, rejects a bad file and names settings needing a restart") {
  DaemonProcess d("[engines.heartbeat]\ninterval_ms = 1000\n[engines.risk]\n");
  auto interval = [&] {
    auto st = d.cli("engine status heartbeat --json");
    auto j = nlohmann::json::parse(st.out, nullptr, false);
    return j.is_object() ? j["metrics"].value("interval_ms", -1) : -1;
  };
  REQUIRE(eventually([&] { return interval() == 1000; }));

  // A changed engine setting: that engine restarts with it; the other keeps running.
  d.write_config("[control]\nmax_connections = 7\n[engines.heartbeat]\ninterval_ms = 50\n[engines.risk]\n");
  ::kill(d.proc.pid, SIGHUP);
  REQUIRE(eventually([&] { return interval() == 50; }));
  REQUIRE(eventually([&] { return d.log().find("reloaded") != std::string::npos; }));
  auto lines = log_messages(d.log());
  CHECK(index_of(lines, "reload: engine 'heartbeat' restarted to apply interval_ms") < lines.size());
  CHECK(index_of(lines, "reload: control.max_connections changed; it applies only when nautilusd restarts") < lines.size());
  CHECK(index_of(lines, "engine 'risk': RUNNING -> STOPPING") == lines.size());

  // A bad file is rejected whole, with its problems; nothing changes.
  d.write_config("[engines.heartbeat]\ninterval_ms = 5\n[engines.risk]\n");
  ::kill(d.proc.pid, SIGHUP);
  REQUIRE(eventually([&] { return d.log().find("reload rejected") != std::string::npos; }));
  CHECK_THAT(d.log(), Catch::Contains("engines.heartbeat.interval_ms: must be between 10 and 3600000 (got 5)"));
  CHECK(interval() == 50);

  // A section removed: its engine is stopped, and said so.
  d.write_config("[engines.heartbeat]\ninterval_ms = 50\n");
  ::kill(d.proc.pid, SIGHUP);
  REQUIRE(eventually([&] { return d.log().find("engine 'risk' is no longer in the config: stopped") != std::string::npos; }));
  CHECK_THAT(d.cli("engine status risk --json").out, Catch::Contains("\"state\":\"STOPPED\""));
}
