#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "bench/bench_scenarios.h"
#include "bench/handoff_ceiling.h"
#include "commands.h"
#include "direct_bus.h"

namespace nautilus::cli {
namespace {

struct BenchArgs {
  BenchConfig cfg;
  std::string mix = "normal";
  bool peer = false;
};

void add_common(CLI::App* cmd, BenchArgs& a) {
  cmd->add_option("--backend", a.cfg.backend, "Bus backend: inproc:// or redis://host:port")
      ->capture_default_str();
  cmd->add_option("--publishers", a.cfg.publishers, "Publisher threads")->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--subscribers", a.cfg.subscribers, "Subscribers (each gets every message)")
      ->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--size", a.cfg.payload_bytes, "Payload size in bytes")->check(CLI::Range(16, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--count", a.cfg.count, "Total messages to publish");
  cmd->add_option("--duration", a.cfg.duration_s, "Seconds to publish for")->check(CLI::Range(0.01, 3600.0));
  cmd->add_option("--queue", a.cfg.queue_capacity, "Per-lane queue capacity of each subscriber")
      ->check(CLI::Range(2, 1 << 24))->capture_default_str();
  cmd->add_option("--priority,--mix", a.mix,
                  "Priority, or a weighted mix such as normal=99,urgent=1")->capture_default_str();
  cmd->add_option("--drain-timeout", a.cfg.drain_timeout_s, "Seconds to wait for deliveries after publishing")
      ->check(CLI::Range(0.1, 3600.0))->capture_default_str();
}

int run_and_print(const GlobalOptions& g, BenchArgs& a, bool latency) {
  a.cfg.mix = parse_priority_mix(a.mix);
  if (a.cfg.backend == "inproc") a.cfg.backend = "inproc://";
  a.cfg.progress = !g.quiet && isatty(STDERR_FILENO) == 1;  // a live line for people only
  std::unique_ptr<Bus> bus = open_direct_bus(a.cfg.backend, "bench");
  BenchReport r = latency ? run_latency(*bus, a.cfg) : run_throughput(*bus, a.cfg);
  if (a.peer) {
    // After the bus run, never beside it: on a small machine they would share cores.
    CeilingRun c{a.cfg.count, a.cfg.duration_s, a.cfg.subscribers, a.cfg.payload_bytes};
    nlohmann::json ceiling = measure_handoff_ceiling(c);
    const double top = ceiling["prebuilt"]["msgs_per_s"].get<double>();
    ceiling["nautilus_msgs_per_s"] = r.throughput();
    ceiling["ratio_to_prebuilt"] = top > 0 ? r.throughput() / top : 0.0;
    ceiling["ratio_to_built"] = r.throughput() / std::max(1.0, ceiling["built"]["msgs_per_s"].get<double>());
    r.extra["ceiling"] = ceiling;
  }
  if (g.json) {
    std::cout << r.to_json().dump() << std::endl;
  } else {
    r.print_table(std::cout, g.color());
  }
  return r.by_priority[lane_of(Priority::kHigh)].lost + r.by_priority[lane_of(Priority::kUrgent)].lost +
                     r.by_priority[lane_of(Priority::kFlashCrash)].lost >
                 0
             ? kExitFailure
             : kExitOk;
}

}  // namespace

void add_flash_crash_command(CLI::App& bench, GlobalOptions& global);  // flash_crash_command.cpp
void add_vpin_detector_command(CLI::App& bench, GlobalOptions& global);  // vpin_detector_command.cpp
void add_engines_bench_command(CLI::App& bench, GlobalOptions& global);  // engines_bench.cpp
void add_tick_to_fill_command(CLI::App& bench, GlobalOptions& global);  // tick_to_fill.cpp
void add_store_bench_command(CLI::App& bench, GlobalOptions& global);  // store_bench.cpp
void add_backtest_bench_command(CLI::App& bench, GlobalOptions& global);  // backtest_bench.cpp
void add_ws_bench_command(CLI::App& bench, GlobalOptions& global);  // ws_bench.cpp
void add_scale_bench_command(CLI::App& bench, GlobalOptions& global);  // scale_bench.cpp

void add_bench_commands(CLI::App& app, GlobalOptions& global) {
  auto* bench = app.add_subcommand("bench", "Measure the buses: throughput, latency, flash-crash");
  bench->require_subcommand(1);

  auto tp = std::make_shared<BenchArgs>();
  auto* throughput = bench->add_subcommand("throughput", "Publishers -> subscribers as fast as possible");
  add_common(throughput, *tp);
  throughput->add_flag("--peer", tp->peer,
                       "Also measure the ceiling on this machine: the same messages handed over through "
                       "moodycamel::BlockingConcurrentQueue, pre-built and built per message (inproc:// only)");
  throughput->callback([&global, tp] {
    if (tp->peer && tp->cfg.backend != "inproc://" && tp->cfg.backend != "inproc") {
      throw CliError(kExitUsage, "--peer measures the in-process ceiling; for Redis run scripts/bench-peers.sh");
    }
    if (tp->peer && tp->cfg.publishers != 1) throw CliError(kExitUsage, "--peer measures one publisher: drop --publishers");
    if (tp->cfg.count == 0 && tp->cfg.duration_s == 0) tp->cfg.count = 2'000'000;
    int rc = run_and_print(global, *tp, false);
    if (rc != 0) throw CliError(static_cast<ExitCode>(rc), "messages lost at high priority or above");
  });

  auto lat = std::make_shared<BenchArgs>();
  auto* latency = bench->add_subcommand("latency", "Paced load at a fixed rate; publish-to-handler latency");
  add_common(latency, *lat);
  latency->add_option("--rate", lat->cfg.rate, "Messages per second (all publishers together)")
      ->check(CLI::Range(1.0, 1e8));
  latency->callback([&global, lat] {
    int rc = run_and_print(global, *lat, true);
    if (rc != 0) throw CliError(static_cast<ExitCode>(rc), "messages lost at high priority or above");
  });

  add_flash_crash_command(*bench, global);
  add_vpin_detector_command(*bench, global);
  add_engines_bench_command(*bench, global);
  add_tick_to_fill_command(*bench, global);
  add_store_bench_command(*bench, global);
  add_backtest_bench_command(*bench, global);
  add_ws_bench_command(*bench, global);
  add_scale_bench_command(*bench, global);
}

}  // namespace nautilus::cli
