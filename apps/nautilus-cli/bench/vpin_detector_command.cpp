// nautilus bench vpin-detector [--runs N] [--calm-minutes M] [--seed S]
//   [--vpin JSON] [--stream-interval-ms MS] [--crash-plunge-pct P]
//   [--crash-duration S] [--crash-volume-x X] [--json]
// The scenario is vpin_detector.h. Exit 0 when both goals are met (no false
// halt in any calm run, every crash warned within 5 s of its onset), 1 when
// not (the report is printed either way), 2 for a bad --vpin section.
#include <atomic>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "bench/vpin_detector.h"
#include "commands.h"

namespace nautilus::cli {
namespace {

struct VpinDetectorArgs {
  VpinDetectorConfig cfg;
  std::string vpin_json;
  double stream_interval_ms = 1000;
};

void run(const GlobalOptions& g, VpinDetectorArgs& a) {
  if (!a.vpin_json.empty()) {
    a.cfg.vpin = nlohmann::json::parse(a.vpin_json, nullptr, false);
    if (!a.cfg.vpin.is_object()) throw CliError(kExitUsage, "--vpin: expected a JSON object such as {\"vpin_floor\": 0.7}");
  }
  a.cfg.stream_interval_s = a.stream_interval_ms / 1000.0;
  const std::atomic<bool> never{false};
  nlohmann::json r;
  try {
    r = run_vpin_detector(a.cfg, never);
  } catch (const std::invalid_argument& e) {
    throw CliError(kExitUsage, std::string("--vpin: ") + e.what());
  }
  if (g.json) {
    std::cout << r.dump() << std::endl;
  } else {
    print_vpin_detector(r, std::cout);
  }
  if (!vpin_detector_passed(r)) throw CliError(kExitFailure, "a detector goal is not met (see the report)");
}

}  // namespace

void add_vpin_detector_command(CLI::App& bench, GlobalOptions& global) {
  auto a = std::make_shared<VpinDetectorArgs>();
  auto* cmd = bench.add_subcommand(
      "vpin-detector", "VPIN warnings as a detector on seeded synthetic markets: false alarms per hour, crash delay");
  cmd->add_option("--runs", a->cfg.runs, "Seeded runs (each: every symbol calm, then crashing)")
      ->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--calm-minutes", a->cfg.calm_minutes, "Minutes of calm market before each run's crashes")
      ->check(CLI::Range(0.1, 10080.0))->capture_default_str();
  cmd->add_option("--seed", a->cfg.seed, "Feed seed of the first run (run i uses seed + i)")->capture_default_str();
  cmd->add_option("--vpin", a->vpin_json, "An [engines.vpin] section as JSON, over the engine defaults");
  cmd->add_option("--stream-interval-ms", a->stream_interval_ms, "Delivery batches of the feed (marketdata's stream_interval_ms)")
      ->check(CLI::Range(10.0, 60000.0))->capture_default_str();
  cmd->add_option("--crash-plunge-pct", a->cfg.crash_plunge_pct, "Crash depth in percent")
      ->check(CLI::Range(0.1, 99.0))->capture_default_str();
  cmd->add_option("--crash-duration", a->cfg.crash_duration_s, "Crash length in seconds")
      ->check(CLI::Range(1.0, 3600.0))->capture_default_str();
  cmd->add_option("--crash-volume-x", a->cfg.crash_volume_x, "Trade count multiplier during the crash")
      ->check(CLI::Range(0.1, 1000.0))->capture_default_str();
  cmd->callback([&global, a] { run(global, *a); });
}

}  // namespace nautilus::cli
