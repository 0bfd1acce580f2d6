// nautilus portfolio show | positions | pnl
// nautilus portfolio optimize --method M [--symbols A,B,...] [--rf R] [--target-volatility S]
//                             [--lookback N] [--bounds LO,HI]
// nautilus portfolio rebalance --weight SYMBOL=W [--weight ...]
// The portfolio engine's book, optimiser and rebalancing through the daemon's
// control API: each is the engine's command, POST
// /api/v1/engines/<engine>/command/<show|positions|pnl|optimize|rebalance>.
// --json prints the engine's answer as it is.
#include <iostream>
#include <map>

#include "commands.h"
#include "control/control_client.h"
#include "daemon_connection.h"
#include "option_checks.h"
#include "table.h"

namespace nautilus::cli {
namespace {

std::string fixed(const nlohmann::json& j, const char* key, int digits) {
  if (!j.contains(key) || !j[key].is_number()) return "-";
  return format_fixed(j[key].get<double>(), digits);
}

nlohmann::json call(const GlobalOptions& g, const std::string& engine, const std::string& command,
                    const nlohmann::json& args = nlohmann::json::object()) {
  nlohmann::json answer;
  with_daemon([&] {
    answer = connect_daemon(g).post("/api/v1/engines/" + control::url_encode(engine) + "/command/" + command, args).body;
  });
  if (!answer.is_object()) throw CliError(kExitFailure, "unexpected answer from the daemon");
  return answer;
}

void print_summary(const nlohmann::json& s) {
  std::cout << "equity " << fixed(s, "equity", 2) << "  cash " << fixed(s, "cash", 2) << "  realized "
            << fixed(s, "realized_pnl", 2) << "  unrealized " << fixed(s, "unrealized_pnl", 2) << "  commission "
            << fixed(s, "commission", 2) << "\n"
            << "gross " << fixed(s, "gross_exposure", 2) << "  net " << fixed(s, "net_exposure", 2) << "  open positions "
            << s.value("open_positions", 0) << "  fills " << s.value("fills", 0) << "\n";
}

void print_positions(const GlobalOptions& g, const nlohmann::json& positions) {
  Table t({"SYMBOL", "QTY", "AVG", "MARK", "VALUE", "UNREALIZED", "REALIZED", "COMMISSION", "FILLS"});
  for (const auto& p : positions) {
    t.add_row({p.value("symbol", ""), fixed(p, "quantity", 4), fixed(p, "avg_price", 4), fixed(p, "mark", 4),
               fixed(p, "market_value", 2), fixed(p, "unrealized_pnl", 2), fixed(p, "realized_pnl", 2),
               fixed(p, "commission", 2), std::to_string(p.value("fills", 0))});
  }
  t.print(std::cout, g.color());
}

struct Target {
  std::string engine = "portfolio";
};

void run_show(const GlobalOptions& g, const Target& a, const std::string& what) {
  nlohmann::json answer = call(g, a.engine, what);
  if (g.json) {
    std::cout << answer.dump() << "\n";
    return;
  }
  if (what == "show") {
    print_summary(answer);
    print_positions(g, answer.value("positions", nlohmann::json::array()));
    const auto pending = answer.value("pending_orders", nlohmann::json::array());
    if (!pending.empty()) std::cout << pending.size() << " approved order(s) waiting for a price\n";
  } else if (what == "positions") {
    print_positions(g, answer.value("positions", nlohmann::json::array()));
  } else {
    std::cout << "total " << fixed(answer, "total_pnl", 2) << "  realized " << fixed(answer, "realized_pnl", 2)
              << "  unrealized " << fixed(answer, "unrealized_pnl", 2) << "  commission "
              << fixed(answer, "commission", 2) << "  equity " << fixed(answer, "equity", 2) << "  return "
              << fixed(answer, "return_pct", 3) << "%\n";
    Table t({"SYMBOL", "TOTAL", "REALIZED", "UNREALIZED", "COMMISSION"});
    const nlohmann::json symbols = answer.value("symbols", nlohmann::json::object());  // .items() must not outlive it
    for (const auto& [sym, p] : symbols.items()) {
      t.add_row({sym, fixed(p, "total_pnl", 2), fixed(p, "realized_pnl", 2), fixed(p, "unrealized_pnl", 2),
                 fixed(p, "commission", 2)});
    }
    t.print(std::cout, g.color());
  }
}

struct OptimizeArgs : Target {
  std::string method;
  std::vector<std::string> symbols;
  double rf = 0.0;
  double target_volatility = 0.0;
  int lookback = 0;
  std::vector<double> bounds;
};

void run_optimize(const GlobalOptions& g, const OptimizeArgs& a) {
  nlohmann::json args = {{"method", a.method}, {"rf", a.rf}};
  if (!a.symbols.empty()) args["symbols"] = a.symbols;
  if (a.target_volatility > 0) args["target_volatility"] = a.target_volatility;
  if (a.lookback > 0) args["lookback"] = a.lookback;
  if (!a.bounds.empty()) args["bounds"] = a.bounds;
  nlohmann::json r = call(g, a.engine, "optimize", args);
  if (g.json) {
    std::cout << r.dump() << "\n";
    return;
  }
  std::cout << r.value("method", a.method) << ": expected return " << fixed(r, "expected_return", 4)
            << "  volatility " << fixed(r, "volatility", 4) << "  sharpe " << fixed(r, "sharpe", 3) << "  ("
            << r.value("observations", 0) << " prices, " << r.value("periods_per_year", 252) << " per year"
            << (r.value("regularized", false) ? ", covariance regularised" : "") << ")\n";
  Table t({"SYMBOL", "WEIGHT", "EXP. RETURN", "RISK CONTRIB."});
  const auto weights = r.value("weights", nlohmann::json::object());
  const auto mu = r.value("expected_returns", nlohmann::json::object());
  const auto rc = r.value("risk_contributions", nlohmann::json::object());
  for (const auto& [sym, w] : weights.items()) {
    t.add_row({sym, format_fixed(w.get<double>(), 4), mu.contains(sym) ? format_fixed(mu[sym].get<double>(), 4) : "-",
               rc.contains(sym) ? format_fixed(rc[sym].get<double>(), 4) : "-"});
  }
  t.print(std::cout, g.color());
}

struct RebalanceArgs : Target {
  std::vector<std::string> weights;  // SYMBOL=W
};

void run_rebalance(const GlobalOptions& g, const RebalanceArgs& a) {
  nlohmann::json w = nlohmann::json::object();
  for (const auto& item : a.weights) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) throw CliError(kExitUsage, "--weight: SYMBOL=WEIGHT (got '" + item + "')");
    try {
      std::size_t used = 0;
      const double v = std::stod(item.substr(eq + 1), &used);
      if (used != item.size() - eq - 1) throw std::invalid_argument("trailing");
      w[item.substr(0, eq)] = v;
    } catch (const std::exception&) {
      throw CliError(kExitUsage, "--weight: '" + item.substr(eq + 1) + "' is not a number");
    }
  }
  nlohmann::json r = call(g, a.engine, "rebalance", {{"weights", w}});
  if (g.json) {
    std::cout << r.dump() << "\n";
    return;
  }
  const auto orders = r.value("orders", nlohmann::json::array());
  std::cout << orders.size() << " order(s) sent to risk, equity " << fixed(r, "equity", 2) << "\n";
  Table t({"SYMBOL", "SIDE", "QTY", "REF. PRICE", "TARGET WEIGHT", "ID"});
  for (const auto& o : orders) {
    t.add_row({o.value("symbol", ""), o.value("side", ""), fixed(o, "quantity", 4), fixed(o, "price", 4),
               fixed(o, "target_weight", 4), o.value("id", "")});
  }
  t.print(std::cout, g.color());
}

}  // namespace

