// Roles against route classes over real sockets, topic rules on publish and
// NDJSON subscribe, token issue/list/revoke through the API, the audit log.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "control/control_client.h"
#include "core/topic_pattern.h"
#include "auth_fixture.h"

using namespace nautilus;
using namespace nautilus::control;
using namespace nautilus::control::testing;

namespace {

struct StreamOpened {};

// The status of one request of `cls` made with `authorization`.
int status_for(AuthServer& s, RouteClass cls, const std::string& authorization) {
  switch (cls) {
    case RouteClass::kPublic: return raw_request(s.url, "GET", "/health", authorization).status;
    case RouteClass::kRead: return raw_request(s.url, "GET", "/api/v1/engines", authorization).status;
    case RouteClass::kPublish:
      return raw_request(s.url, "POST", "/api/v1/bus/engine/publish", authorization, R"({"topic":"test.a"})").status;
    case RouteClass::kOperate:
      return raw_request(s.url, "POST", "/api/v1/engines/quiet/command/echo", authorization, "{}").status;
    case RouteClass::kAdmin: return raw_request(s.url, "GET", "/api/v1/tokens", authorization).status;
    case RouteClass::kSubscribe: {
      // The stream is open once its 200 head arrives: leave then.
      std::string token = authorization.empty() ? "" : authorization.substr(7);
      ControlClient c(s.url, token);
      try {
        c.stream("/api/v1/bus/engine/subscribe?pattern=test.*", [](std::string_view) { return false; },
                 std::chrono::milliseconds(0), [] { throw StreamOpened{}; });
      } catch (const StreamOpened&) {
        return 200;
      } catch (const ControlError& e) {
        return e.http_status();
      }
      return -1;
    }
  }
  return -1;
}

}  // namespace

TEST_CASE("auth: each role against each route class, over a real socket") {
  AuthServer s;
  const std::string viewer = bearer(s.token(Role::kViewer));
  const std::string op = bearer(s.token(Role::kOperator));
  const std::string admin = bearer(s.token(Role::kAdmin));
  const std::string admin_file = bearer(kAdminToken);
  constexpr int k2 = 200, kNo = 401, kForbidden = 403;
  struct Row {
    const char* who;
    std::string authorization;
    int pub, read, subscribe, publish, operate, admin;
  };
  const Row rows[] = {
      // Anonymous on loopback is a viewer by default; a credential would open more: 401.
      {"anonymous (loopback)", "", k2, k2, k2, kNo, kNo, kNo},
      {"viewer JWT", viewer, k2, k2, k2, kForbidden, kForbidden, kForbidden},
      {"operator JWT", op, k2, k2, k2, k2, k2, kForbidden},
      {"admin JWT", admin, k2, k2, k2, k2, k2, k2},
      {"the token file (admin)", admin_file, k2, k2, k2, k2, k2, k2},
  };
  for (const auto& row : rows) {
    INFO(row.who);
    const std::pair<RouteClass, int> expect[] = {
        {RouteClass::kPublic, row.pub},       {RouteClass::kRead, row.read},
        {RouteClass::kSubscribe, row.subscribe}, {RouteClass::kPublish, row.publish},
        {RouteClass::kOperate, row.operate},  {RouteClass::kAdmin, row.admin}};
    for (auto [cls, status] : expect) {
      INFO(to_string(cls));
      CHECK(status_for(s, cls, row.authorization) == status);
    }
  }
  // A viewer token cannot stop an engine (issue 22, "Done when").
  CHECK(raw_request(s.url, "POST", "/api/v1/engines/quiet/stop", viewer).status == 403);
  CHECK(s.host->info("quiet").health.state == EngineState::kRunning);
}

TEST_CASE("auth: anonymous_loopback none needs a credential for reads too") {
  AuthOptions ao;
  ao.anonymous_loopback.reset();
  AuthServer s([](ServerOptions&) {}, ao);
  CHECK(raw_request(s.url, "GET", "/health").status == 200);
  CHECK(raw_request(s.url, "GET", "/api/v1/engines").status == 401);
  CHECK(raw_request(s.sock_path, "GET", "/api/v1/engines").status == 401);
  CHECK(raw_request(s.url, "GET", "/api/v1/engines", bearer(s.token(Role::kViewer))).status == 200);
}

