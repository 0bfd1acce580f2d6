#include "daemon_connection.h"

#include <cstdio>

#include "control/state_dir.h"

namespace nautilus::cli {

control::ControlClient connect_daemon(const GlobalOptions& g) {
  std::string dir = control::default_state_dir();
  std::string url = g.url;
  if (url.empty()) url = control::read_state_file(dir, control::kAddressFile).value_or(control::kDefaultUrl);
  std::string token = g.token;
  if (token.empty()) token = control::read_state_file(dir, control::kTokenFile).value_or("");
  try {
    return control::ControlClient(url, token);
  } catch (const std::invalid_argument& e) {
    throw CliError(kExitUsage, std::string("--url: ") + e.what());
  }
}

void with_daemon(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const control::DaemonUnreachable& e) {
    throw CliError(kExitUnreachable, e.what());
  } catch (const control::NotFound& e) {
    throw CliError(kExitNotFound, e.what());
  } catch (const control::Timeout& e) {
    throw CliError(kExitTimeout, e.what());
  } catch (const control::BadRequest& e) {
    throw CliError(kExitUsage, e.what());
  } catch (const control::Unauthorized& e) {
    throw CliError(kExitFailure, std::string(e.what()) +
                                     " (check --token / NAUTILUS_TOKEN or the token file in NAUTILUS_STATE_DIR)");
  } catch (const control::ControlError& e) {
    throw CliError(kExitFailure, e.what());
  }
}

std::string format_duration_s(double s) {
  char buf[64];
  if (s < 60) std::snprintf(buf, sizeof(buf), "%.1fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof(buf), "%dm %ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof(buf), "%dh %dm", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
  return buf;
}

}  // namespace nautilus::cli
