// nautilus __complete engines: the engine names (instances and kinds) of the
// running daemon, one per line, for the shell completions in completions/.
// Hidden from --help. A completion must never hang a shell or print into
// it, so the daemon gets a short timeout and every failure prints nothing.
#include <iostream>

#include "commands.h"
#include "control/control_client.h"
#include "daemon_connection.h"

namespace nautilus::cli {
namespace {

constexpr std::chrono::milliseconds kCompletionTimeout{1000};

}  // namespace

void add_completion_helper(CLI::App& app, GlobalOptions& g) {
  auto what = std::make_shared<std::string>();
  auto* helper = app.add_subcommand("__complete", "Words for shell completion");
  helper->group("");  // hidden
  helper->add_option("WHAT", *what, "engines")->required()->check(CLI::IsMember({"engines"}));
  helper->callback([&g, what] {  // `what` keeps the option's storage alive
    (void)what;
    try {
      auto r = connect_daemon(g, kCompletionTimeout).get("/api/v1/engines");
      for (const auto& e : r.body.value("engines", nlohmann::json::array())) {
        if (e.contains("name") && e["name"].is_string()) std::cout << e["name"].get<std::string>() << "\n";
      }
    } catch (const std::exception&) {
      // Nothing: the shell simply offers no engine names.
    }
  });
}

}  // namespace nautilus::cli
