// nautilus: the command-line tool. Parses global options, dispatches to the
// command families, and maps every failure onto the exit codes of nautilus(1).
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "commands.h"
#include "option_checks.h"

using namespace nautilus::cli;

namespace {

// --json given anywhere before "--": known even when parsing failed before
// CLI11 reached the flag, so a script gets its error as JSON either way.
bool json_requested(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) return false;
    if (std::strcmp(argv[i], "--json") == 0) return true;
  }
  return false;
}

// The subcommand the parse got furthest into ("nautilus engine frob" stops
// in "engine").
CLI::App* deepest_subcommand(CLI::App& app) {
  CLI::App* at = &app;
  for (;;) {
    auto chosen = at->get_subcommands();
    if (chosen.empty()) return at;
    at = chosen.front();
  }
}

std::string command_path(const CLI::App* sub) {
  std::string path;
  for (const CLI::App* a = sub; a != nullptr; a = a->get_parent()) path = a->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

// What to say about a failed parse: an unknown command or option by name,
// numbers in words a person can read, otherwise CLI11's own text.
std::string parse_error_text(CLI::App& app, const CLI::ParseError& e) {
  CLI::App* sub = deepest_subcommand(app);
  std::vector<std::string> extras = sub->remaining();
  if (extras.empty()) extras = app.remaining(true);
  if (!extras.empty() && !extras.front().empty()) {
    const std::string& first = extras.front();
    if (first[0] == '-') return "unknown option '" + first + "'";
    auto commands = sub->get_subcommands([](CLI::App* c) { return !c->get_group().empty(); });
    if (!commands.empty()) {
      std::string names;
      for (const CLI::App* c : commands) names += (names.empty() ? "" : ", ") + c->get_name();
      return "unknown command '" + first + "' for '" + command_path(sub) + "' (expected " + names + ")";
    }
  }
  return readable_parse_error(e.what());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nautilus: control and measure a nautilus trading backbone"};
  app.name("nautilus");
  app.set_version_flag("--version", "nautilus 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();

  GlobalOptions g;
  app.add_option("--url", g.url, "Control API of nautilusd (http://host:port or unix:/path)")
      ->envname("NAUTILUS_URL");
  app.add_option("--token", g.token, "Bearer token for mutating routes")->envname("NAUTILUS_TOKEN");
  app.add_option("--config", g.config, "Config file (nautilusd.toml)");
  app.add_flag("--json", g.json, "Machine-readable output (NDJSON for streams; errors as JSON on stderr)");
  app.add_flag("-q,--quiet", g.quiet, "No diagnostics on stderr (data and errors are still printed)");
  app.add_flag("--no-color", g.no_color, "No colours (also NO_COLOR)");

  add_analytics_commands(app, g);
  add_backtest_commands(app, g);
  add_bench_commands(app, g);
  add_collateral_commands(app, g);
  add_cluster_commands(app, g);
  add_control_commands(app, g);
  add_bus_commands(app, g);
  add_data_commands(app, g);
  add_history_commands(app, g);
  add_hub_bench_command(app, g);
  add_portfolio_commands(app, g);
  add_risk_commands(app, g);
  add_strategy_commands(app, g);
  add_token_commands(app, g);
  add_top_command(app, g);
  add_completion_helper(app, g);

  const bool json = json_requested(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    report_error(json, kExitUsage, parse_error_text(app, e));
    if (!json) std::cerr << "Run with --help for more information.\n";
    return kExitUsage;
  } catch (const CliError& e) {
    if (e.code() != kExitOk) report_error(json, e.code(), e.what());
    return e.code();
  } catch (const std::exception& e) {
    report_error(json, kExitFailure, e.what());
    return kExitFailure;
  }
  return kExitOk;
}
