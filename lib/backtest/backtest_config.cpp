#include "backtest/backtest_config.h"

#include <algorithm>
#include <set>

#include <toml++/toml.h>

#include "engines/config_reader.h"

namespace nautilus::backtest {
namespace {

// The engine kinds a backtest does not run: they face the outside world, and
// the replayed files take the hub's place.
const std::set<std::string, std::less<>> kNotReplayed = {"marketdata", "heartbeat", "websocket"};
// The daemon's own sections: accepted and ignored, so a daemon file works.
const std::set<std::string, std::less<>> kDaemonSections = {"daemon",  "bus",   "control",   "store",
                                                            "recorder", "supervisor", "logging"};
constexpr std::int64_t kSec = 1'000'000'000;

nlohmann::json to_json(const toml::node& n) {
  if (const auto* t = n.as_table()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : *t) j[std::string(k.str())] = to_json(v);
    return j;
  }
  if (const auto* a = n.as_array()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& v : *a) j.push_back(to_json(v));
    return j;
  }
  if (const auto* s = n.as_string()) return s->get();
  if (const auto* i = n.as_integer()) return i->get();
  if (const auto* f = n.as_floating_point()) return f->get();
  if (const auto* b = n.as_boolean()) return b->get();
  return n.is_date_time() || n.is_date() || n.is_time() ? nlohmann::json("(date)") : nlohmann::json(nullptr);
}

// "instances[0].params.fast" → the line of that node in the file, when it is there.
std::string where(const std::string& file, const toml::table* section, const std::string& key) {
  if (section) {
    toml::node_view<const toml::node> at = key.empty() ? toml::node_view<const toml::node>() : section->at_path(key);
    for (std::string k = key; !at && !k.empty();) {
      auto cut = k.find_last_of(".[");
      k = cut == std::string::npos ? std::string() : k.substr(0, cut);
      if (!k.empty()) at = section->at_path(k);
    }
    const auto& src = at ? at.node()->source() : section->source();
    if (src.begin.line > 0) return file + ":" + std::to_string(src.begin.line);
  }
  return file;
}

