// nautilus bench flash-crash [--backend inproc|redis://…|daemon] [--duration S]
//   [--rate R] [--symbols N] [--crashes N] [--seed N] [--json]
// Where the scenario (flash_crash.h) runs:
//   inproc    both buses in this process, the bench's own vpin and risk engines
//   redis://  both buses on Redis Streams (--md-backend/--engine-backend split
//             them), the bench's own engines, keys under a prefix of this run's
//             own that is deleted afterwards
//   daemon    a running nautilusd on Redis buses: the feed, the flood and the
//             observers run here, the daemon's own vpin and risk engines answer
// SIGINT/SIGTERM stop the run early and the figures so far are printed; a
// second one quits at once.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include <hiredis/hiredis.h>

#include "bench/bench_scenarios.h"
#include "bench/flash_crash.h"
#include "bus/redis_bus.h"
#include "commands.h"
#include "daemon_connection.h"
#include "direct_bus.h"

namespace nautilus::cli {
namespace {

struct FlashCrashArgs {
  FlashCrashConfig cfg;
  std::string backend = "inproc";
  std::string md_backend;
  std::string engine_backend;
  std::string mix;
};

// Turns SIGINT/SIGTERM into a flag for the duration of a run. The signals are
// blocked before any bus or engine thread exists (threads inherit the mask),
// so only this watcher ever sees them and no blocking call elsewhere is
// interrupted.
class InterruptWatch {
 public:
  InterruptWatch() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this] { loop(); });
  }
  ~InterruptWatch() {
    done_.store(true);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;
  const std::atomic<bool>& stop() const { return stop_; }

 private:
  void loop() {
    const timespec tick{0, 50'000'000};
    while (!done_.load()) {
      int sig = sigtimedwait(&set_, nullptr, &tick);
      if (sig <= 0) continue;
      if (stop_.exchange(true)) std::_Exit(128 + sig);  // the second one: quit now
      static const char msg[] = "nautilus: interrupted, finishing the report (again to quit now)\n";
      (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    }
  }

  sigset_t set_{};
  sigset_t old_{};
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

bool is_redis(const std::string& url) { return url.rfind("redis://", 0) == 0; }

// A prefix of this run's own, unless the URL names one: a run then neither
// reads a previous run's streams nor competes with a daemon's consumer groups
// on the same server, and its keys can be deleted afterwards.
std::string with_run_prefix(const std::string& url, std::string& prefix) {
  if (!is_redis(url) || url.find("prefix=") != std::string::npos) return url;
  try {
    (void)parse_redis_url(url);  // report the URL as given, not with our prefix
  } catch (const std::invalid_argument& e) {
    throw CliError(kExitUsage, e.what());
  }
  prefix = "nautilus-bench-" + std::to_string(::getpid());
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "prefix=" + prefix;
}

// Deletes the run's keys (best effort: a failure only leaves keys behind).
void delete_run_keys(const std::string& url, const std::string& prefix) {
  RedisConfig rc;
  try {
    rc = parse_redis_url(url);
  } catch (const std::exception&) {
    return;
  }
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout(rc.host.c_str(), rc.port, tv);
  if (!c || c->err) {
    if (c) redisFree(c);
    return;
  }
  auto run = [c](const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
  };
  auto ok = [](redisReply* r) {
    bool good = r && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    return good;
  };
  if (!rc.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!rc.user.empty()) auth.push_back(rc.user);
    auth.push_back(rc.password);
    if (!ok(run(auth))) return redisFree(c);
  }
  if (rc.db != 0 && !ok(run({"SELECT", std::to_string(rc.db)}))) return redisFree(c);
  std::string cursor = "0";
  do {
    redisReply* r = run({"SCAN", cursor, "MATCH", prefix + ":*", "COUNT", "1000"});
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      if (r) freeReplyObject(r);
      break;
    }
    cursor = std::string(r->element[0]->str, r->element[0]->len);
    std::vector<std::string> del = {"UNLINK"};
    for (std::size_t i = 0; i < r->element[1]->elements; ++i) {
      del.emplace_back(r->element[1]->element[i]->str, r->element[1]->element[i]->len);
    }
    freeReplyObject(r);
    if (del.size() > 1) ok(run(del));
  } while (cursor != "0");
  redisFree(c);
}

// --backend daemon: the daemon's bus URLs and its vpin settings, which shape
// the feed; waiting for the warm-up goes through its vpin engine's counters.
struct DaemonTarget {
  std::string md_url, engine_url, vpin_name, risk_name;
};

