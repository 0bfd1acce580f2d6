#include "config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "control/socket_io.h"
#include "engines/plugin_loader.h"

namespace nautilus::daemon {
namespace {

std::string join(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "\n") + e;
  return out;
}

nlohmann::json to_json(const toml::node& n) {
  if (auto t = n.as_table()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : *t) j[std::string(k.str())] = to_json(v);
    return j;
  }
  if (auto a = n.as_array()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& v : *a) j.push_back(to_json(v));
    return j;
  }
  if (auto s = n.as_string()) return s->get();
  if (auto i = n.as_integer()) return i->get();
  if (auto f = n.as_floating_point()) return f->get();
  if (auto b = n.as_boolean()) return b->get();
  std::ostringstream o;  // dates and times as text
  if (auto d = n.as_date()) o << *d;
  else if (auto t = n.as_time()) o << *t;
  else if (auto dt = n.as_date_time()) o << *dt;
  return o.str();
}

// Collects errors as "file:line: section.key: problem".
class Checker {
 public:
  explicit Checker(std::string file) : file_(std::move(file)) {}
  void error(const toml::node* n, const std::string& where, const std::string& what) {
    std::string loc = file_;
    if (n && n->source().begin) loc += ":" + std::to_string(n->source().begin.line);
    errors_.push_back(loc + ": " + where + ": " + what);
  }
  void unknown_keys(const toml::table& t, const std::string& section, const std::set<std::string>& known) {
    for (const auto& [k, v] : t) {
      if (!known.count(std::string(k.str()))) {
        std::string allowed;
        for (const auto& a : known) allowed += (allowed.empty() ? "" : ", ") + a;
        error(&v, section + "." + std::string(k.str()), "unknown key (known: " + allowed + ")");
      }
    }
  }
  template <class T>
  void get(const toml::table& t, const std::string& section, const char* key, T& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if constexpr (std::is_same_v<T, std::string>) {
      if (auto v = n->value<std::string>()) out = *v;
      else error(n, section + "." + key, "must be a string");
    } else if constexpr (std::is_same_v<T, bool>) {
      if (auto v = n->value<bool>()) out = *v;
      else error(n, section + "." + key, "must be true or false");
    } else {
      auto v = n->as_integer();
      if (!v) error(n, section + "." + key, "must be an integer");
      else if (v->get() < 0) error(n, section + "." + key, "must not be negative");
      else out = static_cast<T>(v->get());
    }
  }
  const toml::node* node(const toml::table& t, const char* key) { return t.get(key); }
  std::vector<std::string>& errors() { return errors_; }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

void check_bus_url(Checker& c, const toml::node* n, const std::string& where, const std::string& url) {
  if (url.empty() || url == "inproc" || url.starts_with("inproc://") || url.starts_with("redis://") ||
      url.starts_with("redis+cluster://")) {
    return;
  }
  c.error(n, where, "unknown bus URL '" + url + "' (expected inproc://, redis://host:port or redis+cluster://host:port,...)");
}

}  // namespace

// One 3-bar momentum instance over the hub's default streamed symbols, sized
// by notional so that BTCUSD and SPY carry the same risk.
static nlohmann::json default_strategy_config() {
  return {{"instances",
           nlohmann::json::array({{{"name", "momentum"},
                                   {"kind", "momentum"},
                                   {"symbols", {"AAPL", "MSFT", "SPY", "ES", "BTCUSD"}},
                                   {"interval", "1s"},
                                   {"params", {{"lookback", 3}}},
                                   {"sizing", {{"mode", "notional"}, {"notional", 10000}}}}})}};
}

