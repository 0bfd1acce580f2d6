// nautilus collateral show [--engine NAME]
// The collateral engine's margin account through the daemon's control API (the
// engine's command, POST /api/v1/engines/<engine>/command/show): equity, loan,
// requirements, excess liquidity, utilisation and each position's call price.
// --json prints the engine's answer as it is. Exits 1 while the account is in
// a margin call, so a script can ask: nautilus collateral show -q || page_ops
#include <iostream>

#include "commands.h"
#include "control/control_client.h"
#include "daemon_connection.h"
#include "table.h"

namespace nautilus::cli {
namespace {

std::string fixed(const nlohmann::json& j, const char* key, int digits) {
  if (!j.contains(key) || !j[key].is_number()) return "-";
  return format_fixed(j[key].get<double>(), digits);
}

void run_show(const GlobalOptions& g, const std::string& engine) {
  nlohmann::json a;
  with_daemon([&] {
    a = connect_daemon(g).post("/api/v1/engines/" + control::url_encode(engine) + "/command/show", nlohmann::json::object()).body;
  });
  if (!a.is_object() || !a.contains("equity")) throw CliError(kExitFailure, "unexpected answer from the daemon");
  const bool in_call = a.value("margin_call", false);
  if (g.json) {
    std::cout << a.dump() << "\n";
  } else {
    std::cout << "account " << a.value("account", "?") << (in_call ? "  MARGIN CALL " + fixed(a, "call_amount", 2) : "")
              << "\n"
              << "equity " << fixed(a, "equity", 2) << "  cash " << fixed(a, "cash", 2) << "  loan " << fixed(a, "loan", 2)
              << "  long " << fixed(a, "long_value", 2) << "  short " << fixed(a, "short_value", 2) << "\n"
              << "initial " << fixed(a, "initial_requirement", 2) << "  maintenance "
              << fixed(a, "maintenance_requirement", 2) << "  excess liquidity " << fixed(a, "excess_liquidity", 2)
              << "  available " << fixed(a, "available_funds", 2) << "  utilisation "
              << (a.value("utilization_capped", false) ? std::string("capped (equity <= 0)")
                                                       : format_fixed(a.value("utilization", 0.0) * 100.0, 1) + "%")
              << "\n";
    Table t({"SYMBOL", "QTY", "PRICE", "VALUE", "INITIAL", "MAINTENANCE", "CALL PRICE"});
    for (const auto& p : a.value("positions", nlohmann::json::array())) {
      const std::string call = p["call_price"].is_number() ? fixed(p, "call_price", 4) : p.value("call_note", "-");
      t.add_row({p.value("symbol", ""), fixed(p, "quantity", 4), fixed(p, "price", 4), fixed(p, "market_value", 2),
                 fixed(p, "initial", 2), fixed(p, "maintenance", 2), call});
    }
    t.print(std::cout, g.color());
  }
  if (in_call) throw CliError(kExitFailure, "account in a margin call");
}

}  // namespace

void add_collateral_commands(CLI::App& app, GlobalOptions& global) {
  auto* collateral = app.add_subcommand("collateral", "Margin account: requirements, utilisation, call prices");
  collateral->require_subcommand(1);
  auto engine = std::make_shared<std::string>("collateral");
  auto* show = collateral->add_subcommand("show", "Equity, loan, requirements, excess liquidity and call prices (exit 1 in a margin call)");
  show->add_option("--engine", *engine, "Collateral engine instance")->capture_default_str();
  show->callback([&global, engine] { run_show(global, *engine); });
}

}  // namespace nautilus::cli
