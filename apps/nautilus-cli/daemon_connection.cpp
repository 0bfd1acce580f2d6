#include "daemon_connection.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <toml++/toml.h>

#include "control/state_dir.h"

namespace nautilus::cli {

namespace {

// What the CLI needs from nautilusd's config file: where the daemon listens
// and keeps its state. Everything else in the file is the daemon's business.
struct DaemonAddress {
  std::string listen, socket, state_dir;
};

DaemonAddress read_config(const std::string& path) {
  DaemonAddress a;
  toml::table file;
  try {
    file = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw CliError(kExitUsage, "--config " + path + ": " + std::string(e.description()));
  }
  if (const auto* daemon = file["daemon"].as_table()) {
    a.listen = (*daemon)["listen"].value_or(std::string("127.0.0.1:8001"));
    a.socket = (*daemon)["socket"].value_or(std::string());
    a.state_dir = (*daemon)["state_dir"].value_or(std::string());
  }
  return a;
}

}  // namespace

control::ControlClient connect_daemon(const GlobalOptions& g, std::chrono::milliseconds timeout) {
  // Flags beat the environment (CLI11 merges --url/NAUTILUS_URL and
  // --token/NAUTILUS_TOKEN that way), and both beat the config file.
  std::string config_path = control::find_config_file(g.config);
  if (!g.config.empty() && access(g.config.c_str(), R_OK) != 0) {
    throw CliError(kExitUsage, "--config " + g.config + ": cannot read the file");
  }
  DaemonAddress cfg = config_path.empty() ? DaemonAddress{} : read_config(config_path);
  const char* env_dir = std::getenv("NAUTILUS_STATE_DIR");
  std::string dir = (env_dir && *env_dir) || cfg.state_dir.empty() ? control::default_state_dir() : cfg.state_dir;

  std::string url = g.url;
  // The address file records where the running daemon really listens (port 0
  // picks one), so it beats the config file's listen setting.
  if (url.empty()) url = control::read_state_file(dir, control::kAddressFile).value_or("");
  if (url.empty() && env_dir && *env_dir) {
    throw CliError(kExitUnreachable, "no nautilusd address in NAUTILUS_STATE_DIR=" + dir +
                                         " (no '" + control::kAddressFile + "' file: is a nautilusd running with"
                                         " --state-dir " + dir + "?); not trying " + control::kDefaultUrl +
                                         ", which may be another daemon; give --url to choose one");
  }
  if (url.empty() && !cfg.socket.empty()) url = "unix:" + cfg.socket;
  if (url.empty() && !cfg.listen.empty() && !cfg.listen.ends_with(":0")) url = "http://" + cfg.listen;
  if (url.empty()) url = control::kDefaultUrl;
  std::string token = g.token;
  if (token.empty()) token = control::read_state_file(dir, control::kTokenFile).value_or("");
  try {
    return control::ControlClient(url, token, timeout);
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