std::vector<EngineSpec> default_engines(const EngineRegistry& registry) {
  // The embedded default: the hub streaming a handful of synthetic symbols and
  // the engines that read it, in dependency order (the start order).
  std::vector<EngineSpec> out;
  for (const char* kind : {"heartbeat", "marketdata", "features", "ml", "vpin", "risk", "portfolio", "strategy",
                           "analytics", "collateral", "factor", "websocket"}) {
    if (!registry.find(kind)) continue;
    EngineSpec spec;
    spec.name = spec.kind = kind;
    // Each engine's own defaults, so adding an empty [engines.vpin] changes
    // nothing; but a strategy engine without instances trades nothing, so the
    // embedded default trades the streamed symbols on paper (nautilusd(8)).
    if (spec.kind == "strategy") spec.config = default_strategy_config();
    // Daily by default, which shows nothing for a day: the embedded default
    // steps the factor model every 10 s on the synthetic universe (the first
    // step only takes prices, so factor returns come after 10 s).
    if (spec.kind == "factor") spec.config = {{"interval", "10s"}};
    // Likewise analytics samples equity every minute by default; every 5 s
    // gives `nautilus analytics report` returns within seconds of a start.
    if (spec.kind == "analytics") spec.config = {{"sample_interval", "5s"}};
    out.push_back(std::move(spec));
  }
  return out;
}

ConfigError::ConfigError(std::vector<std::string> errors) : std::runtime_error(join(errors)), errors_(std::move(errors)) {}

