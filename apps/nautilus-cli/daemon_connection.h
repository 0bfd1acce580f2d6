// How CLI commands reach nautilusd: the URL from --url / NAUTILUS_URL, else the
// address nautilusd recorded in its state directory (NAUTILUS_STATE_DIR, else
// the config file's state_dir, else the default), else the config file's
// socket or listen address, else http://127.0.0.1:8001; the token from
// --token / NAUTILUS_TOKEN, else the state directory's token file. The config
// file is --config, else the daemon's own search (NAUTILUS_CONFIG, XDG, /etc). Control-client failures become CliErrors with
// the exit codes of nautilus(1).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "cli_context.h"
#include "control/control_client.h"

namespace nautilus::cli {

control::ControlClient connect_daemon(const GlobalOptions& g,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
// Runs `fn`, mapping control errors: unreachable 3, not found 4, timeout 5,
// bad request 2, unauthorized and the rest 1.
void with_daemon(const std::function<void()>& fn);
// "1.5s", "3m 2s", "2h 5m"
std::string format_duration_s(double seconds);

}  // namespace nautilus::cli
