// Signed tokens end to end (issue 22, "Done when"): `nautilus token create
// --role viewer` against the real daemon gives a token that reads and
// subscribes but cannot stop an engine; list, revoke; a non-loopback
// listener without TLS is refused at start.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli_e2e_support.h"

using namespace nautilus::e2e;

namespace {
std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

TEST_CASE("e2e: a viewer token from nautilus token create reads and subscribes but cannot stop an engine") {
  Daemon d;
  auto made = d.run_cli("token create --role viewer --name e2e-viewer --ttl 1h");
  REQUIRE(made.rc == 0);
  const std::string token = trimmed(made.out);
  CHECK(count_of(token, ".") == 2);  // a compact JWS, alone on stdout
  CHECK_THAT(made.err, Catch::Contains("e2e-viewer") && Catch::Contains("viewer"));
  const std::string as_viewer = "--token " + token + " ";

  auto status = d.run_cli(as_viewer + "status");
  CHECK(status.rc == 0);
  CHECK_THAT(status.out, Catch::Contains("heartbeat"));
  CHECK(d.run_cli(as_viewer + "bus subscribe engine 'system.heartbeat.*' --count 1 --timeout 60").rc == 0);

  auto stop = d.run_cli(as_viewer + "engine stop heartbeat");
  CHECK(stop.rc == 1);
  CHECK_THAT(stop.err, Catch::Contains("role viewer may not use operate routes"));
  CHECK_THAT(d.run_cli("engine status heartbeat --json").out, Catch::Contains("\"state\":\"RUNNING\""));
  // Nor make tokens.
  CHECK(d.run_cli(as_viewer + "token create --role admin").rc == 1);

  auto list = d.run_cli("--json token list");
  REQUIRE(list.rc == 0);
  auto tokens = nlohmann::json::parse(list.out)["tokens"];
  REQUIRE(tokens.size() == 1);
  CHECK(tokens[0]["name"] == "e2e-viewer");
  CHECK(list.out.find(token) == std::string::npos);  // the list never holds the token
  CHECK(d.run_cli("token revoke " + tokens[0]["id"].get<std::string>()).rc == 0);
  auto revoked = d.run_cli(as_viewer + "status");
  CHECK(revoked.rc == 1);
  CHECK_THAT(revoked.err, Catch::Contains("authentication required"));
  CHECK(d.run_cli("token revoke no-such-id").rc == 4);
}

TEST_CASE("e2e: nautilusd refuses a non-loopback listener without TLS unless --insecure-listen") {
  std::string dir = temp_dir();
  auto refused = run(kDaemon + " --listen 0.0.0.0:0 --state-dir " + dir + " --log-format text", dir);
  CHECK(refused.rc != 0);
  CHECK_THAT(refused.out + refused.err, Catch::Contains("without TLS") && Catch::Contains("--insecure-listen"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("e2e: [security] settings are checked with every problem listed") {
  std::string dir = temp_dir();
  std::ofstream(dir + "/bad.toml") << "[security]\n"
                                      "anonymous_loopback = \"root\"\n"
                                      "header_timeout_ms = 5\n"
                                      "rate_read = -1\n"
                                      "tls_cert = \"/x/cert.pem\"\n"
                                      "no_such_key = 1\n";
  auto bad = run(kDaemon + " --check-config --config " + dir + "/bad.toml", dir);
  CHECK(bad.rc == 2);
  const std::string text = bad.out + bad.err;
  for (const char* key : {"security.anonymous_loopback", "security.header_timeout_ms", "security.rate_read",
                          "security.tls_cert", "security.no_such_key"}) {
    CHECK_THAT(text, Catch::Contains(key));
  }
  std::ofstream(dir + "/good.toml") << "[security]\nanonymous_loopback = \"none\"\nrate_publish = 10\nburst_publish = 20\n";
  CHECK(run(kDaemon + " --check-config --config " + dir + "/good.toml", dir).rc == 0);
  std::filesystem::remove_all(dir);
}
