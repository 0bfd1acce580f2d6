// nautilus token create --role R [--name N] [--ttl 1h] [--publish P]... [--subscribe P]...
//                       [--deny-publish P]... [--deny-subscribe P]...
// nautilus token list | revoke ID
// Signed control tokens (nautilus(1), "TOKENS"). The daemon issues them: it is
// the only holder of the signing key (0600 in its state directory), so
// creating one needs the admin token (the state directory's token file, which
// the CLI reads on the daemon's host) or an admin JWT, and works over a
// remote listener too. The token is printed once and not kept by the daemon.
#include <iostream>

#include "commands.h"
#include "control/control_client.h"
#include "daemon_connection.h"
#include "table.h"

namespace nautilus::cli {
namespace {

struct CreateArgs {
  std::string role;
  std::string name;
  std::string ttl = "24h";
  std::vector<std::string> publish, subscribe, deny_publish, deny_subscribe;
};

nlohmann::json rules(const std::vector<std::string>& allow, const std::vector<std::string>& deny) {
  return {{"allow", allow}, {"deny", deny}};
}

std::string time_text(std::int64_t unix_s) {
  if (unix_s <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string patterns_text(const nlohmann::json& r) {
  std::string out;
  for (const auto& p : r.value("allow", nlohmann::json::array())) out += (out.empty() ? "" : ",") + p.get<std::string>();
  for (const auto& p : r.value("deny", nlohmann::json::array())) out += (out.empty() ? "!" : ",!") + p.get<std::string>();
  return out.empty() ? "*" : out;
}

void run_create(const GlobalOptions& g, const CreateArgs& a) {
  nlohmann::json body = {{"role", a.role}, {"ttl", a.ttl}, {"publish", rules(a.publish, a.deny_publish)},
                         {"subscribe", rules(a.subscribe, a.deny_subscribe)}};
  if (!a.name.empty()) body["name"] = a.name;
  nlohmann::json answer;
  with_daemon([&] { answer = connect_daemon(g).post("/api/v1/tokens", body).body; });
  if (g.json) {
    std::cout << answer.dump() << "\n";
    return;
  }
  // The token alone on stdout, so `TOKEN=$(nautilus token create ...)` works;
  // what it is goes to stderr.
  std::cout << answer.value("token", "") << "\n";
  if (!g.quiet) {
    std::cerr << "token " << answer.value("id", "") << " (" << answer.value("name", "") << ", "
              << answer.value("role", "") << ") expires " << time_text(answer.value("expires", std::int64_t{0}))
              << "\n";
  }
}

void run_list(const GlobalOptions& g) {
  nlohmann::json answer;
  with_daemon([&] { answer = connect_daemon(g).get("/api/v1/tokens").body; });
  if (g.json) {
    std::cout << answer.dump() << "\n";
    return;
  }
  Table t({"ID", "NAME", "ROLE", "ISSUED", "EXPIRES", "PUBLISH", "SUBSCRIBE", "REVOKED"});
  for (const auto& tok : answer.value("tokens", nlohmann::json::array())) {
    t.add_row({tok.value("id", ""), tok.value("name", ""), tok.value("role", ""),
               time_text(tok.value("issued", std::int64_t{0})), time_text(tok.value("expires", std::int64_t{0})),
               patterns_text(tok.value("publish", nlohmann::json::object())),
               patterns_text(tok.value("subscribe", nlohmann::json::object())),
               tok.value("revoked", false) ? "yes" : "no"});
  }
  t.print(std::cout, g.color());
}

void run_revoke(const GlobalOptions& g, const std::string& id) {
  nlohmann::json answer;
  with_daemon([&] { answer = connect_daemon(g).post("/api/v1/tokens/" + control::url_encode(id) + "/revoke").body; });
  if (g.json) {
    std::cout << answer.dump() << "\n";
    return;
  }
  std::cout << "revoked " << id << "\n";
}

}  // namespace

void add_token_commands(CLI::App& app, GlobalOptions& global) {
  auto* token = app.add_subcommand("token", "Signed control tokens: create, list and revoke (admin)");
  token->require_subcommand(1);

  auto create_args = std::make_shared<CreateArgs>();
  auto* create = token->add_subcommand("create", "Issue a token for a role (printed once, on stdout)");
  create->add_option("--role", create_args->role, "viewer (read, subscribe), operator (+ publish, engines), admin")
      ->required()
      ->check(CLI::IsMember({"viewer", "operator", "admin"}));
  create->add_option("--name", create_args->name, "Who it is for (shown by token list, in the audit log)");
  create->add_option("--ttl", create_args->ttl, "Lifetime: 90s, 15m, 12h, 7d")->capture_default_str();
  create->add_option("--publish", create_args->publish, "Topic pattern it may publish to (repeatable; default: all)");
  create->add_option("--subscribe", create_args->subscribe, "Topic pattern it may subscribe to (repeatable; default: all)");
  create->add_option("--deny-publish", create_args->deny_publish, "Topic pattern it may never publish to (wins)");
  create->add_option("--deny-subscribe", create_args->deny_subscribe, "Topic pattern it may never receive (wins)");
  create->callback([&global, create_args] { run_create(global, *create_args); });

  auto* list = token->add_subcommand("list", "Tokens this daemon issued (never the tokens themselves)");
  list->callback([&global] { run_list(global); });

  auto revoke_id = std::make_shared<std::string>();
  auto* revoke = token->add_subcommand("revoke", "Revoke a token by id: refused from the next request on");
  revoke->add_option("ID", *revoke_id, "Token id (from token list)")->required();
  revoke->callback([&global, revoke_id] { run_revoke(global, *revoke_id); });
}

}  // namespace nautilus::cli
