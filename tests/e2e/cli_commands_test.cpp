// End to end: the CLI behaviours of issue 11 ("a CLI for scripts and people")
// against a real nautilusd: streaming stdin publish, risk halt/resume, engine
// commands, exit codes, JSON errors, -q, --raw, per-symbol metrics, bench rates.
#include "e2e/cli_e2e_support.h"

#include <sys/stat.h>

#include <vector>

#include <nlohmann/json.hpp>

#include "core/codec.h"
#include "core/message.h"

using namespace nautilus;
using namespace nautilus::e2e;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

void wait_subscribed(const Proc& sub) {
  REQUIRE(eventually([&] { return slurp(sub.err).find("subscribed") != std::string::npos; }));
}

}  // namespace

TEST_CASE("e2e cli: bus publish - sends each stdin line as it arrives, reports a bad line by number, exits 1") {
  Daemon d;
  Proc sub = Proc::spawn(d.cli("bus subscribe engine 'stream.*' --count 3 --raw --timeout 60"), d.dir, "sub");
  wait_subscribed(sub);
  // A FIFO as stdin: the publisher sees line 1 long before end of input.
  std::string fifo = d.dir + "/stdin.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Proc pub = Proc::spawn(d.cli("bus publish engine stream.x - < " + fifo), d.dir, "pub");
  int w = ::open(fifo.c_str(), O_WRONLY);  // blocks until the publisher opened it
  REQUIRE(w >= 0);
  auto write_text = [&](const std::string& s) { REQUIRE(::write(w, s.data(), s.size()) == static_cast<ssize_t>(s.size())); };
  write_text("{\"n\":1}\n");
  // Delivered while stdin is still open: the publisher did not wait for EOF.
  CHECK(eventually([&] { return slurp(sub.out).find("{\"n\":1}") != std::string::npos; }));
  CHECK(::waitpid(pub.pid, nullptr, WNOHANG) == 0);  // still reading
  write_text("not json\n\n{\"n\":3}\n[1,2]\n{\"n\":5}");  // the last line has no newline
  ::close(w);
  CHECK(pub.wait() == 1);
  CHECK(sub.wait() == 0);
  std::string err = slurp(pub.err);
  INFO(err);
  CHECK_THAT(err, Catch::Contains("line 2: ") && Catch::Contains("line 5: ") && Catch::Contains("2 of 5"));
  CHECK(count_of(err, "line 4:") == 0);  // a blank line is skipped, not refused
  // --raw: payloads only, one per line, in order; every good line went out.
  CHECK(lines_of(slurp(sub.out)) == std::vector<std::string>{"{\"n\":1}", "{\"n\":3}", "{\"n\":5}"});

  // With --json the refusal is a JSON object on stderr and the summary on stdout.
  auto j = run("printf '{\"a\":1}\\nnope\\n' | " + d.cli("--json bus publish engine stream.y -"), d.dir);
  CHECK(j.rc == 1);
  auto first = nlohmann::json::parse(lines_of(j.err).at(0));
  CHECK(first["line"] == 2);
  CHECK_THAT(first["error"].get<std::string>(), Catch::Contains("line 2"));
  auto summary = nlohmann::json::parse(j.out);
  CHECK(summary["published"] == 1);
  CHECK(summary["refused_lines"] == 1);
}

TEST_CASE("e2e cli: bus subscribe exits 3 when the daemon dies, whatever the signal") {
  for (int sig : {SIGTERM, SIGKILL}) {
    Daemon d;
    Proc sub = Proc::spawn(d.cli("bus subscribe engine 'never.*'"), d.dir, "sub");
    wait_subscribed(sub);
    d.kill_with(sig);
    INFO("signal " << sig << ": " << slurp(sub.err));
    CHECK(sub.wait() == 3);
    CHECK_THAT(slurp(sub.err), Catch::Contains("nautilusd"));
  }
}

TEST_CASE("e2e cli: priorities are case-insensitive; subscribe --raw prints payloads only") {
  Daemon d;
  Proc sub = Proc::spawn(d.cli("bus subscribe engine 'case.*' --count 1 --json --timeout 60"), d.dir, "sub");
  wait_subscribed(sub);
  CHECK(d.run_cli("bus publish engine case.x '{\"k\":1}' --priority HIGH").rc == 0);
  CHECK(sub.wait() == 0);
  Message m;
  REQUIRE(decode_json(lines_of(slurp(sub.out)).at(0), m).is_ok());
  CHECK(m.priority == Priority::kHigh);
  CHECK(d.run_cli("bus publish engine case.x --priority Loud").rc == 2);
}

