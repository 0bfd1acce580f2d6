#include "cli_context.h"

#include <unistd.h>

#include <cstdlib>

namespace nautilus::cli {

bool GlobalOptions::stdout_is_tty() const { return isatty(STDOUT_FILENO) == 1; }

bool GlobalOptions::color() const {
  const char* nc = std::getenv("NO_COLOR");
  if (no_color || (nc && *nc)) return false;
  return stdout_is_tty();
}

}  // namespace nautilus::cli
