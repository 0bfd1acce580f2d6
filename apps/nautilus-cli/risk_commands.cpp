// nautilus risk check --symbol S --side buy|sell --quantity Q [--price P]
// nautilus risk state
// nautilus risk halt [--reason R] | resume [--engine NAME]
// The risk engine's pre-trade check and state through the daemon's control API
// (POST /api/v1/risk/check, GET /api/v1/risk/state; halt and resume are the
// engine's commands, POST /api/v1/engines/risk/command/halt|resume). `risk check` exits 0 when
// the order is approved and 1 when it is denied, so a script can ask:
//   nautilus risk check --symbol AAPL --side buy --quantity 100 -q && place_order
#include <iostream>

#include "commands.h"
#include "control/control_client.h"
#include "daemon_connection.h"
#include "option_checks.h"
#include "table.h"

namespace nautilus::cli {
namespace {

struct CheckArgs {
  std::string symbol;
  std::string side;
  double quantity = 0;
  double price = 0;  // 0: the engine uses the last market price
  std::string id;
};

std::string fixed(const nlohmann::json& j, const char* key, int digits) {
  if (!j.contains(key) || !j[key].is_number()) return "-";
  return format_fixed(j[key].get<double>(), digits);
}

void run_check(const GlobalOptions& g, const CheckArgs& a) {
  nlohmann::json order = {{"symbol", a.symbol}, {"side", a.side}, {"quantity", a.quantity}};
  if (a.price > 0) order["price"] = a.price;
  if (!a.id.empty()) order["id"] = a.id;
  nlohmann::json d;
  with_daemon([&] { d = connect_daemon(g).post("/api/v1/risk/check", order).body; });
  if (!d.is_object() || !d.contains("approved")) throw CliError(kExitFailure, "unexpected answer from the daemon");
  const bool approved = d["approved"].get<bool>();
  if (g.json) {
    std::cout << d.dump() << "\n";
  } else {
    std::cout << (approved ? "APPROVED" : "DENIED") << "  " << d.value("side", "") << " " << fixed(d, "quantity", 0)
              << " " << d.value("symbol", "") << " @ " << fixed(d, "price", 2) << "  notional " << fixed(d, "notional", 2)
              << "  state " << d.value("state", "") << (d.value("reduces_exposure", false) ? "  (reduces exposure)" : "")
              << "\n";
    for (const auto& r : d.value("reasons", nlohmann::json::array())) std::cout << "  - " << r.get<std::string>() << "\n";
  }
  if (!approved) throw CliError(kExitFailure, "order denied by the risk engine");  // exit 1
}

void run_state(const GlobalOptions& g) {
  nlohmann::json s;
  with_daemon([&] { s = connect_daemon(g).get("/api/v1/risk/state").body; });
  if (g.json) {
    std::cout << s.dump() << "\n";
    return;
  }
  std::cout << "state " << s.value("state", "?") << "  (" << s.value("state_reason", "") << ")\n"
            << "equity " << fixed(s, "equity", 2) << "  gross " << fixed(s, "gross_exposure", 2) << "  net "
            << fixed(s, "net_exposure", 2) << "  portfolio scale " << fixed(s, "portfolio_scale", 3) << "\n";
  Table t({"LIMIT", "SYMBOL", "LEVEL", "VALUE", "LIMIT", "USAGE", "SCALE"});
  for (const auto& l : s.value("limits", nlohmann::json::array())) {
    t.add_row({l.value("kind", ""), l["symbol"].is_string() ? l["symbol"].get<std::string>() : "-", l.value("level", ""),
               fixed(l, "value", 4), fixed(l, "limit", 4), fixed(l, "usage", 3), fixed(l, "scale", 3)});
  }
  t.print(std::cout, g.color());
}

struct HaltArgs {
  std::string engine = "risk";
  std::string reason = "operator";
};

// Halts or resumes trading; prints the state the engine is in afterwards.
void run_halt_or_resume(const GlobalOptions& g, const HaltArgs& a, const std::string& command) {
  nlohmann::json args = nlohmann::json::object();
  if (command == "halt") args["reason"] = a.reason;
  nlohmann::json answer;
  with_daemon([&] {
    answer = connect_daemon(g).post("/api/v1/engines/" + control::url_encode(a.engine) + "/command/" + command, args).body;
  });
  if (g.json) {
    std::cout << answer.dump() << "\n";
    return;
  }
  std::string reason = answer.value("reason", "");
  std::cout << "state " << answer.value("state", "?") << (reason.empty() ? "" : "  (" + reason + ")") << "\n";
}

}  // namespace

void add_risk_commands(CLI::App& app, GlobalOptions& global) {
  auto* risk = app.add_subcommand("risk", "Pre-trade checks, the risk engine's state, halt and resume");
  risk->require_subcommand(1);

  auto args = std::make_shared<CheckArgs>();
  auto* check = risk->add_subcommand("check", "Ask the risk engine whether an order would be approved (exit 0) or denied (exit 1)");
  check->add_option("--symbol", args->symbol, "Symbol")->required();
  check->add_option("--side", args->side, "buy or sell")->required()->check(CLI::IsMember({"buy", "sell"}));
  check->add_option("--quantity", args->quantity, "Quantity (> 0)")->required()->check(positive_number());
  check->add_option("--price", args->price, "Limit price (default: the last market price)")->check(positive_number());
  check->add_option("--id", args->id, "Order id to echo in the decision");
  check->callback([&global, args] { run_check(global, *args); });

  auto* state = risk->add_subcommand("state", "Trading state, limits, usage and volatility scale");
  state->callback([&global] { run_state(global); });

  auto halt_args = std::make_shared<HaltArgs>();
  auto* halt = risk->add_subcommand("halt", "Halt trading: every order is denied until resume");
  halt->add_option("--reason", halt_args->reason, "Why (logged by the daemon and shown by risk state)")
      ->capture_default_str();
  halt->add_option("--engine", halt_args->engine, "Risk engine instance")->capture_default_str();
  halt->callback([&global, halt_args] { run_halt_or_resume(global, *halt_args, "halt"); });

  auto resume_args = std::make_shared<HaltArgs>();
  auto* resume = risk->add_subcommand("resume", "Resume trading after a halt (the limits decide the state again)");
  resume->add_option("--engine", resume_args->engine, "Risk engine instance")->capture_default_str();
  resume->callback([&global, resume_args] { run_halt_or_resume(global, *resume_args, "resume"); });
}

}  // namespace nautilus::cli
