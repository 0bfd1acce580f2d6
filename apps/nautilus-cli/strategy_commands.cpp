// nautilus strategy list | stop NAME [--reason R] | resume NAME   [--engine E]
// The strategy engine's instances through the daemon: the engine's commands
// "list", "stop" and "resume" (POST /api/v1/engines/<engine>/command/<cmd>).
// `stop` cancels the instance's open orders and holds it until `resume`;
// `resume` lifts an operator stop or a halt waiting for the operator (resume =
// "manual"), but not a halt risk still holds. An unknown instance exits 4.
#include <iostream>

#include "commands.h"
#include "control/control_client.h"
#include "daemon_connection.h"
#include "metrics_view.h"
#include "table.h"

namespace nautilus::cli {
namespace {

struct StrategyArgs {
  std::string engine = "strategy";
  std::string name;
  std::string reason;
};

nlohmann::json call(const GlobalOptions& g, const StrategyArgs& a, const std::string& command, const nlohmann::json& args) {
  nlohmann::json answer;
  with_daemon([&] {
    answer = connect_daemon(g).post("/api/v1/engines/" + control::url_encode(a.engine) + "/command/" + command, args).body;
  });
  if (!answer.is_object()) throw CliError(kExitFailure, "unexpected answer from the daemon");
  return answer;
}

std::string positions_text(const nlohmann::json& positions) {
  std::string out;
  for (const auto& [sym, q] : positions.items()) out += (out.empty() ? "" : " ") + sym + "=" + metric_cell(q);
  return out.empty() ? "-" : out;
}

void run_list(const GlobalOptions& g, const StrategyArgs& a) {
  const nlohmann::json answer = call(g, a, "list", nlohmann::json::object());
  if (g.json) {
    std::cout << answer.dump() << "\n";
    return;
  }
  const auto instances = answer.value("instances", nlohmann::json::array());
  if (instances.empty()) {
    std::cout << "no strategy instances configured ([[engines.strategy.instances]] in nautilusd.conf(5))\n";
    return;
  }
  Table t({"NAME", "KIND", "STATE", "SYMBOLS", "INTERVAL", "RESUME", "OPEN", "POSITIONS", "REASON"});
  for (const auto& i : instances) {
    std::string symbols;
    for (const auto& s : i.value("symbols", nlohmann::json::array())) symbols += (symbols.empty() ? "" : ",") + s.get<std::string>();
    std::string state = i.value("state", "?");
    if (i.value("waiting_for_operator", false)) state += " (waiting)";
    t.add_row({i.value("name", ""), i.value("kind", ""), state, symbols, i.value("interval", ""), i.value("resume", ""),
               metric_cell(i.value("open_orders", nlohmann::json())), positions_text(i.value("positions", nlohmann::json::object())),
               i.value("reason", "")});
  }
  t.print(std::cout, g.color());
}

void run_stop_or_resume(const GlobalOptions& g, const StrategyArgs& a, const std::string& command) {
  nlohmann::json args = {{"name", a.name}};
  if (command == "stop" && !a.reason.empty()) args["reason"] = a.reason;
  const nlohmann::json answer = call(g, a, command, args);
  if (g.json) {
    std::cout << answer.dump() << "\n";
    return;
  }
  const std::string reason = answer.value("reason", "");
  std::cout << answer.value("name", a.name) << ": " << answer.value("state", "?") << (reason.empty() ? "" : "  (" + reason + ")")
            << "\n";
  // A resume that leaves the instance halted did not do what was asked.
  if (command == "resume" && answer.value("state", "") == "HALTED") {
    throw CliError(kExitFailure, "'" + a.name + "' is still HALTED: " + reason);
  }
}

}  // namespace

void add_strategy_commands(CLI::App& app, GlobalOptions& global) {
  auto* strategy = app.add_subcommand("strategy", "Strategy instances: list, stop and resume");
  strategy->require_subcommand(1);

  auto list_args = std::make_shared<StrategyArgs>();
  auto* list = strategy->add_subcommand("list", "Instances, their state (ACTIVE, REDUCING, HALTED, STOPPED), positions and why");
  list->add_option("--engine", list_args->engine, "Strategy engine instance")->capture_default_str();
  list->callback([&global, list_args] { run_list(global, *list_args); });

  auto stop_args = std::make_shared<StrategyArgs>();
  auto* stop = strategy->add_subcommand("stop", "Stop an instance: no new orders, its open orders cancelled, until resume");
  stop->add_option("NAME", stop_args->name, "Instance name (from strategy list)")->required();
  stop->add_option("--reason", stop_args->reason, "Why (logged by the daemon, shown by strategy list)");
  stop->add_option("--engine", stop_args->engine, "Strategy engine instance")->capture_default_str();
  stop->callback([&global, stop_args] { run_stop_or_resume(global, *stop_args, "stop"); });

  auto resume_args = std::make_shared<StrategyArgs>();
  auto* resume = strategy->add_subcommand(
      "resume", "Resume an instance after a stop, or after a halt with resume = \"manual\" (exit 1 if risk still halts it)");
  resume->add_option("NAME", resume_args->name, "Instance name (from strategy list)")->required();
  resume->add_option("--engine", resume_args->engine, "Strategy engine instance")->capture_default_str();
  resume->callback([&global, resume_args] { run_stop_or_resume(global, *resume_args, "resume"); });
}

}  // namespace nautilus::cli