DaemonConfig load_config(const std::string& path, EngineRegistry& registry) {
  DaemonConfig cfg;
  if (path.empty()) {
    cfg.engines = default_engines(registry);
    Checker c("(built-in defaults)");
    for (const auto& spec : cfg.engines) {
      for (const auto& p : registry.create(spec.kind, spec.name)->config_problems(spec.config)) {
        c.error(nullptr, "engines." + spec.name + (p.key.empty() ? "" : "." + p.key), p.reason);
      }
    }
    if (!c.errors().empty()) throw ConfigError(std::move(c.errors()));
    return cfg;
  }
  cfg.source = path;
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::string line = e.source().begin ? ":" + std::to_string(e.source().begin.line) : "";
    throw ConfigError({path + line + ": " + std::string(e.description())});
  } catch (const std::exception& e) {
    throw ConfigError({path + ": " + e.what()});
  }
  Checker c(path);
  Checker plugins(path);  // plugins that did not load: cfg.plugin_errors
  c.unknown_keys(root, "(top level)", {"daemon", "bus", "control", "security", "supervisor", "engines", "store", "recorder"});
  auto section = [&](const char* name) -> const toml::table* {
    const toml::node* n = root.get(name);
    if (!n) return nullptr;
    if (!n->is_table()) {
      c.error(n, name, "must be a table ([" + std::string(name) + "])");
      return nullptr;
    }
    return n->as_table();
  };
  if (auto d = section("daemon")) {
    c.unknown_keys(*d, "daemon", {"listen", "socket", "state_dir", "log_format", "log_level", "drain_timeout_ms",
                                  "plugin_dir"});
    c.get(*d, "daemon", "plugin_dir", cfg.plugin_dir);
    c.get(*d, "daemon", "listen", cfg.listen);
    c.get(*d, "daemon", "socket", cfg.socket);
    c.get(*d, "daemon", "state_dir", cfg.state_dir);
    c.get(*d, "daemon", "log_format", cfg.log_format);
    c.get(*d, "daemon", "log_level", cfg.log_level);
    c.get(*d, "daemon", "drain_timeout_ms", cfg.drain_timeout_ms);
    if (!cfg.listen.empty()) {
      try {
        auto ep = control::parse_endpoint(cfg.listen);
        if (ep.is_unix) c.error(c.node(*d, "listen"), "daemon.listen", "must be HOST:PORT (use daemon.socket for a Unix socket)");
      } catch (const std::invalid_argument& e) {
        c.error(c.node(*d, "listen"), "daemon.listen", e.what());
      }
    }
    if (cfg.log_format != "auto" && cfg.log_format != "text" && cfg.log_format != "json") {
      c.error(c.node(*d, "log_format"), "daemon.log_format", "must be auto, text or json, not '" + cfg.log_format + "'");
    }
    static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (!kLevels.count(cfg.log_level)) {
      c.error(c.node(*d, "log_level"), "daemon.log_level", "must be one of trace, debug, info, warn, error, critical, off");
    }
  }
  if (auto b = section("bus")) {
    c.unknown_keys(*b, "bus", {"marketdata", "engine"});
    c.get(*b, "bus", "marketdata", cfg.marketdata_bus);
    c.get(*b, "bus", "engine", cfg.engine_bus);
    check_bus_url(c, c.node(*b, "marketdata"), "bus.marketdata", cfg.marketdata_bus);
    check_bus_url(c, c.node(*b, "engine"), "bus.engine", cfg.engine_bus);
  }
  if (auto k = section("control")) {
    c.unknown_keys(*k, "control", {"max_connections", "max_body_bytes", "web_root"});
    c.get(*k, "control", "max_connections", cfg.max_connections);
    c.get(*k, "control", "web_root", cfg.web_root);
    if (!cfg.web_root.empty() && (cfg.web_root.front() != '/' || !std::filesystem::is_regular_file(cfg.web_root + "/index.html"))) {
      c.error(c.node(*k, "web_root"), "control.web_root", "must be an absolute directory holding index.html (the built dashboard)");
    }
    c.get(*k, "control", "max_body_bytes", cfg.max_body_bytes);
    if (cfg.max_connections == 0) c.error(c.node(*k, "max_connections"), "control.max_connections", "must be at least 1");
  }
  if (auto sec = section("security")) {
    // Issue 22: owned by the control layer (lib/control/security_options.h).
    control::SecurityOptions& so = cfg.security;
    std::set<std::string> known = {"header_timeout_ms", "reserved_connections", "max_connections_per_peer",
                                   "anonymous_loopback", "tls_cert", "tls_key", "jwt_issuer", "jwt_audience"};
    for (control::RouteClass rc : control::kLimitedClasses) {
      known.insert("rate_" + std::string(control::to_string(rc)));
      known.insert("burst_" + std::string(control::to_string(rc)));
    }
    c.unknown_keys(*sec, "security", known);
    c.get(*sec, "security", "header_timeout_ms", so.header_timeout_ms);
    c.get(*sec, "security", "reserved_connections", so.reserved_connections);
    c.get(*sec, "security", "max_connections_per_peer", so.max_connections_per_peer);
    c.get(*sec, "security", "anonymous_loopback", so.anonymous_loopback);
    c.get(*sec, "security", "tls_cert", so.tls_cert);
    c.get(*sec, "security", "tls_key", so.tls_key);
    c.get(*sec, "security", "jwt_issuer", so.jwt_issuer);
    c.get(*sec, "security", "jwt_audience", so.jwt_audience);
    for (control::RouteClass rc : control::kLimitedClasses) {
      control::RateLimit& limit = so.rate_limits[static_cast<std::size_t>(rc)];
      std::int64_t rate = static_cast<std::int64_t>(limit.per_second), burst = static_cast<std::int64_t>(limit.burst);
      std::string rate_key = "rate_" + std::string(control::to_string(rc));
      std::string burst_key = "burst_" + std::string(control::to_string(rc));
      c.get(*sec, "security", rate_key.c_str(), rate);
      c.get(*sec, "security", burst_key.c_str(), burst);
      limit.per_second = static_cast<double>(rate);
      limit.burst = static_cast<double>(burst);
    }
    if (so.header_timeout_ms < 100) {
      c.error(c.node(*sec, "header_timeout_ms"), "security.header_timeout_ms", "must be at least 100");
    }
    if (so.max_connections_per_peer == 0) {
      c.error(c.node(*sec, "max_connections_per_peer"), "security.max_connections_per_peer", "must be at least 1");
    }
    if (so.anonymous_loopback != "none" && !control::parse_role(so.anonymous_loopback)) {
      c.error(c.node(*sec, "anonymous_loopback"), "security.anonymous_loopback", "must be viewer, operator, admin or none");
    }
    if (so.tls_cert.empty() != so.tls_key.empty()) {
      c.error(c.node(*sec, so.tls_cert.empty() ? "tls_key" : "tls_cert"), "security.tls_cert",
              "tls_cert and tls_key go together");
    }
  }
  if (auto st = section("store")) {
    c.unknown_keys(*st, "store", {"url", "retention_days"});
    c.get(*st, "store", "url", cfg.store_url);
    c.get(*st, "store", "retention_days", cfg.recorder.retention_days);
    const std::string& u = cfg.store_url;
    if (!u.empty() && !u.starts_with("sqlite:") && !u.starts_with("postgresql://") && !u.starts_with("postgres://")) {
      c.error(c.node(*st, "url"), "store.url", "unknown store URL (expected sqlite:PATH or postgresql://user@host:port/db)");
    }
  }
  if (auto r = section("recorder")) {
    c.unknown_keys(*r, "recorder", {"enabled", "topics", "trades", "quotes", "batch_size", "flush_interval_ms",
                                    "queue_capacity"});
    store::RecorderConfig& rc = cfg.recorder;
    bool trades = false, quotes = false;
    std::int64_t interval_ms = rc.flush_interval.count();
    c.get(*r, "recorder", "enabled", cfg.recorder_enabled);
    c.get(*r, "recorder", "trades", trades);
    c.get(*r, "recorder", "quotes", quotes);
    c.get(*r, "recorder", "batch_size", rc.batch_size);
    c.get(*r, "recorder", "flush_interval_ms", interval_ms);
    c.get(*r, "recorder", "queue_capacity", rc.queue_capacity);
    rc.flush_interval = std::chrono::milliseconds(interval_ms);
    if (const toml::node* n = c.node(*r, "topics")) {
      if (!n->is_array()) {
        c.error(n, "recorder.topics", "must be an array of topic patterns");
      } else {
        rc.topics.clear();
        std::size_t i = 0;
        for (const auto& v : *n->as_array()) {
          std::string where = "recorder.topics[" + std::to_string(i++) + "]";
          if (auto text = v.value<std::string>()) {
            try {
              rc.topics.push_back(store::parse_topic_selection(*text));
            } catch (const std::invalid_argument& e) {
              c.error(&v, where, e.what());
            }
          } else {
            c.error(&v, where, "must be a string (\"risk.*\" or \"engine:risk.*\")");
          }
        }
      }
    }
    if (trades) rc.topics.push_back({BusKind::kMarketData, "marketdata.real_time.trade.*"});
    if (quotes) rc.topics.push_back({BusKind::kMarketData, "marketdata.real_time.quote.*"});
    if (rc.batch_size < 1) c.error(c.node(*r, "batch_size"), "recorder.batch_size", "must be at least 1");
    if (interval_ms < 1) c.error(c.node(*r, "flush_interval_ms"), "recorder.flush_interval_ms", "must be at least 1");
    if (rc.queue_capacity < rc.batch_size) {
      c.error(c.node(*r, "queue_capacity"), "recorder.queue_capacity", "must be at least batch_size");
    }
  }
  if (auto s = section("supervisor")) {
    c.unknown_keys(*s, "supervisor", {"max_failures", "failure_window_ms", "max_restarts", "backoff_initial_ms",
                                      "backoff_max_ms", "stable_after_ms"});
    std::int64_t window = cfg.supervisor.failure_window_ns / 1'000'000, initial = cfg.supervisor.backoff_initial_ns / 1'000'000,
                 max = cfg.supervisor.backoff_max_ns / 1'000'000, stable = cfg.supervisor.stable_after_ns / 1'000'000;
    c.get(*s, "supervisor", "max_failures", cfg.supervisor.max_failures);
    c.get(*s, "supervisor", "max_restarts", cfg.supervisor.max_restarts);
    c.get(*s, "supervisor", "failure_window_ms", window);
    c.get(*s, "supervisor", "backoff_initial_ms", initial);
    c.get(*s, "supervisor", "backoff_max_ms", max);
    c.get(*s, "supervisor", "stable_after_ms", stable);
    cfg.supervisor.failure_window_ns = window * 1'000'000;
    cfg.supervisor.backoff_initial_ns = initial * 1'000'000;
    cfg.supervisor.backoff_max_ns = max * 1'000'000;
    cfg.supervisor.stable_after_ns = stable * 1'000'000;
    if (cfg.supervisor.max_failures < 1) c.error(c.node(*s, "max_failures"), "supervisor.max_failures", "must be at least 1");
    if (initial < 1) c.error(c.node(*s, "backoff_initial_ms"), "supervisor.backoff_initial_ms", "must be at least 1");
  }
  if (auto e = section("engines")) {
    // toml++ keeps a table's keys sorted; the start order is the file's order.
    std::vector<std::pair<std::string, const toml::node*>> sections;
    for (const auto& [k, v] : *e) sections.emplace_back(std::string(k.str()), &v);
    std::stable_sort(sections.begin(), sections.end(), [](const auto& a, const auto& b) {
      return a.second->source().begin.line < b.second->source().begin.line;
    });
    for (const auto& [name, v] : sections) {
      std::string where = "engines." + name;
      if (!v->is_table()) {
        c.error(v, where, "must be a table ([engines." + name + "])");
        continue;
      }
      const toml::table& t = *v->as_table();
      EngineSpec spec;
      spec.name = name;
      spec.kind = name;
      c.get(t, where, "kind", spec.kind);
      c.get(t, where, "autostart", spec.autostart);
      spec.config = to_json(t);
      spec.config.erase("kind");
      spec.config.erase("autostart");
      spec.config.erase("plugin");
      bool plugin_failed = false;
      if (const toml::node* pn = t.get("plugin")) {
        // The plugin's kind is registered before the section is checked by it.
        std::string plugin;
        if (auto text = pn->value<std::string>(); text && !text->empty()) {
          std::filesystem::path file(*text);
          if (file.is_relative()) {
            std::filesystem::path base = std::filesystem::path(path).parent_path();
            if (!cfg.plugin_dir.empty()) base = std::filesystem::path(cfg.plugin_dir).is_absolute() ? std::filesystem::path(cfg.plugin_dir) : base / cfg.plugin_dir;
            file = base / file;
          }
          plugin = file.lexically_normal().string();
          try {
            std::string kind = register_engine_plugin(registry, plugin);
            if (t.get("kind") && spec.kind != kind) {
              c.error(t.get("kind"), where + ".kind", "the plugin provides kind '" + kind + "', not '" + spec.kind + "'");
            }
            spec.kind = kind;
          } catch (const PluginError& failure) {
            // At start the daemon runs without this engine (listed in ERROR with
            // the reason); --check-config fails on it.
            plugin_failed = true;
            plugins.error(pn, where + ".plugin", failure.what());
            spec.kind = "plugin:" + plugin;
            if (!registry.find(spec.kind)) registry.add(unloaded_plugin_kind(spec.kind, failure.what()));
          }
        } else {
          c.error(pn, where + ".plugin", "must be the path of an engine plugin (a .so file)");
        }
      }
      if (plugin_failed) {
        // Its section can only be checked by the plugin that did not load.
      } else if (!registry.find(spec.kind)) {
        std::string known;
        for (const auto* kind : registry.list()) known += (known.empty() ? "" : ", ") + kind->name;
        c.error(t.get("kind") ? t.get("kind") : v, where + ".kind", "unknown engine kind '" + spec.kind + "' (known: " + known + ")");
      } else {
        // The engine checks its own section: unknown keys, types, ranges, enums.
        for (const auto& p : registry.create(spec.kind, spec.name)->config_problems(spec.config)) {
          toml::node_view<const toml::node> at = p.key.empty() ? toml::node_view<const toml::node>(v) : t.at_path(p.key);
          // A problem about a missing key points at the section header.
          for (std::string key = p.key; !at && !key.empty();) {
            auto cut = key.find_last_of(".[");
            key = cut == std::string::npos ? std::string() : key.substr(0, cut);
            at = key.empty() ? toml::node_view<const toml::node>(v) : t.at_path(key);
          }
          c.error(at.node(), p.key.empty() ? where : where + "." + p.key, p.reason);
        }
      }
      cfg.engines.push_back(std::move(spec));
    }
  }
  if (!c.errors().empty()) throw ConfigError(std::move(c.errors()));
  cfg.plugin_errors = std::move(plugins.errors());
  return cfg;
}

void apply_environment(DaemonConfig& cfg) {
  auto env = [](const char* name, std::string& out) {
    if (const char* v = std::getenv(name); v && *v) out = v;
  };
  env("NAUTILUS_STATE_DIR", cfg.state_dir);
  env("NAUTILUS_LISTEN", cfg.listen);
  env("NAUTILUS_SOCKET", cfg.socket);
  env("NAUTILUS_LOG_FORMAT", cfg.log_format);
  env("NAUTILUS_MARKETDATA_BUS", cfg.marketdata_bus);
  env("NAUTILUS_ENGINE_BUS", cfg.engine_bus);
  env("NAUTILUS_STORE", cfg.store_url);
}

}  // namespace nautilus::daemon