// The (dotted, possibly indexed) path `key` inside `j`, created as objects.
nlohmann::json& at_path(nlohmann::json& j, const std::string& key) {
  nlohmann::json* cur = &j;
  std::size_t pos = 0;
  while (pos <= key.size()) {
    std::size_t dot = key.find('.', pos);
    std::string part = key.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (part.empty()) throw std::invalid_argument("empty key part in '" + key + "'");
    std::size_t bracket = part.find('[');
    std::string name = part.substr(0, bracket);
    if (cur->is_null()) *cur = nlohmann::json::object();  // a table the file does not have yet
    if (!cur->is_object()) throw std::invalid_argument("'" + key + "': '" + name + "' is not inside a table");
    cur = &(*cur)[name];
    while (bracket != std::string::npos) {
      const std::size_t close = part.find(']', bracket);
      if (close == std::string::npos) throw std::invalid_argument("'" + key + "': missing ]");
      const std::size_t index = std::stoul(part.substr(bracket + 1, close - bracket - 1));
      if (!cur->is_array() || index >= cur->size()) {
        throw std::invalid_argument("'" + key + "': no element [" + std::to_string(index) + "]");
      }
      cur = &(*cur)[index];
      bracket = part.find('[', close);
    }
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return *cur;
}

BacktestSettings read_settings(const nlohmann::json& section, std::vector<ConfigProblem>& problems) {
  BacktestSettings s;
  ConfigReader r(section);
  s.bar_interval_ns = r.duration_ns("bar_interval", s.bar_interval_ns, kSec / 1000, 31 * 86'400 * kSec);
  s.sample_interval_ns = r.duration_ns("sample_interval", s.sample_interval_ns, kSec / 1000, 31 * 86'400 * kSec);
  s.periods_per_year = r.number("periods_per_year", 0.0, 0.0, 1e12);
  s.clock_step_ns = r.duration_ns("clock_step", s.clock_step_ns, kSec / 1000, 86'400 * kSec);
  s.seed = static_cast<std::uint64_t>(r.integer("seed", 1, 0, INT64_MAX));
  r.finish();
  problems = r.problems();
  if (s.periods_per_year == 0.0) {
    // 252 trading days of 6.5 hours, in samples; daily or coarser: 252 a year.
    const double per_day = 23'400.0 * static_cast<double>(kSec) / static_cast<double>(s.sample_interval_ns);
    s.periods_per_year = 252.0 * std::max(1.0, per_day);
  }
  return s;
}

}  // namespace

BacktestConfigError::BacktestConfigError(const std::vector<std::string>& errors)
    : std::runtime_error([&] {
        std::string out;
        for (const auto& e : errors) out += (out.empty() ? "" : "\n") + e;
        return out;
      }()) {}

void apply_override(nlohmann::json& root, const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw std::invalid_argument("override '" + text + "' is not engine.key=value");
  const std::string key = text.substr(0, eq), value_text = text.substr(eq + 1);
  nlohmann::json value = nlohmann::json::parse(value_text, nullptr, false);
  if (value.is_discarded()) value = value_text;
  const auto dot = key.find('.');
  if (dot == std::string::npos) throw std::invalid_argument("override '" + text + "' names no key inside an engine");
  const std::string engine = key.substr(0, dot), rest = key.substr(dot + 1);
  if (engine == "backtest") {
    at_path(root["backtest"], rest) = value;
    return;
  }
  nlohmann::json& section = root["engines"][engine];
  if (!section.is_object()) throw std::invalid_argument("override '" + text + "': no [engines." + engine + "] section");
  const std::string first = rest.substr(0, rest.find_first_of(".["));
  if (!section.contains(first) && section.contains("instances") && section["instances"].is_array() &&
      rest.find_first_of(".[") == std::string::npos) {
    // strategy.fast=10: the parameter of every instance.
    for (auto& inst : section["instances"]) inst["params"][rest] = value;
    return;
  }
  at_path(section, rest) = value;
}

BacktestConfig load_backtest_config(const std::string& path, const EngineRegistry& registry,
                                    const std::vector<std::string>& overrides) {
  BacktestConfig cfg;
  cfg.source = path;
  cfg.overrides = overrides;
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw BacktestConfigError({path + (src.begin.line > 0 ? ":" + std::to_string(src.begin.line) : "") + ": " +
                               std::string(e.description())});
  }
  nlohmann::json tree = to_json(root);
  std::vector<std::string> errors;
  for (const auto& o : overrides) {
    try {
      apply_override(tree, o);
    } catch (const std::exception& e) {
      errors.push_back(std::string("--param ") + e.what());
    }
  }
  for (const auto& [k, v] : root) {
    const std::string key(k.str());
    if (key != "engines" && key != "backtest" && kDaemonSections.count(key) == 0) {
      errors.push_back(where(path, root.get_as<toml::table>(key), "") + ": " + key +
                       ": unknown section (known: backtest, engines, and nautilusd's own, ignored)");
    }
  }
  std::vector<ConfigProblem> problems;
  cfg.settings = read_settings(tree.contains("backtest") ? tree["backtest"] : nlohmann::json::object(), problems);
  for (const auto& p : problems) {
    errors.push_back(where(path, root.get_as<toml::table>("backtest"), p.key) + ": backtest." + p.key + ": " + p.reason);
  }
  const toml::table* engines = root.get_as<toml::table>("engines");
  if (!engines) errors.push_back(path + ": no [engines.*] sections: nothing to backtest");
  if (engines) {
    // toml++ keeps keys sorted; the start order is the file's.
    std::vector<std::pair<std::string, const toml::node*>> sections;
    for (const auto& [k, v] : *engines) sections.emplace_back(std::string(k.str()), &v);
    std::stable_sort(sections.begin(), sections.end(), [](const auto& a, const auto& b) {
      return a.second->source().begin.line < b.second->source().begin.line;
    });
    for (const auto& [name, node] : sections) {
      const toml::table* t = node->as_table();
      if (!t) {
        errors.push_back(where(path, nullptr, "") + ": engines." + name + ": must be a table");
        continue;
      }
      EngineSpec spec;
      spec.name = name;
      spec.config = tree["engines"][name];
      spec.kind = spec.config.value("kind", name);
      spec.autostart = spec.config.value("autostart", true);
      spec.config.erase("kind");
      spec.config.erase("autostart");
      if (kNotReplayed.count(spec.kind) != 0) {
        cfg.skipped.push_back(name + " (" + spec.kind + ": the --data files take its place)");
        continue;
      }
      if (!spec.autostart) {
        cfg.skipped.push_back(name + " (autostart = false)");
        continue;
      }
      if (!registry.find(spec.kind)) {
        std::string known;
        for (const auto* kind : registry.list()) known += (known.empty() ? "" : ", ") + kind->name;
        errors.push_back(where(path, t, "kind") + ": engines." + name + ".kind: unknown engine kind '" + spec.kind +
                         "' (known: " + known + ")");
        continue;
      }
      for (const auto& p : registry.create(spec.kind, spec.name)->config_problems(spec.config)) {
        errors.push_back(where(path, t, p.key) + ": engines." + name + (p.key.empty() ? "" : "." + p.key) + ": " +
                         p.reason);
      }
      cfg.engines.push_back(std::move(spec));
    }
  }
  if (!errors.empty()) throw BacktestConfigError(errors);
  return cfg;
}

}  // namespace nautilus::backtest
