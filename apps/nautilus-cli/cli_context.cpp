#include "cli_context.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

namespace nautilus::cli {

bool GlobalOptions::stdout_is_tty() const { return isatty(STDOUT_FILENO) == 1; }

bool GlobalOptions::color() const {
  const char* nc = std::getenv("NO_COLOR");
  if (no_color || (nc && *nc)) return false;
  return stdout_is_tty();
}

void report_error(bool json, int exit_code, const std::string& message) {
  if (json) {
    std::cerr << nlohmann::json{{"error", message}, {"exit_code", exit_code}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  } else {
    std::cerr << "nautilus: " << message << std::endl;
  }
}

void note(const GlobalOptions& g, const std::string& text) {
  if (!g.quiet) std::cerr << "nautilus: " << text << std::endl;
}

}  // namespace nautilus::cli