DaemonTarget find_daemon(const GlobalOptions& g, FlashCrashConfig& cfg) {
  DaemonTarget t;
  nlohmann::json info, engines, vpin;
  with_daemon([&] {
    auto client = connect_daemon(g);
    info = client.get("/api/v1/daemon").body;
    engines = client.get("/api/v1/engines").body;
  });
  const auto& buses = info.value("buses", nlohmann::json::object());
  t.md_url = buses.value("marketdata", "");
  t.engine_url = buses.value("engine", "");
  if (!is_redis(t.md_url) || !is_redis(t.engine_url)) {
    throw CliError(kExitFailure, "--backend daemon needs a nautilusd whose buses are on Redis (this one has marketdata " +
                                     t.md_url + ", engine " + t.engine_url +
                                     "); start it with --marketdata-bus/--engine-bus redis://… or use --backend inproc");
  }
  const auto& list = engines.is_array() ? engines : engines.value("engines", nlohmann::json::array());
  for (const auto& e : list) {
    const std::string kind = e.value("kind", ""), state = e.value("state", "");
    if (state != "RUNNING" && state != "DEGRADED") continue;
    if (kind == "vpin" && t.vpin_name.empty()) t.vpin_name = e.value("name", "");
    if (kind == "risk" && t.risk_name.empty()) t.risk_name = e.value("name", "");
  }
  if (t.vpin_name.empty() || t.risk_name.empty()) {
    throw CliError(kExitNotFound, std::string("--backend daemon needs the daemon's vpin and risk engines running (") +
                                      (t.vpin_name.empty() ? "no vpin" : "vpin ok") + ", " +
                                      (t.risk_name.empty() ? "no risk" : "risk ok") + "): nautilus engine start vpin|risk");
  }
  with_daemon([&] { vpin = connect_daemon(g).get("/api/v1/engines/" + t.vpin_name).body; });
  const auto vc = vpin.value("metrics", nlohmann::json::object()).value("config", nlohmann::json::object());
  cfg.vpin_bar_s = vc.value("bar_seconds", 60.0);
  cfg.vpin_bucket_volume = vc.value("effective_bucket_volume", vc.value("bucket_volume", 10'000.0));
  cfg.vpin_history_buckets = vc.value("window_buckets", 50) + vc.value("min_cdf_samples", 50);
  cfg.start_engines = false;
  const std::string vpin_name = t.vpin_name;
  const int symbols = cfg.symbols;
  cfg.wait_for_warmup = [g, vpin_name, symbols](std::uint64_t trades) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      nlohmann::json e;
      with_daemon([&] { e = connect_daemon(g).get("/api/v1/engines/" + vpin_name).body; });
      const auto syms = e.value("metrics", nlohmann::json::object()).value("symbols", nlohmann::json::object());
      std::uint64_t seen = 0;
      for (int i = 0; i < symbols; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "FC%02d", i + 1);
        if (syms.contains(name)) seen += syms[name].value("trades", std::uint64_t{0});
      }
      if (seen >= trades) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw CliError(kExitTimeout, "the daemon's vpin engine did not take in the calm history within 120 s");
  };
  return t;
}