TEST_CASE("auth: pattern_covers is sound against brute force over a small alphabet") {
  // Every pattern and topic over {a, b, .} (patterns also * and ?) up to a
  // few characters: when pattern_covers says outer covers inner, each topic
  // inner matches is matched by outer.
  std::vector<std::string> patterns = {""}, topics = {""};
  for (int len = 1; len <= 3; ++len) {
    std::vector<std::string> next;
    for (const auto& p : patterns) {
      if (static_cast<int>(p.size()) != len - 1) continue;
      for (char c : std::string("ab.*?")) next.push_back(p + c);
    }
    patterns.insert(patterns.end(), next.begin(), next.end());
  }
  for (int len = 1; len <= 5; ++len) {
    std::vector<std::string> next;
    for (const auto& t : topics) {
      if (static_cast<int>(t.size()) != len - 1) continue;
      for (char c : std::string("ab.")) next.push_back(t + c);
    }
    topics.insert(topics.end(), next.begin(), next.end());
  }
  std::size_t covered = 0;
  for (const auto& outer : patterns) {
    for (const auto& inner : patterns) {
      if (!pattern_covers(outer, inner)) continue;
      ++covered;
      for (const auto& t : topics) {
        if (glob_match(inner, t) && !glob_match(outer, t)) FAIL("'" << outer << "' said to cover '" << inner << "' but misses '" << t << "'");
      }
    }
  }
  CHECK(covered > patterns.size());  // not vacuous: more than the identities
  CHECK(pattern_covers("risk.*", "risk.*"));
  CHECK(pattern_covers("risk.*", "risk.a.?"));
  CHECK(pattern_covers("*", "md.*.trades"));
  CHECK_FALSE(pattern_covers("risk.?", "risk.*"));
  CHECK_FALSE(pattern_covers("risk.a", "risk.?"));
}

TEST_CASE("auth: topic rules on publish: allow lists, deny wins, a batch goes in whole or not at all") {
  AuthServer s;
  TokenRequest tr;
  tr.publish.allow = {"test.*"};
  tr.publish.deny = {"test.secret.*"};
  const std::string op = bearer(s.token(Role::kOperator, tr));
  auto publish = [&](const std::string& body) {
    return raw_request(s.url, "POST", "/api/v1/bus/engine/publish", op, body).status;
  };
  const std::uint64_t before = s.router->engine().stats().published;
  CHECK(publish(R"({"topic":"test.a"})") == 200);
  CHECK(publish(R"({"topic":"other.a"})") == 403);
  CHECK(publish(R"({"topic":"test.secret.key"})") == 403);
  CHECK(publish(R"({"messages":[{"topic":"test.b"},{"topic":"test.secret.x"}]})") == 403);
  CHECK(s.router->engine().stats().published == before + 1);
}

TEST_CASE("auth: topic rules on subscribe: the pattern is checked, denied topics are filtered per message") {
  AuthServer s;
  TokenRequest tr;
  tr.subscribe.allow = {"risk.*"};
  tr.subscribe.deny = {"risk.internal.*"};
  const std::string token = s.token(Role::kViewer, tr);
  ControlClient c(s.url, token);
  auto refused = [&](const std::string& pattern) {
    try {
      c.stream("/api/v1/bus/engine/subscribe?pattern=" + url_encode(pattern), [](std::string_view) { return false; },
               std::chrono::milliseconds(0), [] { throw StreamOpened{}; });
    } catch (const ControlError& e) {
      return e.http_status();
    } catch (const StreamOpened&) {
      return 200;
    }
    return -1;
  };
  CHECK(refused("*") == 403);                // wider than the allow list
  CHECK(refused("orders.*") == 403);
  CHECK(refused("risk.internal.*") == 403);  // wholly denied
  // risk.* is allowed; what the deny rule covers inside it never arrives.
  std::vector<std::string> topics;
  c.stream("/api/v1/bus/engine/subscribe?pattern=risk.*&count=2",
           [&](std::string_view line) {
             topics.push_back(nlohmann::json::parse(line)["topic"].get<std::string>());
             return true;
           },
           std::chrono::milliseconds(20'000), [&] {
             for (const char* t : {"risk.internal.limits", "risk.a", "risk.internal.x", "risk.b"}) {
               auto m = std::make_shared<Message>();
               m->topic = t;
               m->type = MessageType::kSystemHealth;
               REQUIRE(s.router->publish(BusKind::kEngine, m));
             }
           });
  CHECK(topics == std::vector<std::string>{"risk.a", "risk.b"});
}

