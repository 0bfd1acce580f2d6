// End to end: the real nautilusd (port 0, a temporary state directory) driven
// by the real nautilus binary, as a shell script would.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "control/control_client.h"
#include "core/clock.h"
#include "core/codec.h"
#include "support/metrics_check.h"
#include "support/skip.h"

namespace fs = std::filesystem;
using namespace nautilus;

namespace {

const std::string kBin = NAUTILUS_BINARY_DIR;
const std::string kDaemon = kBin + "/apps/nautilusd/nautilusd";
const std::string kTestDaemon = kBin + "/tests/nautilusd_e2e";
const std::string kCli = kBin + "/apps/nautilus-cli/nautilus";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string temp_dir() {
  char tmpl[] = "/tmp/nautilus-e2e-XXXXXX";
  return mkdtemp(tmpl);
}

// A shell command in the background; wait() gives its exit code.
struct Proc {
  pid_t pid = -1;
  std::string out, err;
  static Proc spawn(const std::string& cmd, const std::string& dir, const std::string& tag) {
    Proc p;
    p.out = dir + "/" + tag + ".out";
    p.err = dir + "/" + tag + ".err";
    p.pid = fork();
    if (p.pid == 0) {
      int o = ::open(p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int e = ::open(p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(o, 1);
      dup2(e, 2);
      execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return p;
  }
  int wait() {
    int st = 0;
    waitpid(pid, &st, 0);
    pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
};

struct Result {
  int rc;
  std::string out, err;
};

Result run(const std::string& cmd, const std::string& dir) {
  static std::atomic<int> n{0};
  Proc p = Proc::spawn(cmd, dir, "cmd" + std::to_string(++n));
  int rc = p.wait();
  return {rc, slurp(p.out), slurp(p.err)};
}

template <class Pred>
bool eventually(Pred pred) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// nautilusd on port 0 with its own state dir; the CLI finds it through
// NAUTILUS_STATE_DIR alone.
struct Daemon {
  std::string dir = temp_dir();
  Proc proc;
  std::string url;
  explicit Daemon(const std::string& config_text = "", const std::string& binary = kDaemon) {
    std::string cmd = binary + " --listen 127.0.0.1:0 --state-dir " + dir + " --log-format json";
    if (!config_text.empty()) {
      std::ofstream(dir + "/nautilusd.toml") << config_text;
      cmd += " --config " + dir + "/nautilusd.toml";
    }
    proc = Proc::spawn(cmd, dir, "daemon");
    REQUIRE(eventually([&] { return fs::exists(dir + "/address") || ::waitpid(proc.pid, nullptr, WNOHANG) != 0; }));
    REQUIRE(fs::exists(dir + "/address"));
    url = slurp(dir + "/address");
    while (!url.empty() && url.back() == '\n') url.pop_back();
    CHECK_THAT(slurp(proc.out), Catch::Contains("listening on " + url));
    // The address file comes before the engines are started: tests that
    // look at engines wait (bounded) until the daemon says it is ready.
    eventually([&] { return run_cli("status --json").out.find("\"ready\":true") != std::string::npos; });
  }
  ~Daemon() {
    if (proc.pid > 0) {
      ::kill(proc.pid, SIGTERM);
      proc.wait();
    }
    fs::remove_all(dir);
  }
  std::string cli(const std::string& args) const { return "env NAUTILUS_STATE_DIR=" + dir + " " + kCli + " " + args; }
  Result run_cli(const std::string& args) const { return run(cli(args), dir); }
  std::string token() const {
    std::string t = slurp(dir + "/token");
    while (!t.empty() && t.back() == '\n') t.pop_back();
    return t;
  }
  int terminate() {
    ::kill(proc.pid, SIGTERM);
    return proc.wait();
  }
};

}  // namespace

TEST_CASE("e2e: exit codes for a dead daemon, an unknown engine, a bad flag, a wrong token, a timeout") {
  std::string dir = temp_dir();
  auto dead = run("env -u NAUTILUS_STATE_DIR " + kCli + " --url http://127.0.0.1:1 status", dir);
  CHECK(dead.rc == 3);
  CHECK_THAT(dead.err, Catch::Contains("cannot reach nautilusd"));
  CHECK(dead.out.empty());

  Daemon d;
  auto ok = d.run_cli("status");
  CHECK(ok.rc == 0);
  CHECK_THAT(ok.out, Catch::Contains("heartbeat") && Catch::Contains("RUNNING"));
  auto unknown = d.run_cli("engine status no-such-engine");
  CHECK(unknown.rc == 4);
  CHECK_THAT(unknown.err, Catch::Contains("no-such-engine"));
  CHECK(d.run_cli("engine start no-such-engine").rc == 4);
  CHECK(d.run_cli("engine list --no-such-flag").rc == 2);
  CHECK(d.run_cli("bus publish nobus a.b").rc == 2);
  CHECK(d.run_cli("bus publish engine a.b 'not json'").rc == 2);
  auto wrong = d.run_cli("--token wrong engine stop heartbeat");
  CHECK(wrong.rc == 1);
  // 401 with a generic answer (why is in the daemon's log, not the body).
  CHECK_THAT(wrong.err, Catch::Contains("authentication required"));
  CHECK_THAT(d.run_cli("engine status heartbeat --json").out, Catch::Contains("\"state\":\"RUNNING\""));
  auto timeout = d.run_cli("bus subscribe engine 'never.*' --count 1 --timeout 0.3");
  CHECK(timeout.rc == 5);
  fs::remove_all(dir);
}

TEST_CASE("e2e: start, status and stop an engine kind registered by the tests") {
  Daemon d("[engines.flaky]\nautostart = false\n", kTestDaemon);
  auto list = d.run_cli("engine list --json");
  REQUIRE(list.rc == 0);
  auto engines = nlohmann::json::parse(list.out);
  bool found = false;
  for (const auto& e : engines) found |= e["name"] == "flaky" && e["state"] == "STOPPED";
  CHECK(found);
  auto start = d.run_cli("engine start flaky");
  CHECK(start.rc == 0);
  CHECK(start.out == "flaky RUNNING\n");
  CHECK(nlohmann::json::parse(d.run_cli("engine status flaky --json").out)["state"] == "RUNNING");
  CHECK(d.run_cli("engine restart flaky").out == "flaky RUNNING\n");
  CHECK(d.run_cli("engine stop flaky").out == "flaky STOPPED\n");
  CHECK(nlohmann::json::parse(d.run_cli("engine status flaky --json").out)["state"] == "STOPPED");
}

TEST_CASE("e2e: an engine whose handler throws is restarted, then parked in ERROR") {
  Daemon d(
      "[supervisor]\nmax_failures = 1\nmax_restarts = 2\nbackoff_initial_ms = 5\nbackoff_max_ms = 10\n"
      "[engines.flaky]\n",
      kTestDaemon);
  control::ControlClient c(d.url, d.token());
  std::set<int> attempts_seen;
  bool parked = eventually([&] {
    auto info = c.get("/api/v1/engines/flaky").body;
    attempts_seen.insert(info["restart_attempts"].get<int>());
    if (info["parked"].get<bool>()) return true;
    if (info["state"] == "RUNNING") {
      auto r = d.run_cli("bus publish engine test.flaky.x '{\"fail\":true}'");
      CHECK(r.rc == 0);
    }
    return false;
  });
  REQUIRE(parked);
  auto st = d.run_cli("engine status flaky --json");
  auto info = nlohmann::json::parse(st.out);
  CHECK(info["state"] == "ERROR");
  CHECK(info["restart_attempts"] == 2);
  CHECK(info["errors"].get<int>() >= 3);
  CHECK_THAT(info["last_error"].get<std::string>(), Catch::Contains("asked to fail"));
  CHECK(attempts_seen.count(1) == 1);
  // The daemon itself is fine.
  CHECK(d.run_cli("status").rc == 0);
  CHECK(d.terminate() == 0);
}

TEST_CASE("e2e: publish -> subscribe round trip through the CLI on both buses with patterns") {
  Daemon d;
  for (std::string bus : {"marketdata", "engine"}) {
    Proc sub = Proc::spawn(d.cli("bus subscribe " + bus + " 'rt.*.keep' --count 2 --json --timeout 30"), d.dir, "sub-" + bus);
    REQUIRE(eventually([&] { return slurp(sub.err).find("subscribed") != std::string::npos; }));
    CHECK(d.run_cli("bus publish " + bus + " rt.a.drop '{\"n\":0}'").rc == 0);
    CHECK(d.run_cli("bus publish " + bus + " rt.a.keep '{\"n\":1}' --priority urgent").rc == 0);
    auto piped = run("printf '{\"n\":2}\\n' | " + d.cli("bus publish " + bus + " rt.b.keep -"), d.dir);
    CHECK(piped.rc == 0);
    CHECK(sub.wait() == 0);
    std::istringstream lines(slurp(sub.out));
    std::vector<Message> got;
    for (std::string line; std::getline(lines, line);) {
      Message m;
      REQUIRE(decode_json(line, m).is_ok());
      got.push_back(m);
    }
    REQUIRE(got.size() == 2);
    CHECK(got[0].topic == "rt.a.keep");
    CHECK(got[0].priority == Priority::kUrgent);
    CHECK(got[0].bus() == (bus == "marketdata" ? BusKind::kMarketData : BusKind::kEngine));
    CHECK(got[1].topic == "rt.b.keep");
    CHECK(nlohmann::json::parse(got[1].payload)["n"] == 2);
  }
}

TEST_CASE("e2e: /metrics passes promtool (when installed) and the histogram check") {
  Daemon d;
  CHECK(d.run_cli("bus publish engine m.x --count 20 --priority high").rc == 0);
  control::ControlClient c(d.url, "");
  auto r = c.get("/metrics");
  std::string text = r.body["text"].get<std::string>();
  auto h = test::check_histograms(text);
  // 2 buses x 5 priorities, plus one per topic family seen and per configured
  // engine (how many depends on what the default engines published by now).
  CHECK(h.histograms >= 10 + 1);
  CHECK_THAT(text, Catch::Contains("nautilus_engine_delivery_latency_seconds_count{engine=\"heartbeat\"}"));
  for (const auto& p : h.problems) FAIL_CHECK(p);
  if (test::have_program("promtool")) {
    std::ofstream(d.dir + "/metrics.txt") << text;
    auto pr = run("promtool check metrics < " + d.dir + "/metrics.txt", d.dir);
    INFO(pr.out << pr.err);
    CHECK(pr.rc == 0);
  } else {
    test::skip_test("promtool not installed (Debian package prometheus): only the project's own check ran");
  }
}

TEST_CASE("e2e: a config with three mistakes reports all three") {
  std::string dir = temp_dir();
  std::ofstream(dir + "/bad.toml") << "[daemon]\nlisten = \"nowhere\"\ncolour = true\n\n[bus]\nengine = \"carrier-pigeon://\"\n";
  auto r = run(kDaemon + " --check-config --config " + dir + "/bad.toml", dir);
  CHECK(r.rc == 2);
  CHECK_THAT(r.err, Catch::Contains("3 errors"));
  CHECK_THAT(r.err, Catch::Contains("daemon.listen"));
  CHECK_THAT(r.err, Catch::Contains("daemon.colour: unknown key"));
  CHECK_THAT(r.err, Catch::Contains("bus.engine: unknown bus URL"));
  std::ofstream(dir + "/good.toml") << "[daemon]\nlisten = \"127.0.0.1:0\"\n[engines.heartbeat]\ninterval_ms = 50\n";
  auto ok = run(kDaemon + " --check-config --config " + dir + "/good.toml", dir);
  CHECK(ok.rc == 0);
  CHECK_THAT(ok.out, Catch::Contains("configuration OK"));
  fs::remove_all(dir);
}

TEST_CASE("e2e: SIGTERM during a publish flood loses no accepted high message") {
  Daemon d;
  Proc sub = Proc::spawn(d.cli("bus subscribe engine 'flood.*' --json"), d.dir, "flood-sub");
  REQUIRE(eventually([&] { return slurp(sub.err).find("subscribed") != std::string::npos; }));
  // The publisher thread owns `accepted` until it is joined; the main thread
  // watches only the atomic count.
  std::vector<std::string> accepted;
  std::atomic<std::size_t> accepted_count{0};
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    control::ControlClient c(d.url, d.token(), std::chrono::seconds(5));
    for (int i = 0; !stop; ++i) {
      nlohmann::json msgs = nlohmann::json::array();
      for (int k = 0; k < 20; ++k) msgs.push_back({{"topic", "flood.x"}, {"priority", "high"}, {"payload", {{"i", i}}}});
      try {
        auto r = c.post("/api/v1/bus/engine/publish", {{"messages", msgs}});
        for (const auto& id : r.body["ids"]) accepted.push_back(id.get<std::string>());
        accepted_count.store(accepted.size());
      } catch (const control::ControlError&) {
        return;  // draining (503) or gone: nothing of this request was accepted
      }
    }
  });
  if (!eventually([&] { return accepted_count.load() >= 2000; })) {
    stop = true;
    publisher.join();
    FAIL("the publisher never had 2000 messages accepted");
  }
  CHECK(d.terminate() == 0);
  stop = true;
  publisher.join();
  sub.wait();
  std::set<std::string> received;
  std::istringstream lines(slurp(sub.out));
  for (std::string line; std::getline(lines, line);) {
    Message m;
    if (decode_json(line, m).is_ok()) received.insert(m.id.to_string());
  }
  std::size_t lost = 0;
  for (const auto& id : accepted) lost += received.count(id) ? 0 : 1;
  INFO("accepted " << accepted.size() << ", received " << received.size());
  CHECK(lost == 0);
}

TEST_CASE("e2e: the CLI finds the daemon from --config alone; flags and environment beat the file") {
  // The daemon's state dir is named only in its config file; the CLI gets the
  // same file and no NAUTILUS_STATE_DIR.
  std::string dir = temp_dir();
  std::string state = dir + "/state";
  std::string config = dir + "/nautilusd.toml";
  std::ofstream(config) << "[daemon]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"" << state << "\"\n";
  Proc daemon = Proc::spawn(kDaemon + " --config " + config + " --log-format json", dir, "daemon");
  REQUIRE(eventually([&] { return fs::exists(state + "/address") || ::waitpid(daemon.pid, nullptr, WNOHANG) != 0; }));
  REQUIRE(fs::exists(state + "/address"));

  std::string cli = "env -u NAUTILUS_STATE_DIR -u NAUTILUS_URL -u NAUTILUS_CONFIG " + kCli;
  auto ok = run(cli + " --config " + config + " status", dir);
  CHECK(ok.rc == 0);
  CHECK_THAT(ok.out, Catch::Contains("config " + config));
  // The token comes from the state dir the file names: a mutating call works.
  CHECK(run(cli + " --config " + config + " engine stop heartbeat", dir).rc == 0);
  // NAUTILUS_CONFIG stands in for --config.
  CHECK(run("env -u NAUTILUS_STATE_DIR -u NAUTILUS_URL NAUTILUS_CONFIG=" + config + " " + kCli + " status", dir).rc == 0);
  // A flag beats the file: --url to a dead port is unreachable.
  CHECK(run(cli + " --config " + config + " --url http://127.0.0.1:1 status", dir).rc == 3);
  // The environment's state dir beats the file's: an empty one has no address
  // file, the file's listen port 0 says nothing, so the CLI tries the default
  // address, where no daemon listens.
  std::string empty = dir + "/empty";
  fs::create_directories(empty);
  auto env_wins = run("env -u NAUTILUS_URL NAUTILUS_STATE_DIR=" + empty + " " + kCli + " --config " + config +
                          " status", dir);
  CHECK(env_wins.rc == 3);
  CHECK_THAT(env_wins.err, Catch::Contains("127.0.0.1:8001"));
  // A missing file is a usage error.
  auto missing = run(cli + " --config " + dir + "/nope.toml status", dir);
  CHECK(missing.rc == 2);
  CHECK_THAT(missing.err, Catch::Contains("nope.toml"));

  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
  fs::remove_all(dir);
}

TEST_CASE("e2e: a direct bus backend that cannot be reached exits 3, a bad one 2") {
  std::string dir = temp_dir();
  auto dead = run(kCli + " bus publish engine a.b '{}' --backend redis://127.0.0.1:1", dir);
  CHECK(dead.rc == 3);
  CHECK_THAT(dead.err, Catch::Contains("cannot reach redis://127.0.0.1:1"));
  CHECK(run(kCli + " bench throughput --count 10 --backend redis://127.0.0.1:1", dir).rc == 3);
  auto bad = run(kCli + " bus subscribe engine 'a.*' --backend kafka://x", dir);
  CHECK(bad.rc == 2);
  CHECK_THAT(bad.err, Catch::Contains("unknown bus URL"));
  fs::remove_all(dir);
}

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

const nlohmann::json* row_named(const nlohmann::json& rows, const std::string& name) {
  for (const auto& r : rows) {
    if (r["name"] == name) return &r;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("e2e: top --once --json has rows for both buses, the delivered priority lane and the engines") {
  Daemon d;
  Proc sub = Proc::spawn(d.cli("bus subscribe engine 'top.*' --count 21 --timeout 30"), d.dir, "top-sub");
  REQUIRE(eventually([&] { return slurp(sub.err).find("subscribed") != std::string::npos; }));
  CHECK(d.run_cli("bus publish engine top.x --count 20 --priority high").rc == 0);
  // One message that is part of a chain (it carries origin_ns): its family gets a chain latency.
  control::ControlClient c(d.url, d.token());
  c.post("/api/v1/bus/engine/publish",
         {{"messages", {{{"topic", "top.chain.end"}, {"priority", "urgent"}, {"payload", nlohmann::json::object()},
                         {"origin_ns", wall_now_ns() - 1000}}}}});
  CHECK(sub.wait() == 0);

  auto r = d.run_cli("top --once --json --interval 0.2");
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());
  REQUIRE(count_of(r.out, "\n") == 1);  // exactly one snapshot
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["interval_s"].get<double>() > 0);
  CHECK(j["sort"] == "name");
  for (std::string bus : {"marketdata", "engine"}) {
    const auto* b = row_named(j["buses"], bus);
    REQUIRE(b != nullptr);
    CHECK((*b)["state"] == "CONNECTED");
    CHECK((*b)["msgs_per_s"].get<double>() >= 0);  // two polls: a real rate, not null
    CHECK((*b)["backend"] == "inproc");
  }
  CHECK((*row_named(j["buses"], "engine"))["delivered"].get<std::uint64_t>() >= 20);
  const auto* lane = row_named(j["priorities"], "engine/high");
  REQUIRE(lane != nullptr);
  CHECK((*lane)["count"].get<std::uint64_t>() >= 20);
  CHECK((*lane)["p50_ns"].get<double>() > 0);
  CHECK((*lane)["p99_ns"].get<double>() >= (*lane)["p50_ns"].get<double>());
  CHECK((*lane)["max_ns"].get<double>() >= (*lane)["p99_ns"].get<double>());
  const auto& engine_bus = *row_named(j["buses"], "engine");
  CHECK(engine_bus["p99_ns"].get<double>() >= engine_bus["p50_ns"].get<double>());  // latency over every lane
  const nlohmann::json* family = nullptr;
  for (const auto& f : j["families"]) {
    if (f["bus"] == "engine" && f["family"] == "top.x") family = &f;
  }
  REQUIRE(family != nullptr);
  CHECK((*family)["delivered"].get<std::uint64_t>() == 20);
  CHECK((*family)["p50_ns"].get<double>() > 0);
  CHECK((*family)["chain"].is_null());
  const auto* chained = row_named(j["families"], "top.chain");
  REQUIRE(chained != nullptr);
  CHECK((*chained)["delivered"] == 1);
  REQUIRE((*chained)["chain"].is_object());
  CHECK((*chained)["chain"]["max_ns"].is_number());
  const auto* hb = row_named(j["engines"], "heartbeat");
  REQUIRE(hb != nullptr);
  CHECK((*hb)["state"] == "RUNNING");
  CHECK((*hb)["kind"] == "heartbeat");
  CHECK((*hb)["msgs_per_s"].is_number());
  for (const auto& e : j["engines"]) {
    for (const char* k : {"p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "queue_depth", "dropped", "errors"}) {
      CHECK((e.contains(k) && (e[k].is_null() || e[k].is_number())));
    }
  }

  // The same snapshot as a table for people, without a terminal: no escapes.
  auto t = d.run_cli("top --once --interval 0.2 --sort rate");
  CHECK(t.rc == 0);
  CHECK_THAT(t.out, Catch::Contains("BUSES") && Catch::Contains("PRIORITIES") && Catch::Contains("FAMILIES") &&
                        Catch::Contains("ENGINES") && Catch::Contains("engine/high") && Catch::Contains("top.chain") &&
                        Catch::Contains("CHAIN P99") && Catch::Contains("heartbeat"));
  CHECK(t.out.find('\033') == std::string::npos);
}

TEST_CASE("e2e: top off a terminal prints a snapshot per interval until SIGTERM, then exits 0") {
  Daemon d;
  for (bool json : {false, true}) {
    Proc top = Proc::spawn(d.cli(std::string("top --interval 0.2") + (json ? " --json" : "")), d.dir,
                           json ? "top-ndjson" : "top-plain");
    const std::string marker = json ? "\n" : "\nBUSES\n";
    REQUIRE(eventually([&] { return count_of(slurp(top.out), marker) >= 2; }));
    ::kill(top.pid, SIGTERM);
    CHECK(top.wait() == 0);
    std::string text = slurp(top.out);
    CHECK(text.find('\033') == std::string::npos);
    if (json) {
      std::istringstream lines(text);
      std::size_t n = 0;
      for (std::string line; std::getline(lines, line); ++n) {
        auto j = nlohmann::json::parse(line);
        CHECK(j["buses"].size() == 2);
        CHECK(j["interval_s"].get<double>() > 0);
      }
      CHECK(n >= 2);
    } else {
      CHECK(count_of(text, "since the previous poll") >= 2);  // each snapshot has its timestamp line
    }
  }
}

TEST_CASE("e2e: top usage errors exit 2; a dead daemon, or one that goes away, exits 3") {
  std::string dir = temp_dir();
  auto bad_sort = run(kCli + " --url http://127.0.0.1:1 top --sort speed", dir);
  CHECK(bad_sort.rc == 2);
  CHECK_THAT(bad_sort.err, Catch::Contains("speed") && Catch::Contains("rate, p50") && Catch::Contains("name"));
  CHECK(count_of(bad_sort.err, "\n") == 1);
  CHECK(run(kCli + " --url http://127.0.0.1:1 top --interval 0", dir).rc == 2);
  CHECK(run(kCli + " --url http://127.0.0.1:1 top --interval -1 --once", dir).rc == 2);
  CHECK(run(kCli + " --url http://127.0.0.1:1 top --interval soon", dir).rc == 2);

  for (std::string args : {"top --once --json", "top"}) {
    auto dead = run("env -u NAUTILUS_STATE_DIR " + kCli + " --url http://127.0.0.1:1 " + args, dir);
    CHECK(dead.rc == 3);
    CHECK_THAT(dead.err, Catch::Contains("cannot reach nautilusd"));
    CHECK(count_of(dead.err, "\n") == 1);
    CHECK(dead.out.empty());
  }
  fs::remove_all(dir);

  Daemon d;
  Proc top = Proc::spawn(d.cli("top --interval 0.2"), d.dir, "top-orphan");
  REQUIRE(eventually([&] { return count_of(slurp(top.out), "\nBUSES\n") >= 1; }));
  CHECK(d.terminate() == 0);
  CHECK(top.wait() == 3);
  CHECK_THAT(slurp(top.err), Catch::Contains("nautilusd"));
  CHECK(count_of(slurp(top.err), "\n") == 1);
}

TEST_CASE("e2e: top on a terminal draws on the alternate screen and restores it on SIGTERM") {
  if (!test::have_program("script")) {
    test::skip_test("script(1) not installed (Debian package bsdutils): the terminal mode of top is not checked");
    return;
  }
  Daemon d;
  for (bool no_color : {false, true}) {
    // script(1) gives top a pseudo-terminal; the inner shell records top's pid
    // so SIGTERM goes to top itself.
    std::string pidfile = d.dir + "/top.pid";
    fs::remove(pidfile);
    std::string inner = std::string(no_color ? "NO_COLOR=1 " : "-u NO_COLOR ") + d.cli("top --interval 0.2");
    // A tall terminal: top draws only the rows that fit, and the engines come last.
    Proc tty = Proc::spawn("script -qec \"sh -c 'stty rows 200 cols 200; echo \\$\\$ > " + pidfile + "; exec env " + inner +
                               "'\" /dev/null < /dev/null",
                           d.dir, no_color ? "top-tty-plain" : "top-tty");
    // Two frames, the later one with the engines in it (the first may come
    // before the daemon's engine table does, on a loaded machine).
    REQUIRE(eventually([&] {
      std::string s = slurp(tty.out);
      return fs::exists(pidfile) && count_of(s, "\033[H") >= 2 && s.find("heartbeat") != std::string::npos;
    }));
    std::string pid = slurp(pidfile);
    ::kill(static_cast<pid_t>(std::stol(pid)), SIGTERM);
    CHECK(tty.wait() == 0);  // script -e: top's own exit status
    std::string screen = slurp(tty.out);
    CHECK(screen.starts_with("\033[?1049h\033[?25l"));
    const std::string restore = "\033[?25h\033[?1049l";
    REQUIRE(screen.size() >= restore.size());
    CHECK(screen.substr(screen.size() - restore.size()) == restore);
    CHECK_THAT(screen, Catch::Contains("heartbeat") && Catch::Contains("BUSES"));
    if (no_color) CHECK(screen.find("\033[32m") == std::string::npos);
    else CHECK_THAT(screen, Catch::Contains("\033[32mRUNNING"));
  }
}
