#include "daemon.h"

#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <set>
#include <iostream>
#include <mutex>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cluster.h"
#include "config.h"
#include "control/control_server.h"
#include "control/daemon_api.h"
#include "control/state_dir.h"
#include "control/static_files.h"
#include "control/ws_engine.h"
#include "core/clock.h"
#include "store/recorder.h"
#include "store_history.h"

namespace nautilus::daemon {
namespace {

constexpr const char* kVersion = "0.1.0";

// JSON lines for journald/log shippers: one object per record, fields escaped.
class JsonSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& m) override {
    auto secs = std::chrono::duration<double>(m.time.time_since_epoch()).count();
    nlohmann::json j = {{"ts", secs},
                        {"level", std::string(spdlog::level::to_string_view(m.level).data(),
                                              spdlog::level::to_string_view(m.level).size())},
                        {"logger", std::string(m.logger_name.data(), m.logger_name.size())},
                        {"msg", std::string(m.payload.data(), m.payload.size())}};
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

std::shared_ptr<spdlog::logger> make_logger(const std::string& format) {
  bool json = format == "json" || (format == "auto" && !::isatty(STDERR_FILENO));
  spdlog::sink_ptr sink;
  if (json) {
    sink = std::make_shared<JsonSink>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  auto logger = std::make_shared<spdlog::logger>("nautilusd", sink);
  logger->flush_on(spdlog::level::info);
  return logger;
}

struct Flags {
  std::string config;
  std::string listen;
  std::string socket;
  std::string state_dir;
  std::string log_format;
  bool listen_set = false, socket_set = false;
  bool check_config = false;
  bool insecure_listen = false;  // plain HTTP on a non-loopback listener
};

void apply_flags(DaemonConfig& cfg, const Flags& f) {
  if (f.listen_set) cfg.listen = f.listen == "none" ? std::string() : f.listen;
  if (f.socket_set) cfg.socket = f.socket;
  if (!f.state_dir.empty()) cfg.state_dir = f.state_dir;
  if (!f.log_format.empty()) cfg.log_format = f.log_format;
  if (f.insecure_listen) cfg.security.insecure_listen = true;
}

// Flags and environment can also be wrong: validated like the file.
std::vector<std::string> validate_overrides(const DaemonConfig& cfg) {
  std::vector<std::string> errors;
  if (!cfg.listen.empty()) {
    try {
      if (control::parse_endpoint(cfg.listen).is_unix) errors.push_back("listen: must be HOST:PORT");
    } catch (const std::invalid_argument& e) {
      errors.push_back(std::string("listen: ") + e.what());
    }
  }
  if (!cfg.socket.empty() && cfg.socket.front() != '/') errors.push_back("socket: must be an absolute path");
  if (cfg.log_format != "auto" && cfg.log_format != "text" && cfg.log_format != "json") {
    errors.push_back("log-format: must be auto, text or json");
  }
  if (cfg.listen.empty() && cfg.socket.empty()) errors.push_back("no listener: set --listen or --socket");
  return errors;
}

void notify(const std::string& state) { sd_notify(0, state.c_str()); }

// The top-level keys of two engine sections that differ ("a, b").
std::string changed_keys(const nlohmann::json& before, const nlohmann::json& after) {
  std::set<std::string> keys;
  for (const auto& [k, v] : before.items()) {
    if (!after.contains(k) || after.at(k) != v) keys.insert(k);
  }
  for (const auto& [k, v] : after.items()) {
    if (!before.contains(k)) keys.insert(k);
  }
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

// SIGHUP: applies what can change live, restarts the engines whose settings
// changed (in file order), and names every setting that needs a daemon
// restart. `cfg` becomes what is now running.
void apply_reload(DaemonConfig& cfg, const DaemonConfig& next, EngineHost& host, spdlog::logger& log) {
  if (next.log_level != cfg.log_level) {
    log.set_level(spdlog::level::from_str(next.log_level));
    log.info("reload: log_level {} -> {}", cfg.log_level, next.log_level);
    cfg.log_level = next.log_level;
  }
  if (next.drain_timeout_ms != cfg.drain_timeout_ms) {
    log.info("reload: drain_timeout_ms {} -> {}", cfg.drain_timeout_ms, next.drain_timeout_ms);
    cfg.drain_timeout_ms = next.drain_timeout_ms;
  }
  std::vector<std::string> need_restart;
  auto differs = [&](bool changed, const char* key) {
    if (changed) need_restart.emplace_back(key);
  };
  differs(next.listen != cfg.listen, "daemon.listen");
  differs(next.socket != cfg.socket, "daemon.socket");
  differs(!next.state_dir.empty() && next.state_dir != cfg.state_dir, "daemon.state_dir");
  differs(next.log_format != cfg.log_format, "daemon.log_format");
  differs(next.marketdata_bus != cfg.marketdata_bus, "bus.marketdata");
  differs(next.engine_bus != cfg.engine_bus, "bus.engine");
  differs(next.max_connections != cfg.max_connections, "control.max_connections");
  differs(next.max_body_bytes != cfg.max_body_bytes, "control.max_body_bytes");
  differs(!(next.security == cfg.security), "security");
  differs(next.store_url != cfg.store_url, "store.url");
  differs(next.recorder_enabled != cfg.recorder_enabled || !(next.recorder == cfg.recorder), "recorder");
  const SupervisorPolicy &a = cfg.supervisor, &b = next.supervisor;
  differs(a.max_failures != b.max_failures || a.failure_window_ns != b.failure_window_ns ||
              a.max_restarts != b.max_restarts || a.backoff_initial_ns != b.backoff_initial_ns ||
              a.backoff_max_ns != b.backoff_max_ns || a.stable_after_ns != b.stable_after_ns,
          "supervisor");
  int added = 0, restarted = 0, stopped = 0;
  for (const auto& spec : next.engines) {
    auto old = std::find_if(cfg.engines.begin(), cfg.engines.end(), [&](const EngineSpec& e) { return e.name == spec.name; });
    if (old == cfg.engines.end()) {
      try {
        host.reconfigure(spec.name, spec.config);  // removed by an earlier reload: still hosted, stopped
      } catch (const EngineNotFound&) {
        host.add(spec);
      }
      if (spec.autostart) host.start(spec.name);
      log.info("reload: engine '{}' added{}", spec.name, spec.autostart ? " and started" : "");
      cfg.engines.push_back(spec);
      ++added;
      continue;
    }
    if (old->kind != spec.kind) {
      need_restart.push_back("engines." + spec.name + ".kind");
      continue;
    }
    if (old->config != spec.config) {
      std::string keys = changed_keys(old->config, spec.config);
      try {
        host.reconfigure(spec.name, spec.config);
        log.warn("reload: engine '{}' restarted to apply {}", spec.name, keys);
        ++restarted;
      } catch (const std::exception& e) {
        log.error("reload: engine '{}' failed to restart with its new settings ({}): {}", spec.name, keys, e.what());
      }
      old->config = spec.config;
    }
    old->autostart = spec.autostart;
  }
  for (auto it = cfg.engines.begin(); it != cfg.engines.end();) {
    bool kept = std::any_of(next.engines.begin(), next.engines.end(), [&](const EngineSpec& e) { return e.name == it->name; });
    if (kept) {
      ++it;
      continue;
    }
    try {
      host.stop(it->name);
    } catch (const std::exception& e) {
      log.error("reload: engine '{}': {}", it->name, e.what());
    }
    log.warn("reload: engine '{}' is no longer in the config: stopped", it->name);
    ++stopped;
    it = cfg.engines.erase(it);
  }
  for (const auto& key : need_restart) log.warn("reload: {} changed; it applies only when nautilusd restarts", key);
  log.info("reloaded {}: {} engine(s) added, {} restarted, {} stopped{}", next.source, added, restarted, stopped,
           need_restart.empty() ? "" : ", " + std::to_string(need_restart.size()) + " setting(s) need a restart");
}

}  // namespace

int run_daemon(int argc, char** argv, EngineRegistry& registry, std::shared_ptr<md::HistoryLink> history_link) {
  CLI::App app{"nautilusd: hosts the nautilus buses, engines and control API"};
  app.name("nautilusd");
  app.set_version_flag("--version", std::string("nautilusd ") + kVersion);
  Flags f;
  // The websocket engine lives in the control layer; its /ws route reaches
  // the running engine through the link (installed below, before start).
  auto ws_link = std::make_shared<control::WsLink>();
  if (!registry.find("websocket")) control::register_websocket_engine(registry, ws_link);
  app.add_option("--config", f.config, "Config file (TOML); default: NAUTILUS_CONFIG, XDG, /etc/nautilus/nautilusd.toml");
  app.add_option("--listen", f.listen, "TCP listener HOST:PORT (port 0: a free port; 'none' disables)")
      ->each([&](const std::string&) { f.listen_set = true; });
  app.add_option("--socket", f.socket, "Unix socket path (created 0600)")
      ->each([&](const std::string&) { f.socket_set = true; });
  app.add_option("--state-dir", f.state_dir, "State directory (token, address); env NAUTILUS_STATE_DIR");
  app.add_option("--log-format", f.log_format, "Log format")->check(CLI::IsMember({"auto", "text", "json"}));
  app.add_flag("--check-config", f.check_config, "Validate the config, print the result and exit");
  app.add_flag("--insecure-listen", f.insecure_listen,
               "Allow plain HTTP on a listener that is not loopback (default: refused without [security] tls_cert)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "nautilusd: " << e.what() << "\nRun with --help for more information.\n";
    return 2;
  }

  // 1. Config: file, then environment, then flags; every error at once.
  DaemonConfig cfg;
  std::string config_path = find_config_file(f.config);
  try {
    cfg = load_config(config_path, registry);
    apply_environment(cfg);
    apply_flags(cfg, f);
    auto more = validate_overrides(cfg);
    if (!more.empty()) throw ConfigError(more);
  } catch (const ConfigError& e) {
    std::cerr << "nautilusd: invalid configuration (" << e.errors().size() << " error"
              << (e.errors().size() == 1 ? "" : "s") << "):\n";
    for (const auto& line : e.errors()) std::cerr << "  " << line << "\n";
    return 2;
  }
  if (cfg.state_dir.empty()) cfg.state_dir = control::default_state_dir();
  if (f.check_config) {
    // A plugin that does not load fails the check; at start it only parks its engine.
    if (!cfg.plugin_errors.empty()) {
      std::cerr << "nautilusd: invalid configuration (" << cfg.plugin_errors.size() << " plugin"
                << (cfg.plugin_errors.size() == 1 ? "" : "s") << " not loaded):\n";
      for (const auto& line : cfg.plugin_errors) std::cerr << "  " << line << "\n";
      return 2;
    }
    std::cout << "nautilusd: configuration OK (" << cfg.source << "): " << cfg.engines.size() << " engine"
              << (cfg.engines.size() == 1 ? "" : "s") << "\n";
    return 0;
  }

  auto log = make_logger(cfg.log_format);
  log->set_level(spdlog::level::from_str(cfg.log_level));
  for (const auto& line : cfg.plugin_errors) log->error("{} (its engine stays in ERROR; the others run)", line);

  // Signals are taken synchronously by the main thread; block them before any
  // thread starts so none of those threads receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::int64_t started_ns = wall_now_ns();
  std::int64_t started_mono = monotonic_now_ns();
  try {
    control::ensure_state_dir(cfg.state_dir);
    std::string token = control::load_or_create_token(cfg.state_dir);

    Clock& clock = live_clock();
    auto router = Router::from_urls(cfg.marketdata_bus, cfg.engine_bus, &clock);
    EngineHost host(*router, clock, registry, cfg.supervisor);
    auto log_line = [log](std::string_view level, const std::string& line) {
      if (level == "error") log->error("{}", line);
      else if (level == "warn") log->warn("{}", line);
      else log->info("{}", line);
    };
    host.set_log_sink(log_line);
    for (const auto& spec : cfg.engines) host.add(spec);

    // History: the store opens (or fails, naming its file or server) before
    // anything listens; the recorder subscribes before the engines start so
    // their first status is kept too.
    std::unique_ptr<store::Store> history;
    std::unique_ptr<store::Recorder> recorder;
    if (cfg.recorder_enabled) {
      history = store::make_store(cfg.store_url, cfg.state_dir);
      recorder = std::make_unique<store::Recorder>(*history, cfg.recorder, log_line);
      log->info("history store {}: recording {} topic pattern(s), batches of {} or every {} ms", history->describe(),
                cfg.recorder.topics.size(), cfg.recorder.batch_size, cfg.recorder.flush_interval.count());
    }
    // The hub asks the store for history before any source; unlinked before
    // the store closes (the engines are stopped by then too).
    if (history_link && history) history_link->set(std::make_shared<StoreHistoryReader>(*history));
    struct Unlink {
      md::HistoryLink* link;
      ~Unlink() {
        if (link) link->set(nullptr);
      }
    } unlink{history_link.get()};

    control::ServerOptions so;
    so.token = token;
    control::AuthOptions auth_options;
    auth_options.admin_token = token;
    auth_options.jwt_key = control::load_or_create_jwt_key(cfg.state_dir);
    auth_options.state_dir = cfg.state_dir;
    control::apply_security(cfg.security, so, auth_options);
    auto authenticator = std::make_shared<control::Authenticator>(auth_options);
    so.auth = authenticator;
    so.log = log_line;
    so.clock = &clock;
    so.max_connections = cfg.max_connections;
    so.max_body_bytes = cfg.max_body_bytes;
    control::ControlServer server(so);
    std::vector<control::Endpoint> bound;
    if (!cfg.listen.empty()) bound.push_back(server.listen(control::parse_endpoint(cfg.listen)));
    if (!cfg.socket.empty()) bound.push_back(server.listen(control::parse_endpoint("unix:" + cfg.socket)));

    std::vector<std::string> urls;
    for (const auto& ep : bound) urls.push_back(ep.is_unix ? ep.to_string() : "http://" + ep.to_string());
    control::ApiContext api{*router, host, clock, nullptr, {}, false};
    // The listener is up (and the address file written) before the engines
    // start: `ready` tells a client when they all have been started.
    std::atomic<bool> engines_started{false};
    api.daemon_info = [&] {
      return nlohmann::json{{"name", "nautilusd"},
                            {"version", kVersion},
                            {"pid", ::getpid()},
                            {"started_ns", started_ns},
                            {"uptime_s", static_cast<double>(monotonic_now_ns() - started_mono) / 1e9},
                            {"listeners", urls},
                            {"state_dir", cfg.state_dir},
                            {"config", cfg.source},
                            {"ready", engines_started.load()},
                            {"buses", {{"marketdata", cfg.marketdata_bus}, {"engine", cfg.engine_bus}}}};
    };
    api.history = history.get();
    api.auth = authenticator.get();
    if (recorder) api.recorder_stats = [&recorder] { return store::to_json(recorder->stats()); };
    control::install_api_routes(server, api);
    // The daemons sharing this Redis (GET /api/v1/cluster, `nautilus cluster
    // status`); this one announces itself once its engines run.
    ClusterMembership cluster(cfg.engine_bus, [&] {
      nlohmann::json j = api.daemon_info();
      nlohmann::json engines = nlohmann::json::array();
      for (const auto& e : host.list()) {
        if (e.configured) engines.push_back({{"name", e.name}, {"kind", e.kind}, {"state", to_string(e.health.state)}});
      }
      j["engines"] = std::move(engines);
      return j;
    });
    install_cluster_route(server, cluster);
    control::install_websocket_routes(server, ws_link, authenticator);
    // The dashboard (GET /, /assets/...): public pages over the same listener.
    const std::string web_root = control::find_web_root(cfg.web_root);
    control::install_static_routes(server, web_root);
    if (web_root.empty()) log->warn("dashboard not found (scripts/build-web.sh, or [control] web_root): GET / answers 404");
    else log->info("dashboard served from {}", web_root);
    server.start();

    for (const auto& u : urls) {
      log->info("control API on {}", u);
      std::cout << "nautilusd: listening on " << u << std::endl;
    }
    // The address file is what `NAUTILUS_STATE_DIR=DIR nautilus ...` reads;
    // written last, so whoever sees it also sees the line above.
    control::write_state_file(cfg.state_dir, control::kAddressFile, urls.front());

    if (recorder) recorder->start(*router);
    auto failed = host.start_all();
    engines_started = true;
    cluster.start();
    std::string status = std::to_string(cfg.engines.size() - failed.size()) + "/" +
                         std::to_string(cfg.engines.size()) + " engines running";
    log->info("nautilusd {} ready ({}; config {})", kVersion, status, cfg.source);
    notify("READY=1\nSTATUS=" + status + "\nMAINPID=" + std::to_string(::getpid()));

    std::uint64_t watchdog_usec = 0;
    bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0;
    timespec wait{1, 0};
    if (watchdog) {
      std::uint64_t half = watchdog_usec / 2;
      wait = {static_cast<time_t>(half / 1'000'000), static_cast<long>((half % 1'000'000) * 1000)};
    }
    for (;;) {
      int sig = sigtimedwait(&signals, nullptr, &wait);
      if (sig == SIGTERM || sig == SIGINT) {
        log->info("{} received: draining and stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
      }
      if (sig == SIGHUP) {
        notify("RELOADING=1");
        try {
          DaemonConfig next = load_config(find_config_file(f.config), registry);
          apply_environment(next);
          apply_flags(next, f);
          auto more = validate_overrides(next);
          if (!more.empty()) throw ConfigError(more);
          for (const auto& line : next.plugin_errors) log->error("reload: {}", line);
          apply_reload(cfg, next, host, *log);
        } catch (const ConfigError& e) {
          log->error("reload rejected, keeping the running configuration ({} error{}):", e.errors().size(),
                     e.errors().size() == 1 ? "" : "s");
          for (const auto& line : e.errors()) log->error("  {}", line);
        } catch (const std::exception& e) {
          log->error("reload failed: {}", e.what());
        }
        notify("READY=1");
      }
      if (watchdog) notify("WATCHDOG=1");
    }

    // Shutdown: refuse new publishes, deliver what was accepted, stop engines
    // in reverse start order, deliver what they emitted, end streams, close.
    notify("STOPPING=1\nSTATUS=draining");
    auto drain = std::chrono::milliseconds(cfg.drain_timeout_ms);
    api.begin_drain();
    if (!router->drain(drain)) log->warn("drain timed out with messages in flight");
    cluster.stop();  // leaves the list at once rather than when its key expires
    host.stop_all();
    if (!router->drain(drain)) log->warn("drain timed out after stopping engines");
    if (recorder) recorder->stop(drain);  // what the engines said last is recorded too
    server.stop(std::chrono::milliseconds(3000));
    router->close();
    ::unlink((cfg.state_dir + "/" + control::kAddressFile).c_str());
    log->info("stopped");
    log->flush();
    return 0;
  } catch (const std::exception& e) {
    log->critical("{}", e.what());
    std::cerr << "nautilusd: " << e.what() << "\n";
    notify("STATUS=failed: " + std::string(e.what()));
    return 1;
  }
}

}  // namespace nautilus::daemon
