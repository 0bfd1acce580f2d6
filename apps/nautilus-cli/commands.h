// Each command family registers its subcommands on the app. A family lives in
// its own file (or folder) and adds one line to main.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include "cli_context.h"

namespace nautilus::cli {

void add_bench_commands(CLI::App& app, GlobalOptions& global);

}  // namespace nautilus::cli