TEST_CASE("e2e cli: risk halt and resume, engine command") {
  Daemon d;
  auto halt = d.run_cli("risk halt --reason 'fire drill'");
  REQUIRE(halt.rc == 0);
  CHECK_THAT(halt.out, Catch::Contains("HALTED") && Catch::Contains("fire drill"));
  auto state = nlohmann::json::parse(d.run_cli("risk state --json").out);
  CHECK(state["state"] == "HALTED");
  CHECK_THAT(state["state_reason"].get<std::string>(), Catch::Contains("fire drill"));
  // A symbol the default strategies do not trade: with a paper short in AAPL
  // open, a buy of 1 AAPL reduces exposure, and risk rightly approves it.
  auto denied = d.run_cli("risk check --symbol NOPOS --side buy --quantity 1 --price 10 -q");
  CHECK(denied.rc == 1);
  CHECK_THAT(denied.out, Catch::Contains("DENIED"));  // -q never hides data
  auto resumed = d.run_cli("--json risk resume");
  REQUIRE(resumed.rc == 0);
  CHECK(nlohmann::json::parse(resumed.out)["state"] != "HALTED");
  CHECK(nlohmann::json::parse(d.run_cli("risk state --json").out)["state"] != "HALTED");

  // The generic route: any engine, any command, JSON arguments.
  auto halted = d.run_cli("engine command risk halt '{\"reason\":\"generic\"}'");
  REQUIRE(halted.rc == 0);
  CHECK(nlohmann::json::parse(halted.out)["state"] == "HALTED");
  auto vpin = d.run_cli("--json engine command vpin state");
  REQUIRE(vpin.rc == 0);
  CHECK(nlohmann::json::parse(vpin.out).contains("symbols"));
  struct Case {
    std::string args;
    int rc;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{{"engine command risk no-such-command", 4, "no-such-command"},
                                         {"engine command no-such-engine state", 4, "no-such-engine"},
                                         {"engine command risk halt '[1]'", 2, "JSON object"},
                                         {"engine command risk halt 'nope'", 2, "JSON object"}}) {
    auto r = d.run_cli(c.args);
    INFO(c.args << ": " << r.err);
    CHECK(r.rc == c.rc);
    CHECK_THAT(r.err, Catch::Contains(c.says));
  }
}

TEST_CASE("e2e cli: exit codes and messages people and scripts can use") {
  Daemon d;
  auto again = d.run_cli("engine start heartbeat");
  CHECK(again.rc == 0);
  CHECK(again.out == "heartbeat RUNNING (already running)\n");
  CHECK(d.run_cli("engine stop heartbeat").rc == 0);
  CHECK(d.run_cli("engine stop heartbeat").rc == 0);
  CHECK(d.run_cli("engine start heartbeat").out == "heartbeat RUNNING\n");

  struct Case {
    std::string args;
    int rc;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"frobnicate", 2, "unknown command 'frobnicate'"},
           {"engine frobnicate", 2, "unknown command 'frobnicate'"},
           {"risk frobnicate", 2, "unknown command 'frobnicate'"},
           {"engine list --frob", 2, "unknown option '--frob'"},
           {"bus subscribe engine 'a.*' --count many", 2, "'many' is not a number"},
           {"bus publish engine a.b --rate fast", 2, "'fast' is not a number"},
           {"bus publish engine a.b --rate 0", 2, "between 0.001 and 10000000"},
           {"bus publish engine a.b --count 1.5", 2, "not a whole number"},
           {"bench throughput --count lots", 2, "'lots' is not a number"},
           {"risk check --symbol A --side buy --quantity -3", 2, "must be greater than 0"},
       }) {
    auto r = d.run_cli(c.args);
    INFO(c.args << ": " << r.err);
    CHECK(r.rc == c.rc);
    CHECK_THAT(r.err, Catch::Contains(c.says));
    CHECK(r.err.size() < 300);  // no 309-digit bounds
  }
}