TEST_CASE("auth: tokens are issued, listed and revoked through the API; each mutation is audited") {
  AuthServer s;
  ControlClient admin(s.url, kAdminToken);
  nlohmann::json made = admin.post("/api/v1/tokens", {{"role", "viewer"}, {"name", "grafana"}, {"ttl", "1h"},
                                                      {"subscribe", {"md.*"}}}).body;
  REQUIRE(made["token"].is_string());
  CHECK(made["role"] == "viewer");
  CHECK(made["expires"].get<std::int64_t>() - made["issued"].get<std::int64_t>() == 3600);
  const std::string token = made["token"];
  CHECK(raw_request(s.url, "GET", "/api/v1/engines", bearer(token)).status == 200);

  auto listed = admin.get("/api/v1/tokens").body["tokens"];
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["name"] == "grafana");
  CHECK_FALSE(listed[0].contains("token"));  // the list never holds the secret
  CHECK(listed[0]["revoked"] == false);

  CHECK(admin.post("/api/v1/tokens/" + made["id"].get<std::string>() + "/revoke").body["revoked"] == true);
  CHECK(raw_request(s.url, "GET", "/api/v1/engines", bearer(token)).status == 401);
  CHECK(admin.get("/api/v1/tokens").body["tokens"][0]["revoked"] == true);
  CHECK(admin.request("POST", "/api/v1/tokens/nope/revoke", nullptr).status == 404);
  CHECK(admin.request("POST", "/api/v1/tokens", nullptr).status == 400);  // no role

  // A second authenticator on the same state directory (a restarted daemon)
  // still refuses the revoked token and lists what was issued.
  AuthOptions ao;
  ao.jwt_key = std::string(kJwtKey);
  ao.state_dir = s.state_dir;
  Authenticator restarted(ao);
  CHECK(restarted.authenticate(bearer(token), true, s.now_s()).principal == nullptr);
  CHECK(restarted.list().size() == 1);

  // Audit: one JSON line per mutating request, with principal, route and result.
  bool saw_issue = false, saw_revoke = false;
  for (const auto& line : s.log.snapshot()) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j.value("audit", "") != "control") continue;
    if (j["route"] == "/api/v1/tokens" && j["method"] == "POST" && j["status"] == 201) {
      saw_issue = j["principal"] == "admin-token" && j["result"] == "ok";
    }
    if (j["route"] == "/api/v1/tokens/{id}/revoke" && j["status"] == 200) saw_revoke = j["role"] == "admin";
  }
  CHECK(saw_issue);
  CHECK(saw_revoke);
  // Reads are not audited.
  for (const auto& line : s.log.snapshot()) CHECK(line.find("\"route\":\"/api/v1/engines\"") == std::string::npos);
}

TEST_CASE("auth: the JWT key file is created 0600 and refused when others may read it") {
  char tmpl[] = "/tmp/nautilus-key-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string key = load_or_create_jwt_key(dir);
  CHECK(key.size() == 32);
  struct stat st{};
  REQUIRE(::stat((dir + "/" + kJwtKeyFile).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(load_or_create_jwt_key(dir) == key);  // kept across starts
  ::chmod((dir + "/" + kJwtKeyFile).c_str(), 0640);
  CHECK_THROWS_WITH(load_or_create_jwt_key(dir), Catch::Contains("chmod 600"));
  std::string cmd = "rm -rf '" + dir + "'";
  (void)!std::system(cmd.c_str());
}