void run(const GlobalOptions& g, FlashCrashArgs& a) {
  FlashCrashConfig& cfg = a.cfg;
  if (!a.mix.empty()) cfg.mix = parse_priority_mix(a.mix);
  if (a.backend == "inproc" || a.backend == "inproc://") a.backend = "inproc://";
  const bool daemon = a.backend == "daemon";
  if (daemon && (!a.md_backend.empty() || !a.engine_backend.empty())) {
    throw CliError(kExitUsage, "--md-backend/--engine-backend do not go with --backend daemon");
  }
  cfg.group_prefix = "bench-" + std::to_string(::getpid());

  std::string md_url = a.md_backend.empty() ? a.backend : a.md_backend;
  std::string engine_url = a.engine_backend.empty() ? a.backend : a.engine_backend;
  if (daemon) {
    DaemonTarget t = find_daemon(g, cfg);
    md_url = t.md_url;
    engine_url = t.engine_url;
    cfg.backend = "daemon (" + t.md_url + (t.engine_url != t.md_url ? ", " + t.engine_url : "") + ")";
  } else {
    cfg.backend = md_url == engine_url ? md_url : md_url + " + " + engine_url;
  }
  std::string md_prefix, engine_prefix;
  const std::string md_shown = md_url, engine_shown = engine_url;
  if (!daemon) {
    md_url = with_run_prefix(md_url, md_prefix);
    engine_url = with_run_prefix(engine_url, engine_prefix);
  }
  // Errors name the URL as the user gave it, without the run's prefix.
  auto open = [](const std::string& url, const std::string& shown, const char* name) {
    try {
      return open_direct_bus(url, name);
    } catch (const CliError& e) {
      std::string msg = e.what();
      if (auto at = msg.find(url); at != std::string::npos) msg.replace(at, url.size(), shown);
      throw CliError(e.code(), msg);
    }
  };

  if (!g.quiet) cfg.progress = [](const std::string& line) { std::cerr << "nautilus: " << line << std::endl; };
  BenchReport r;
  {
    InterruptWatch interrupt;
    auto router = std::make_unique<Router>(open(md_url, md_shown, "marketdata"), open(engine_url, engine_shown, "engine"));
    r = run_flash_crash(*router, cfg, interrupt.stop());
    router->close();
  }
  if (!md_prefix.empty()) delete_run_keys(md_url, md_prefix);
  if (!engine_prefix.empty() && engine_url != md_url) delete_run_keys(engine_url, engine_prefix);

  if (g.json) {
    std::cout << r.to_json().dump() << std::endl;
  } else {
    print_flash_crash(r, std::cout, g.color());
  }
  if (!flash_crash_passed(r)) {
    const auto lost = r.extra.value("lost_high_and_above", std::uint64_t{0});
    if (lost > 0) throw CliError(kExitFailure, std::to_string(lost) + " messages lost at high priority or above");
    if (r.extra.value("crashed_symbols", 0) == 0) {
      throw CliError(kExitFailure, "no symbol reached its crash before the run ended: no HALT to measure");
    }
    const auto late = r.extra.value("strategy", nlohmann::json::object()).value("fills_after_halt", std::uint64_t{0});
    if (late > 0) throw CliError(kExitFailure, std::to_string(late) + " strategy order(s) filled after the HALT");
    throw CliError(kExitFailure, "a crash was not halted: the crash chain broke");
  }
}

}  // namespace

void add_flash_crash_command(CLI::App& bench, GlobalOptions& global) {
  auto a = std::make_shared<FlashCrashArgs>();
  auto* cmd = bench.add_subcommand(
      "flash-crash", "Crash synthetic symbols under a flood on both buses: VPIN warning and risk HALT latency");
  cmd->add_option("--backend", a->backend, "inproc, redis://host:port (both buses) or daemon (a running nautilusd on Redis)")
      ->capture_default_str();
  cmd->add_option("--md-backend", a->md_backend, "Marketdata bus URL (instead of --backend)");
  cmd->add_option("--engine-backend", a->engine_backend, "Engine bus URL (instead of --backend)");
  cmd->add_option("--duration", a->cfg.duration_s, "Seconds of flood and feed")->check(CLI::Range(0.5, 3600.0))
      ->capture_default_str();
  cmd->add_option("--rate", a->cfg.rate, "Background messages per second, both buses together")
      ->check(CLI::Range(0.0, 1e8))->capture_default_str();
  cmd->add_option("--symbols", a->cfg.symbols, "Crash symbols (staggered onsets)")->check(CLI::Range(1, 200))
      ->capture_default_str();
  cmd->add_option("--crashes", a->cfg.crashes_per_symbol,
                  "Crashes per symbol, each after the last has left VPIN's sigma window (0: as many as the run "
                  "holds with the bench's own engines, 1 against a daemon's)")
      ->check(CLI::Range(0, 10000))->capture_default_str();
  cmd->add_option("--seed", a->cfg.seed, "Synthetic feed seed")->capture_default_str();
  cmd->add_option("--bar-ms", a->cfg.bar_wall_ms, "Wall milliseconds per VPIN bar (the feed's speed)")
      ->check(CLI::Range(1.0, 60000.0))->capture_default_str();
  cmd->add_option("--size", a->cfg.payload_bytes, "Background payload size in bytes")->check(CLI::Range(16, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--queue", a->cfg.queue_capacity, "Per-lane queue capacity of the bench's subscribers")
      ->check(CLI::Range(2, 1 << 24))->capture_default_str();
  cmd->add_option("--mix", a->mix, "Background priority mix (default low=40,normal=138,high=20,urgent=1,flash_crash=1)");
  cmd->add_option("--drain-timeout", a->cfg.drain_timeout_s, "Seconds to wait for deliveries after the flood")
      ->check(CLI::Range(0.1, 3600.0))->capture_default_str();
  cmd->callback([&global, a] { run(global, *a); });
}

}  // namespace nautilus::cli
