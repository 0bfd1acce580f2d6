// nautilus analytics report [--period interval|daily] [--engine NAME] [--json]
// The analytics engine's figures (portfolio and each strategy) and its
// Brinson–Fachler attribution, through the daemon's control API: the engine's
// command, POST /api/v1/engines/<engine>/command/report. --json prints the
// engine's answer as it is; the table shows undefined figures as "-" and lists
// why below it.
#include <iostream>
#include <memory>

#include "commands.h"
#include "control/control_client.h"
#include "daemon_connection.h"
#include "table.h"

namespace nautilus::cli {
namespace {

struct ReportArgs {
  std::string engine = "analytics";
  std::string period = "interval";
};

std::string figure(const nlohmann::json& j, const char* key, int digits) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return "-";
  return format_fixed(j[key].get<double>(), digits);
}

std::string percent(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return "-";
  return format_fixed(100.0 * j[key].get<double>(), 3) + "%";
}

void add_subject_row(Table& t, const std::string& name, const nlohmann::json& s, const std::string& period) {
  const nlohmann::json series = s.value(period, nlohmann::json::object());
  const nlohmann::json trades = s.value("trades", nlohmann::json::object());
  t.add_row({name, figure(s, "equity", 2), std::to_string(series.value("returns", 0)), percent(series, "cumulative_return"),
             percent(series, "annual_return"), percent(series, "annual_volatility"), figure(series, "sharpe", 3),
             figure(series, "sortino", 3), percent(series, "max_drawdown"), figure(series, "calmar", 3),
             percent(series, "var_historical"), percent(series, "var_parametric"), percent(series, "cvar"),
             percent(trades, "win_rate"), figure(trades, "profit_factor", 3), figure(trades, "turnover", 3)});
}

void print_attribution(const GlobalOptions& g, const char* title, const nlohmann::json& a) {
  if (!a.is_object() || a.value("periods", 0) == 0) {
    std::cout << title << ": no periods yet\n";
    return;
  }
  std::cout << title << " over " << a.value("periods", 0) << " periods: portfolio " << percent(a, "portfolio_return")
            << "  benchmark " << percent(a, "benchmark_return") << "  excess " << percent(a, "excess_return")
            << "  unattributed " << percent(a, "unattributed_return") << "\n";
  Table t({"SEGMENT", "ALLOCATION", "SELECTION", "INTERACTION", "TOTAL"});
  const nlohmann::json segments = a.value("segments", nlohmann::json::object());  // .items() must not outlive it
  for (const auto& [name, e] : segments.items()) {
    t.add_row({name, percent(e, "allocation"), percent(e, "selection"), percent(e, "interaction"), percent(e, "total")});
  }
  const nlohmann::json totals = a.value("totals", nlohmann::json::object());
  t.add_row({"(total)", percent(totals, "allocation"), percent(totals, "selection"), percent(totals, "interaction"),
             percent(totals, "total")});
  t.print(std::cout, g.color());
}

void run_report(const GlobalOptions& g, const ReportArgs& a) {
  nlohmann::json r;
  with_daemon([&] {
    r = connect_daemon(g)
            .post("/api/v1/engines/" + control::url_encode(a.engine) + "/command/report", nlohmann::json::object())
            .body;
  });
  if (!r.is_object()) throw CliError(kExitFailure, "unexpected answer from the daemon");
  if (g.json) {
    std::cout << r.dump() << "\n";
    return;
  }
  Table t({"SUBJECT", "EQUITY", "N", "CUM.", "ANNUAL", "VOL.", "SHARPE", "SORTINO", "MAX DD", "CALMAR", "VAR HIST.",
           "VAR PARAM.", "CVAR", "WIN", "PF", "TURNOVER"});
  const nlohmann::json portfolio = r.value("portfolio", nlohmann::json::object());
  const nlohmann::json strategies = r.value("strategies", nlohmann::json::object());
  if (portfolio.is_object()) add_subject_row(t, "portfolio", portfolio, a.period);
  for (const auto& [name, s] : strategies.items()) add_subject_row(t, name, s, a.period);
  std::cout << a.period << " returns (" << (a.period == "daily" ? "per UTC day" : "per sample interval") << ")\n";
  t.print(std::cout, g.color());
  if (portfolio.is_object()) {
    const nlohmann::json undefined = portfolio.value("undefined", nlohmann::json::object());
    for (const auto& [key, why] : undefined.items()) {
      if (key.rfind(a.period + ".", 0) == 0 || key.rfind("trades.", 0) == 0) {
        std::cout << "  portfolio " << key << ": " << (why.is_string() ? why.get<std::string>() : why.dump()) << "\n";
      }
    }
  }
  const nlohmann::json attribution = r.value("attribution", nlohmann::json::object());
  print_attribution(g, "attribution by sector", attribution.value("sector", nlohmann::json::object()));
  print_attribution(g, "attribution by strategy", attribution.value("strategy", nlohmann::json::object()));
}

}  // namespace

void add_analytics_commands(CLI::App& app, GlobalOptions& global) {
  auto* an = app.add_subcommand("analytics", "Performance figures and attribution of the portfolio and strategies");
  an->require_subcommand(1);
  auto args = std::make_shared<ReportArgs>();
  auto* report = an->add_subcommand("report", "Returns, Sharpe, Sortino, drawdown, VaR, trades; Brinson-Fachler attribution");
  report->add_option("--period", args->period, "Which returns: per sample interval or per UTC day")
      ->check(CLI::IsMember({"interval", "daily"}))
      ->capture_default_str();
  report->add_option("--engine", args->engine, "Analytics engine instance")->capture_default_str();
  report->callback([&global, args] { run_report(global, *args); });
}

}  // namespace nautilus::cli