TEST_CASE("e2e cli: engine status exits 1 for an engine in ERROR, as systemctl is-active does") {
  Daemon d(
      "[supervisor]\nmax_failures = 1\nmax_restarts = 2\nbackoff_initial_ms = 5\nbackoff_max_ms = 10\n"
      "[engines.flaky]\n",
      kTestDaemon);
  CHECK(d.run_cli("engine status flaky").rc == 0);
  // Each failure while RUNNING is restarted, until the budget is spent and
  // the engine is parked in ERROR.
  bool in_error = eventually([&] {
    auto info = nlohmann::json::parse(d.run_cli("engine status flaky --json").out);
    if (info["parked"] == true) return true;
    if (info["state"] == "RUNNING") d.run_cli("bus publish engine test.flaky.x '{\"fail\":true}'");
    return false;
  });
  REQUIRE(in_error);
  auto human = d.run_cli("engine status flaky");
  CHECK(human.rc == 1);
  CHECK_THAT(human.out, Catch::Contains("state: ERROR"));
  CHECK_THAT(human.err, Catch::Contains("'flaky' is in ERROR"));
  auto json = d.run_cli("--json engine status flaky");
  CHECK(json.rc == 1);
  CHECK(nlohmann::json::parse(json.out)["state"] == "ERROR");
  CHECK(nlohmann::json::parse(json.err)["exit_code"] == 1);
  CHECK(d.run_cli("engine status").rc == 0);  // the overview is not a health check
}