void add_portfolio_commands(CLI::App& app, GlobalOptions& global) {
  auto* pf = app.add_subcommand("portfolio", "Paper positions and P&L, optimisation and rebalancing");
  pf->require_subcommand(1);

  for (const char* what : {"show", "positions", "pnl"}) {
    const std::string name = what;
    const char* help = name == "show"       ? "Cash, equity, exposure and every position"
                       : name == "positions" ? "Positions: quantity, average cost, mark, P&L"
                                             : "Realized and unrealized P&L, in total and by symbol";
    auto args = std::make_shared<Target>();
    auto* sub = pf->add_subcommand(name, help);
    sub->add_option("--engine", args->engine, "Portfolio engine instance")->capture_default_str();
    sub->callback([&global, args, name] { run_show(global, *args, name); });
  }

  auto opt = std::make_shared<OptimizeArgs>();
  auto* optimize = pf->add_subcommand("optimize", "Long-only weights from the sampled prices (PyPortfolioOpt estimators)");
  optimize->add_option("--method", opt->method, "min_variance, max_sharpe, efficient_risk or risk_parity")
      ->required()
      ->check(CLI::IsMember({"min_variance", "max_sharpe", "efficient_risk", "risk_parity"}));
  optimize->add_option("--symbols", opt->symbols, "Symbols (default: every symbol with prices)")->delimiter(',');
  optimize->add_option("--rf", opt->rf, "Risk-free rate, annual (max_sharpe)")->check(number_in(-1, 10));
  optimize->add_option("--target-volatility", opt->target_volatility, "Annual volatility target (efficient_risk)")
      ->check(positive_number());
  optimize->add_option("--lookback", opt->lookback, "Use the last N prices (default: all)")->check(whole_number_in(3, 1e7));
  optimize->add_option("--bounds", opt->bounds, "LO,HI weight bounds for every symbol (default 0,1)")
      ->delimiter(',')
      ->expected(2);
  optimize->add_option("--engine", opt->engine, "Portfolio engine instance")->capture_default_str();
  optimize->callback([&global, opt] { run_optimize(global, *opt); });

  auto rb = std::make_shared<RebalanceArgs>();
  auto* rebalance = pf->add_subcommand("rebalance", "Send the orders (through risk) that move the book to target weights");
  rebalance->add_option("--weight", rb->weights, "SYMBOL=WEIGHT (repeatable; held symbols left out go to 0)")->required();
  rebalance->add_option("--engine", rb->engine, "Portfolio engine instance")->capture_default_str();
  rebalance->callback([&global, rb] { run_rebalance(global, *rb); });
}

}  // namespace nautilus::cli
