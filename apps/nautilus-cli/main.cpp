// nautilus: the command-line tool. Parses global options, dispatches to the
// command families, and maps every failure onto the exit codes of nautilus(1).
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "commands.h"

using namespace nautilus::cli;

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
  app.add_flag("--json", g.json, "Machine-readable output (NDJSON for streams)");
  app.add_flag("-q,--quiet", g.quiet, "Print only data, no diagnostics");
  app.add_flag("--no-color", g.no_color, "No colours (also NO_COLOR)");

  add_bench_commands(app, g);
  add_control_commands(app, g);
  add_bus_commands(app, g);
  add_data_commands(app, g);
  add_hub_bench_command(app, g);
  add_risk_commands(app, g);
  add_top_command(app, g);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports a missing subcommand before an unknown option; the
    // unknown option is the more useful thing to say.
    auto extras = app.remaining();
    if (!extras.empty() && !extras.front().empty() && extras.front()[0] == '-') {
      std::cerr << "nautilus: unknown option '" << extras.front() << "'\n";
    } else {
      std::cerr << "nautilus: " << e.what() << "\n";
    }
    std::cerr << "Run with --help for more information.\n";
    return kExitUsage;
  } catch (const CliError& e) {
    if (e.code() != kExitOk) std::cerr << "nautilus: " << e.what() << "\n";
    return e.code();
  } catch (const std::exception& e) {
    std::cerr << "nautilus: " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}
