// nautilus cluster status
// Every nautilusd sharing this daemon's Redis (GET /api/v1/cluster): instance,
// host, pid, listeners, engines and when it last announced itself. On an
// in-process daemon the list is that daemon alone. --json prints the answer.
#include <iostream>

#include "commands.h"
#include "core/clock.h"
#include "daemon_connection.h"
#include "table.h"

namespace nautilus::cli {
namespace {

std::string engines_text(const nlohmann::json& d) {
  std::string out;
  for (const auto& e : d.value("engines", nlohmann::json::array())) {
    if (!out.empty()) out += ",";
    out += e.value("name", "?");
    const std::string state = e.value("state", "");
    if (state != "RUNNING") out += "(" + state + ")";
  }
  return out.empty() ? "-" : out;
}

std::string seen_text(const nlohmann::json& d) {
  if (!d.contains("last_seen_ns") || !d["last_seen_ns"].is_number_integer()) return "-";
  const double age_s = static_cast<double>(wall_now_ns() - d["last_seen_ns"].get<std::int64_t>()) / 1e9;
  return format_fixed(age_s < 0 ? 0.0 : age_s, 1) + "s ago";
}

void run_status(const GlobalOptions& g) {
  nlohmann::json a;
  with_daemon([&] { a = connect_daemon(g).get("/api/v1/cluster").body; });
  if (!a.is_object() || !a.contains("daemons")) throw CliError(kExitFailure, "unexpected answer from the daemon");
  if (g.json) {
    std::cout << a.dump() << "\n";
    return;
  }
  const auto& daemons = a["daemons"];
  std::cout << daemons.size() << " daemon" << (daemons.size() == 1 ? "" : "s") << " on "
            << (a.value("backend", "") == "redis" ? "this Redis" : "an in-process bus (this daemon only)") << "\n";
  Table t({"", "INSTANCE", "HOST", "PID", "LISTENING", "UP", "LAST SEEN", "ENGINES"});
  for (const auto& d : daemons) {
    std::string listening;
    for (const auto& l : d.value("listeners", nlohmann::json::array())) {
      if (!listening.empty()) listening += " ";
      listening += l.get<std::string>();
    }
    t.add_row({d.value("self", false) ? "*" : "", d.value("instance", "?"), d.value("host", "?"),
               d.contains("pid") ? std::to_string(d["pid"].get<long long>()) : "-", listening.empty() ? "-" : listening,
               d.contains("uptime_s") ? format_fixed(d["uptime_s"].get<double>(), 0) + "s" : "-", seen_text(d),
               engines_text(d)});
  }
  t.print(std::cout, g.color());
}

}  // namespace

void add_cluster_commands(CLI::App& app, GlobalOptions& global) {
  auto* cluster = app.add_subcommand("cluster", "The daemons sharing this daemon's Redis");
  cluster->require_subcommand(1);
  auto* status = cluster->add_subcommand("status", "Every daemon announced on the Redis (instance, host, engines, last seen)");
  status->callback([&global] { run_status(global); });
}

}  // namespace nautilus::cli
