// An engine's status straight from a test daemon's control API (GET
// /api/v1/engines/<name>, the daemon's own token): what `nautilus engine
// status --json` prints, without starting a CLI process per poll.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "control/control_client.h"
#include "e2e/cli_e2e_support.h"

namespace nautilus::e2e {

// The status object, or an empty object while the daemon does not answer.
inline nlohmann::json engine_json(const Daemon& d, const std::string& name) {
  std::string token = slurp(d.dir + "/token");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  try {
    control::ControlClient client(d.url, token);
    nlohmann::json j = client.get("/api/v1/engines/" + name).body;
    return j.is_object() ? j : nlohmann::json::object();
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

}  // namespace nautilus::e2e
