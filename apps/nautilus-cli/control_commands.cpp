// nautilus status; nautilus engine list | status [NAME] | start | stop | restart NAME
// nautilus engine command NAME CMD [JSON]
#include <iostream>
#include <array>
#include <map>
#include <vector>

#include "commands.h"
#include "control/control_client.h"
#include "daemon_connection.h"
#include "metrics_view.h"
#include "table.h"

namespace nautilus::cli {
namespace {

std::string age_text(const nlohmann::json& e) {
  std::int64_t ms = e.value("last_message_age_ms", std::int64_t{-1});
  return ms < 0 ? "-" : format_duration_s(static_cast<double>(ms) / 1000.0);
}

void print_engines(const nlohmann::json& engines, bool color) {
  Table t({"ENGINE", "KIND", "STATE", "MESSAGES", "ERRORS", "RESTARTS", "LAST MSG", "DESCRIPTION"});
  for (const auto& e : engines) {
    t.add_row({e.value("name", ""), e.value("kind", ""), e.value("state", ""),
               format_count(e.value("messages", 0.0)), format_count(e.value("errors", 0.0)),
               std::to_string(e.value("restart_attempts", 0)), age_text(e), e.value("description", "")});
  }
  t.print(std::cout, color);
}

// `engine list` for people: the engine instances, then every kind the daemon
// can start (a kind with an instance shows as that instance's kind, one
// without as an unconfigured entry of its own: together, all registered kinds).
void print_engine_list(const nlohmann::json& engines, bool color) {
  nlohmann::json instances = nlohmann::json::array();
  std::vector<std::string> kinds;
  std::map<std::string, std::pair<std::vector<std::string>, std::string>> by_kind;  // instances, description
  for (const auto& e : engines) {
    std::string kind = e.value("kind", "");
    if (!by_kind.count(kind)) kinds.push_back(kind);
    auto& entry = by_kind[kind];
    if (e.value("configured", false)) {
      instances.push_back(e);
      entry.first.push_back(e.value("name", ""));
    }
    if (entry.second.empty()) entry.second = e.value("description", "");
  }
  print_engines(instances, color);
  std::cout << "\n";
  Table t({"KIND", "INSTANCES", "DESCRIPTION"});
  for (const auto& k : kinds) {
    std::string names;
    for (const auto& n : by_kind[k].first) names += (names.empty() ? "" : ",") + n;
    t.add_row({k, names.empty() ? "-" : names, by_kind[k].second});
  }
  t.print(std::cout, color);
}

void print_engine_detail(const nlohmann::json& e, bool color) {
  auto line = [](const std::string& k, const std::string& v) { std::cout << k << ": " << v << "\n"; };
  line("name", e.value("name", ""));
  line("kind", e.value("kind", ""));
  line("state", e.value("state", ""));
  line("description", e.value("description", ""));
  line("messages", std::to_string(e.value("messages", 0ull)));
  line("errors", std::to_string(e.value("errors", 0ull)));
  line("queue depth", std::to_string(e.value("queue_depth", 0ull)));
  line("last message", age_text(e));
  line("restart attempts", std::to_string(e.value("restart_attempts", 0)) + (e.value("parked", false) ? " (parked)" : ""));
  if (!e.value("last_error", "").empty()) line("last error", e.value("last_error", ""));
  if (e.contains("metrics") && !e["metrics"].empty()) print_metrics(std::cout, e["metrics"], color);
}

void run_engine_command(const GlobalOptions& g, const std::string& name, const std::string& command,
                        const std::string& args_text) {
  nlohmann::json args = nlohmann::json::parse(args_text, nullptr, false);
  if (args.is_discarded() || !args.is_object()) {
    throw CliError(kExitUsage, "JSON: the arguments must be a JSON object, got '" + args_text + "'");
  }
  nlohmann::json answer;
  with_daemon([&] {
    answer = connect_daemon(g)
                 .post("/api/v1/engines/" + control::url_encode(name) + "/command/" + control::url_encode(command), args)
                 .body;
  });
  std::cout << (g.json ? answer.dump() : answer.dump(2)) << "\n";
}

}  // namespace

void add_control_commands(CLI::App& app, GlobalOptions& g) {
  auto* status = app.add_subcommand("status", "Show the daemon, its engines and its buses");
  status->callback([&g] {
    with_daemon([&] {
      auto r = connect_daemon(g).get("/api/v1/status");
      if (g.json) {
        std::cout << r.body.dump() << "\n";
        return;
      }
      const auto& d = r.body["daemon"];
      std::cout << "nautilusd " << d.value("version", "?") << "  pid " << d.value("pid", 0) << "  up "
                << format_duration_s(d.value("uptime_s", 0.0)) << "  config " << d.value("config", "")
                << (d.value("ready", true) ? "" : "  (starting engines)") << "\n";
      for (const auto& l : d["listeners"]) std::cout << "listening on " << l.get<std::string>() << "\n";
      std::cout << "\n";
      print_engines(r.body["engines"], g.color());
      std::cout << "\n";
      Table t({"BUS", "BACKEND", "STATE", "PUBLISHED", "DELIVERED", "DROPPED", "REJECTED"});
      for (const auto& b : r.body["buses"]) {
        t.add_row({b.value("name", ""), b.value("backend", ""), b.value("state", ""),
                   format_count(b.value("published", 0.0)), format_count(b.value("delivered", 0.0)),
                   format_count(b.value("dropped", 0.0)), format_count(b.value("rejected", 0.0))});
      }
      t.print(std::cout, g.color());
    });
  });

  auto* engine = app.add_subcommand("engine", "List, inspect, start, stop and restart engines");
  engine->require_subcommand(1);

  auto* list = engine->add_subcommand("list", "All engines: configured instances and available kinds");
  list->callback([&g] {
    with_daemon([&] {
      auto r = connect_daemon(g).get("/api/v1/engines");
      if (g.json) std::cout << r.body["engines"].dump() << "\n";
      else print_engine_list(r.body["engines"], g.color());
    });
  });

  auto name = std::make_shared<std::string>();
  auto* st = engine->add_subcommand("status", "Health of one engine (or all): state, messages, errors, metrics");
  st->add_option("NAME", *name, "Engine name (exit 1 when it is in ERROR)");
  st->callback([&g, name] {
    with_daemon([&] {
      auto client = connect_daemon(g);
      if (name->empty()) {
        auto r = client.get("/api/v1/engines");
        if (g.json) std::cout << r.body["engines"].dump() << "\n";
        else print_engines(r.body["engines"], g.color());
        return;
      }
      auto r = client.get("/api/v1/engines/" + control::url_encode(*name));
      if (g.json) std::cout << r.body.dump() << "\n";
      else print_engine_detail(r.body, g.color());
      // Like `systemctl is-active`: a cron job can alert on the exit code.
      if (r.body.value("state", "") == "ERROR") {
        std::string why = r.body.value("last_error", "");
        throw CliError(kExitFailure, "engine '" + *name + "' is in ERROR" + (why.empty() ? "" : ": " + why));
      }
    });
  });

  for (const char* verb : {"start", "stop", "restart"}) {
    auto target = std::make_shared<std::string>();
    std::string help = std::string(verb) == "start"  ? "Start an engine (an instance or a registered kind)"
                       : std::string(verb) == "stop" ? "Stop an engine"
                                                     : "Stop and start an engine (resets its restart budget)";
    auto* cmd = engine->add_subcommand(verb, help);
    cmd->add_option("NAME", *target, "Engine name")->required();
    std::string v = verb;
    cmd->callback([&g, target, v] {
      with_daemon([&] {
        auto client = connect_daemon(g);
        nlohmann::json body;
        std::string remark;
        try {
          body = client.post("/api/v1/engines/" + control::url_encode(*target) + "/" + v).body;
        } catch (const control::ControlError& e) {
          // Starting a running engine is not a failure (as stopping a stopped
          // one is not): the engine is where it was asked to be.
          if (v != "start" || e.http_status() != 409) throw;
          body = client.get("/api/v1/engines/" + control::url_encode(*target)).body;
          std::string state = body.value("state", "");
          if (state != "RUNNING" && state != "DEGRADED") throw;
          remark = " (already running)";
        }
        if (g.json) std::cout << body.dump() << "\n";
        else std::cout << body.value("name", *target) << " " << body.value("state", "") << remark << "\n";
      });
    });
  }

  auto cmd_args = std::make_shared<std::array<std::string, 3>>();
  (*cmd_args)[2] = "{}";
  auto* command = engine->add_subcommand("command", "Send an engine a command (as its control API does) and print the answer");
  command->add_option("NAME", (*cmd_args)[0], "Engine name (or kind)")->required();
  command->add_option("CMD", (*cmd_args)[1], "Command, e.g. state, halt, resume")->required();
  command->add_option("JSON", (*cmd_args)[2], "Arguments: a JSON object")->capture_default_str();
  command->callback([&g, cmd_args] { run_engine_command(g, (*cmd_args)[0], (*cmd_args)[1], (*cmd_args)[2]); });
}

}  // namespace nautilus::cli
