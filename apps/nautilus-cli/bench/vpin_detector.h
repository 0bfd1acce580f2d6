// nautilus bench vpin-detector: VPIN's flash crash warning measured as a
// detector. Many seeded runs of the synthetic market the daemon streams (the
// marketdata engine's defaults: its five symbols, ~5 trades a second each,
// delivered in 1 s batches), each a calm stretch then one crash episode per
// symbol (the marketdata engine's crash defaults: -10% over 30 s on 5x the
// volume). The real VpinCalculator, fed as the vpin engine feeds it (trades in
// delivery order, a trade entering a new bar closing every symbol's finished
// bar), runs on feed time, as fast as the CPU allows. Reported:
//   - false warnings in the calm stretch: per symbol-hour and runs with any
//     (the risk engine halts trading on every warning, so a run with one is a
//     false HALT), beside what the ungated rule (CDF >= threshold alone) gives;
//   - crash onset -> warning delivery (p50/p90/max), episodes caught within
//     the goal (5 s) and missed.
#pragma once

#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nautilus::cli {

struct VpinDetectorConfig {
  int runs = 20;
  double calm_minutes = 60;
  std::uint64_t seed = 1;          // run i uses the feed seed seed + i
  nlohmann::json vpin = nlohmann::json::object();  // an [engines.vpin] section over the engine defaults
  std::vector<std::string> symbols = {"AAPL", "BTCUSD", "ES", "MSFT", "SPY"};  // the marketdata engine's
  double stream_interval_s = 1.0;  // the marketdata engine's stream_interval_ms
  double crash_duration_s = 30;    // the marketdata engine's crash defaults
  double crash_plunge_pct = 10;
  double crash_volume_x = 5;
  double watch_after_onset_s = 60;  // a warning later than this after onset is a miss
  double goal_s = 5;                // onset -> warning
};

// Runs every run (or until `stop` is set: the runs done so far are reported).
// Throws std::invalid_argument for a bad vpin section.
nlohmann::json run_vpin_detector(const VpinDetectorConfig& cfg, const std::atomic<bool>& stop);

// Both goals met: no false warning in any calm run, every episode within the goal.
bool vpin_detector_passed(const nlohmann::json& report);
void print_vpin_detector(const nlohmann::json& report, std::ostream& out);

}  // namespace nautilus::cli