TEST_CASE("e2e cli: NAUTILUS_STATE_DIR without a daemon address exits 3 and says so") {
  std::string dir = temp_dir();
  auto r = run("env -u NAUTILUS_URL NAUTILUS_STATE_DIR=" + dir + " " + kCli + " status", dir);
  CHECK(r.rc == 3);
  CHECK_THAT(r.err, Catch::Contains("no nautilusd address in NAUTILUS_STATE_DIR=" + dir));
  CHECK(r.out.empty());
  // --url still chooses a daemon explicitly.
  CHECK(run("env NAUTILUS_STATE_DIR=" + dir + " " + kCli + " --url http://127.0.0.1:1 status", dir).err.find(
            "cannot reach nautilusd at http://127.0.0.1:1") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("e2e cli: --json errors are one JSON object on stderr; -q hides diagnostics, never data") {
  Daemon d;
  for (const std::string& args : {std::string("--json engine status no-such-engine"),
                                  std::string("engine status no-such-engine --json"), std::string("--json frob"),
                                  std::string("--json bus publish engine a.b --count x")}) {
    auto r = d.run_cli(args);
    INFO(args << ": " << r.err);
    CHECK(r.rc != 0);
    REQUIRE(lines_of(r.err).size() == 1);
    auto e = nlohmann::json::parse(r.err);
    CHECK(e["exit_code"] == r.rc);
    CHECK(e["error"].is_string());
  }
  auto quiet = d.run_cli("-q bus publish engine q.x");
  CHECK(quiet.rc == 0);
  CHECK(quiet.err.empty());
  auto loud = d.run_cli("bus publish engine q.x");
  CHECK_THAT(loud.err, Catch::Contains("published 1 message"));
  auto data = d.run_cli("-q engine status heartbeat");
  CHECK(data.rc == 0);
  CHECK_THAT(data.out, Catch::Contains("state: RUNNING"));
  auto failed = d.run_cli("-q engine status no-such-engine");
  CHECK(failed.rc == 4);
  CHECK_THAT(failed.err, Catch::Contains("no-such-engine"));  // errors are not diagnostics
}

TEST_CASE("e2e cli: engine list shows the available kinds; engine status renders metrics.symbols as a table") {
  Daemon d("[engines.vpin]\n[engines.heartbeat]\n", kTestDaemon);
  auto list = d.run_cli("engine list");
  REQUIRE(list.rc == 0);
  CHECK_THAT(list.out, Catch::Contains("KIND") && Catch::Contains("INSTANCES"));
  bool flaky_kind = false;  // registered by the test daemon, no instance configured
  for (const auto& line : lines_of(list.out)) flaky_kind |= line.starts_with("flaky ") && line.find(" - ") != std::string::npos;
  CHECK(flaky_kind);

  for (const std::string sym : {"ZZA", "ZZB"}) {
    std::string lines;
    for (int i = 0; i < 3; ++i) lines += "{\"symbol\":\"" + sym + "\",\"price\":" + std::to_string(100 + i) + ",\"size\":10}\\n";
    REQUIRE(run("printf '" + lines + "' | " + d.cli("bus publish marketdata marketdata.real_time.trade." + sym + " - --type trade"), d.dir).rc == 0);
  }
  REQUIRE(eventually([&] {
    auto j = nlohmann::json::parse(d.run_cli("engine status vpin --json").out);
    return j["metrics"]["symbols"].contains("ZZA") && j["metrics"]["symbols"].contains("ZZB") &&
           j["metrics"]["symbols"]["ZZB"]["trades"] == 3;
  }));
  auto human = d.run_cli("engine status vpin");
  REQUIRE(human.rc == 0);
  CHECK(human.out.find("{\"") == std::string::npos);  // no JSON blob
  auto rows = lines_of(human.out);
  std::size_t header = 0;
  while (header < rows.size() && !rows[header].starts_with("SYMBOL")) ++header;
  REQUIRE(header < rows.size());
  CHECK_THAT(rows[header], Catch::Contains("TRADES") && Catch::Contains("VPIN") && Catch::Contains("BUCKET FILL"));
  bool zza = false, zzb = false;
  for (std::size_t i = header + 1; i < rows.size(); ++i) {
    zza |= rows[i].starts_with("ZZA ");
    zzb |= rows[i].starts_with("ZZB ") && rows[i].find(" 3 ") != std::string::npos;
  }
  CHECK(zza);
  CHECK(zzb);
  CHECK_THAT(human.out, Catch::Contains("config.cdf_threshold: "));
}

TEST_CASE("e2e cli: bench throughput --peer reports the handoff ceiling of the same run beside the bus") {
  std::string dir = temp_dir();
  auto j = run(kCli + " bench throughput --count 20000 --subscribers 2 --peer --json", dir);
  INFO(j.err);
  REQUIRE(j.rc == 0);
  auto r = nlohmann::json::parse(j.out);
  REQUIRE(r.contains("ceiling"));
  const auto& c = r["ceiling"];
  for (const char* k : {"prebuilt", "built"}) {
    INFO(k);
    CHECK(c[k]["messages"] == 20000);
    CHECK(c[k]["msgs_per_s"].get<double>() == Approx(20000 / c[k]["seconds"].get<double>()));
  }
  CHECK(c["ratio_to_prebuilt"].get<double>() ==
        Approx(r["throughput_msgs_per_s"].get<double>() / c["prebuilt"]["msgs_per_s"].get<double>()));
  auto table = run(kCli + " bench throughput --count 5000 --peer", dir);
  CHECK(table.rc == 0);
  CHECK_THAT(table.out, Catch::Contains("x the pre-built ceiling"));
  auto redis = run(kCli + " bench throughput --backend redis://127.0.0.1:1 --peer", dir);
  CHECK(redis.rc == 2);
  CHECK_THAT(redis.err, Catch::Contains("bench-peers.sh"));
}

TEST_CASE("e2e cli: bench prints publish and delivery rates and MB/s; a progress line only on a terminal") {
  std::string dir = temp_dir();
  auto j = run(kCli + " bench throughput --count 20000 --subscribers 2 --size 200 --json", dir);
  REQUIRE(j.rc == 0);
  auto r = nlohmann::json::parse(j.out);
  double publish_s = r["publish_s"].get<double>(), duration_s = r["duration_s"].get<double>();
  CHECK(publish_s > 0);
  CHECK(publish_s <= duration_s);
  // A second computation of the rates from the raw counts.
  CHECK(r["publish_msgs_per_s"].get<double>() == Approx(20000 / publish_s));
  CHECK(r["delivered_msgs_per_s"].get<double>() == Approx(40000 / duration_s));
  CHECK(r["publish_mb_per_s"].get<double>() == Approx(20000 * 200 / publish_s / 1e6));
  CHECK(r["delivered_mb_per_s"].get<double>() == Approx(40000 * 200 / duration_s / 1e6));
  CHECK(j.err.find('\r') == std::string::npos);  // off a terminal: no progress line

  auto human = run(kCli + " bench latency --count 2000 --rate 4000", dir);
  REQUIRE(human.rc == 0);
  CHECK_THAT(human.out, Catch::Contains("publish ") && Catch::Contains("delivery ") && Catch::Contains(" MB/s"));
  CHECK(human.err.find('\r') == std::string::npos);

  if (std::system("command -v script >/dev/null 2>&1") != 0) {
    WARN("script(1) not installed (Debian package bsdutils): the terminal progress line is not checked");
  } else {
    // 1.5 s at 2000/s: several redraws at four a second.
    auto tty = run("script -qec '" + kCli + " bench latency --count 3000 --rate 2000' /dev/null < /dev/null", dir);
    CHECK(tty.rc == 0);
    CHECK(count_of(tty.out, "\r\033[Kbench: ") >= 2);
    CHECK_THAT(tty.out, Catch::Contains("published "));
  }
  std::filesystem::remove_all(dir);
}
