// What every `nautilus` subcommand shares: the global options, the exit codes of
// nautilus(1), and how output is shaped for a TTY or for scripts.
#pragma once

#include <stdexcept>
#include <string>

namespace nautilus::cli {

// Exit codes, documented in nautilus(1). Keep the two in step.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,
  kExitUsage = 2,
  kExitUnreachable = 3,  // the daemon (or Redis) cannot be reached
  kExitNotFound = 4,     // unknown engine, topic, symbol, ...
  kExitTimeout = 5,
};

struct GlobalOptions {
  std::string url;      // --url / NAUTILUS_URL
  std::string token;    // --token / NAUTILUS_TOKEN
  std::string config;   // --config
  bool json = false;    // --json
  bool quiet = false;   // -q
  bool no_color = false;  // --no-color / NO_COLOR

  bool stdout_is_tty() const;
  bool color() const;   // a TTY, no --no-color, no NO_COLOR
};

// Reports a failure on stderr: "nautilus: <message>" for people, or with
// --json one object {"error": message, "exit_code": code} so a script can
// parse it. Errors are printed even with -q (-q hides diagnostics, not why
// the command failed).
void report_error(bool json, int exit_code, const std::string& message);
// A diagnostic line on stderr ("nautilus: <text>"), hidden by -q.
void note(const GlobalOptions& g, const std::string& text);

// Thrown by a command to end with a given exit code and a one-line message on
// stderr ("nautilus: <message>").
class CliError : public std::runtime_error {
 public:
  CliError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

}  // namespace nautilus::cli
