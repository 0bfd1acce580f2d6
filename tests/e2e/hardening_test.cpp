// End to end, the promises of nautilus(1) and nautilusd(8) that had no test
// (issue 20, item 4): risk check's exit codes and its HTTP route, the bench's
// counts, exit 1 on a bind failure, the sd_notify messages, and which of
// flag, environment and config file names the daemon's state directory.
#include "e2e/cli_e2e_support.h"
#include "bus/redis_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

using namespace nautilus::e2e;
namespace fs = std::filesystem;

namespace {

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// One HTTP/1.1 request written by hand, so that a malformed body reaches the
// daemon exactly as sent (the project's client only sends valid JSON).
HttpAnswer raw_post(const std::string& url, const std::string& path, const std::string& body) {
  const std::string prefix = "http://127.0.0.1:";
  REQUIRE(url.rfind(prefix, 0) == 0);
  int port = std::stoi(url.substr(prefix.size()));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
                    "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  HttpAnswer a;
  REQUIRE(reply.rfind("HTTP/1.1 ", 0) == 0);
  a.status = std::stoi(reply.substr(9, 3));
  auto end_of_headers = reply.find("\r\n\r\n");
  REQUIRE(end_of_headers != std::string::npos);
  a.body = reply.substr(end_of_headers + 4);
  return a;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The address file is written before the engines start: wait for risk.
void wait_for_risk(const Daemon& d) {
  REQUIRE(eventually([&] { return d.run_cli("engine status risk").out.find("RUNNING") != std::string::npos; }));
}

// An order far beyond what the default risk limits allow ($1,000,000 equity):
// $10 billion of notional.
const std::string kHugeOrder = "--symbol AAPL --side buy --quantity 10000000 --price 1000";

}  // namespace

TEST_CASE("e2e hardening: risk check exits 0 when approved and 1 when a limit denies the order") {
  Daemon d;
  wait_for_risk(d);
  auto approved = d.run_cli("risk check --symbol AAPL --side buy --quantity 1 --price 10");
  INFO(approved.err);
  CHECK(approved.rc == 0);
  CHECK_THAT(approved.out, Catch::StartsWith("APPROVED"));

  // Not halted: the limits themselves deny it, with their reasons listed.
  auto denied = d.run_cli("risk check " + kHugeOrder);
  INFO(denied.out << denied.err);
  CHECK(denied.rc == 1);
  CHECK_THAT(denied.out, Catch::StartsWith("DENIED"));
  CHECK_THAT(denied.out, Catch::Contains("\n  - "));
  CHECK(nlohmann::json::parse(d.run_cli("risk state --json").out)["state"] != "HALTED");

  auto denied_json = d.run_cli("--json risk check " + kHugeOrder);
  CHECK(denied_json.rc == 1);
  auto decision = nlohmann::json::parse(denied_json.out);
  CHECK(decision["approved"] == false);
  CHECK(!decision["reasons"].empty());
}

TEST_CASE("e2e hardening: POST /api/v1/risk/check approves, denies, and answers bad JSON with 400") {
  Daemon d;
  wait_for_risk(d);
  auto ok = raw_post(d.url, "/api/v1/risk/check", R"({"symbol":"AAPL","side":"buy","quantity":1,"price":10})");
  INFO(ok.body);
  CHECK(ok.status == 200);
  auto ok_json = nlohmann::json::parse(ok.body);
  CHECK(ok_json["approved"] == true);
  CHECK(ok_json["symbol"] == "AAPL");
  CHECK(ok_json["notional"].get<double>() == Approx(10.0));

  auto no = raw_post(d.url, "/api/v1/risk/check",
                     R"({"symbol":"AAPL","side":"buy","quantity":10000000,"price":1000,"id":"o-7"})");
  INFO(no.body);
  CHECK(no.status == 200);  // a denial is an answer, not an error
  auto no_json = nlohmann::json::parse(no.body);
  CHECK(no_json["approved"] == false);
  CHECK(!no_json["reasons"].empty());
  CHECK(no_json["notional"].get<double>() == Approx(1e10));

  struct Case {
    std::string body;
    const char* why;
  };
  for (const Case& c : std::vector<Case>{{R"({"symbol":"AAPL","side":)", "truncated JSON"},
                                         {"not json at all", "not JSON"},
                                         {R"({"symbol":"AAPL","side":"sideways","quantity":1})", "unknown side"}}) {
    auto bad = raw_post(d.url, "/api/v1/risk/check", c.body);
    INFO(c.why << ": " << bad.body);
    CHECK(bad.status == 400);
    // One line: a JSON error object whose message has no line break.
    auto lines = lines_of(bad.body);
    CHECK(lines.size() == 1);
    auto err = nlohmann::json::parse(bad.body);
    REQUIRE(err.contains("error"));
    std::string message = err["error"]["message"].get<std::string>();
    CHECK(!message.empty());
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("e2e hardening: bench throughput and latency --json count every message per priority") {
  std::string dir = temp_dir();
  struct Case {
    std::string scenario;
    std::string args;
  };
  for (const Case& c : std::vector<Case>{{"throughput", "--count 6000"}, {"latency", "--count 3000 --rate 6000"}}) {
    auto r = run(kCli + " --json bench " + c.scenario + " " + c.args +
                     " --subscribers 2 --publishers 2 --mix normal=2,high=1 --size 64",
                 dir);
    INFO(c.scenario << ": " << r.err);
    REQUIRE(r.rc == 0);
    auto j = nlohmann::json::parse(r.out);
    const double total = c.scenario == "throughput" ? 6000 : 3000;
    CHECK(j["messages"].get<double>() == total);
    CHECK(j["lost"] == 0);
    CHECK(j["duplicated"] == 0);
    // Each publisher cycles through normal, normal, high; each sends total/2,
    // a multiple of 3, so exactly a third are high.
    const auto& lanes = j["by_priority"];
    CHECK(lanes.size() == 2);  // only the lanes that carried messages
    REQUIRE(lanes.contains("high"));
    REQUIRE(lanes.contains("normal"));
    CHECK(lanes["high"]["messages"].get<double>() == total / 3);
    CHECK(lanes["normal"]["messages"].get<double>() == 2 * total / 3);
    double delivered = 0;
    for (const auto& lane : lanes) {
      CHECK(lane["lost"] == 0);
      delivered += lane["delivered"].get<double>();
    }
    CHECK(delivered == 2 * total);  // two subscribers, each sees every message
  }
  fs::remove_all(dir);
}

TEST_CASE("e2e hardening: bench throughput exits 1 when high-priority messages are lost (Redis killed mid-run)") {
  std::string dir = temp_dir();
  nautilus::testing::RedisServer redis;
  const std::string port = std::to_string(redis.port());
  Result bench{-1, {}, {}};
  // The bench runs on its own thread; only its result crosses back (no
  // assertion off this thread).
  std::thread t([&] {
    bench = run(kCli + " --json bench throughput --backend redis://127.0.0.1:" + port +
                    " --priority high --duration 4 --drain-timeout 1",
                dir);
  });
  // Kill Redis once the bench's messages are arriving: what it accepted after
  // that can never be delivered.
  bool arriving = eventually([&] {
    auto n = run("redis-cli -p " + port + " DBSIZE", dir);
    return n.rc == 0 && std::atoi(n.out.c_str()) > 0;
  });
  redis.kill();
  t.join();
  REQUIRE(arriving);
  INFO(bench.err);
  CHECK(bench.rc == 1);
  CHECK_THAT(bench.err, Catch::Contains("messages lost at high priority or above"));
  auto j = nlohmann::json::parse(bench.out);
  CHECK(j["by_priority"]["high"]["lost"].get<double>() > 0);
  fs::remove_all(dir);
}

TEST_CASE("e2e hardening: nautilusd exits 1 with a one-line error when its port is taken") {
  int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(holder >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(holder, 1) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  std::string port = std::to_string(ntohs(addr.sin_port));

  std::string dir = temp_dir();
  auto r = run("env -u NAUTILUS_LISTEN " + kDaemon + " --listen 127.0.0.1:" + port + " --state-dir " + dir +
                   " --log-format json",
               dir);
  ::close(holder);
  INFO(r.err);
  CHECK(r.rc == 1);
  std::vector<std::string> plain;  // the lines not in the JSON log
  for (const auto& line : lines_of(r.err)) {
    if (!line.starts_with("{")) plain.push_back(line);
  }
  REQUIRE(plain.size() == 1);
  CHECK_THAT(plain[0], Catch::StartsWith("nautilusd: ") && Catch::Contains(port));
  CHECK(!fs::exists(dir + "/address"));
  fs::remove_all(dir);
}

TEST_CASE("e2e hardening: sd_notify sends READY=1 once the address file exists and STOPPING=1 on SIGTERM") {
  std::string dir = temp_dir();
  // A short path: sun_path holds 108 bytes.
  std::string sock_path = dir + "/notify";
  REQUIRE(sock_path.size() < sizeof(sockaddr_un::sun_path));
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::copy(sock_path.begin(), sock_path.end(), addr.sun_path);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);

  std::string state = dir + "/state";
  Proc daemon = Proc::spawn("env NOTIFY_SOCKET=" + sock_path + " " + kDaemon +
                                " --listen 127.0.0.1:0 --log-format json --state-dir " + state,
                            dir, "daemon");
  // Each datagram is one notify call; the address file's presence is noted
  // when READY=1 is read (it can only be later than when it was sent).
  std::vector<std::string> messages;
  bool address_when_ready = false;
  auto receive = [&] {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
      messages.emplace_back(buf, static_cast<std::size_t>(n));
      if (messages.back().find("READY=1") != std::string::npos) address_when_ready = fs::exists(state + "/address");
    }
  };
  auto has = [&](const std::string& what) {
    receive();
    for (const auto& m : messages) {
      auto lines = lines_of(m);
      if (std::find(lines.begin(), lines.end(), what) != lines.end()) return true;
    }
    return false;
  };
  REQUIRE(eventually([&] { return has("READY=1") || ::waitpid(daemon.pid, nullptr, WNOHANG) != 0; }));
  REQUIRE(has("READY=1"));
  CHECK(address_when_ready);
  CHECK_FALSE(has("STOPPING=1"));
  CHECK(has("MAINPID=" + std::to_string(daemon.pid)));

  ::kill(daemon.pid, SIGTERM);
  CHECK(eventually([&] { return has("STOPPING=1"); }));
  CHECK(daemon.wait() == 0);
  ::close(fd);
  fs::remove_all(dir);
}

TEST_CASE("e2e hardening: the daemon's state dir comes from the flag, else the environment, else the file") {
  std::string dir = temp_dir();
  const std::string file_dir = dir + "/from-file", env_dir = dir + "/from-env", flag_dir = dir + "/from-flag";
  std::ofstream(dir + "/nautilusd.toml") << "[daemon]\nstate_dir = \"" << file_dir << "\"\n";
  struct Case {
    std::string env, flags, winner;
  };
  for (const Case& c : std::vector<Case>{{"NAUTILUS_STATE_DIR=" + env_dir, "--state-dir " + flag_dir, flag_dir},
                                         {"NAUTILUS_STATE_DIR=" + env_dir, "", env_dir},
                                         {"-u NAUTILUS_STATE_DIR", "", file_dir}}) {
    INFO(c.env << " " << c.flags);
    Proc daemon = Proc::spawn("env -u NAUTILUS_LISTEN " + c.env + " " + kDaemon + " --config " + dir +
                                  "/nautilusd.toml --listen 127.0.0.1:0 --log-format json " + c.flags,
                              dir, "daemon");
    REQUIRE(eventually([&] { return fs::exists(c.winner + "/address") || ::waitpid(daemon.pid, nullptr, WNOHANG) != 0; }));
    CHECK(fs::exists(c.winner + "/address"));
    for (const auto& other : {file_dir, env_dir, flag_dir}) {
      if (other != c.winner) CHECK_FALSE(fs::exists(other + "/address"));
    }
    ::kill(daemon.pid, SIGTERM);
    CHECK(daemon.wait() == 0);
    for (const auto& d : {file_dir, env_dir, flag_dir}) fs::remove_all(d);
  }
  fs::remove_all(dir);
}
