#include "engines/config_reader.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace nautilus {
namespace {

const nlohmann::json& empty_object() {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  return kEmpty;
}

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string range_text(double min, double max) {
  return "between " + format_number(min) + " and " + format_number(max);
}

std::string kind_of(const nlohmann::json& j) {
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
  if (j.is_number_float()) return "a number";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "a table";
  return "null";
}

}  // namespace

std::string join_problems(const std::vector<ConfigProblem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty()) out += "; ";
    out += p.key.empty() ? p.reason : p.key + ": " + p.reason;
  }
  return out;
}

ConfigReader::ConfigReader(const nlohmann::json& section)
    : ConfigReader(&section, {}, std::make_shared<std::vector<ConfigProblem>>()) {
  if (!section.is_null() && !section.is_object()) problem("", "must be a table");
}

ConfigReader::ConfigReader(const nlohmann::json* section, std::string prefix,
                           std::shared_ptr<std::vector<ConfigProblem>> sink)
    : section_(section && section->is_object() ? section : &empty_object()),
      prefix_(std::move(prefix)),
      problems_(std::move(sink)),
      state_(std::make_shared<State>()) {}

std::string ConfigReader::path(std::string_view key) const {
  if (prefix_.empty()) return std::string(key);
  if (key.empty()) return prefix_;
  return prefix_ + "." + std::string(key);
}

const nlohmann::json* ConfigReader::find(std::string_view key) {
  state_->read.emplace(key);
  auto it = section_->find(key);
  return it == section_->end() ? nullptr : &*it;
}

void ConfigReader::problem(std::string_view key, std::string reason) {
  problems_->push_back({path(key), std::move(reason)});
}

bool ConfigReader::has(std::string_view key) const { return section_->contains(key); }

void ConfigReader::accept(std::string_view key) { state_->read.emplace(key); }

std::int64_t ConfigReader::integer(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_number_integer() && !v->is_number_unsigned()) {
    problem(key, "must be an integer (got " + kind_of(*v) + ")");
    return fallback;
  }
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    problem(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " +
                     std::to_string(v->get<std::uint64_t>()) + ")");
    return fallback;
  }
  std::int64_t x = v->get<std::int64_t>();
  if (x < min || x > max) {
    problem(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " +
                     std::to_string(x) + ")");
    return fallback;
  }
  return x;
}

double ConfigReader::number(std::string_view key, double fallback, double min, double max) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) {
    problem(key, "must be a number (got " + kind_of(*v) + ")");
    return fallback;
  }
  double x = v->get<double>();
  if (!std::isfinite(x) || x < min || x > max) {
    problem(key, "must be " + range_text(min, max) + " (got " + format_number(x) + ")");
    return fallback;
  }
  return x;
}

bool ConfigReader::boolean(std::string_view key, bool fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) {
    problem(key, "must be true or false (got " + kind_of(*v) + ")");
    return fallback;
  }
  return v->get<bool>();
}

std::string ConfigReader::string(std::string_view key, std::string fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) {
    problem(key, "must be a string (got " + kind_of(*v) + ")");
    return fallback;
  }
  return v->get<std::string>();
}

std::string ConfigReader::one_of(std::string_view key, std::string fallback,
                                 std::initializer_list<std::string_view> allowed) {
  if (!has(key)) {
    accept(key);
    return fallback;
  }
  std::string v = string(key, "\x01");
  if (v == "\x01") return fallback;  // the type problem is recorded
  for (auto a : allowed) {
    if (a == v) return v;
  }
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  problem(key, "must be one of " + list + " (got '" + v + "')");
  return fallback;
}

std::vector<std::string> ConfigReader::string_or_strings(std::string_view key, std::vector<std::string> fallback) {
  if (has(key) && raw(key).is_string()) return {string(key, {})};
  return strings(key, std::move(fallback));
}

std::vector<std::string> ConfigReader::strings(std::string_view key, std::vector<std::string> fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) {
    problem(key, "must be an array of strings (got " + kind_of(*v) + ")");
    return fallback;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const auto& e = (*v)[i];
    if (!e.is_string()) {
      problem(std::string(key) + "[" + std::to_string(i) + "]", "must be a string (got " + kind_of(e) + ")");
      return fallback;
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::int64_t ConfigReader::parse_duration_ns(std::string_view text) {
  std::size_t i = 0;
  std::int64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (n > 1'000'000'000'000LL) return -1;
    n = n * 10 + (text[i] - '0');
    ++i;
  }
  if (i == 0) return -1;
  std::string_view unit = text.substr(i);
  std::int64_t scale = 0;
  if (unit == "ns") scale = 1;
  else if (unit == "us") scale = 1'000;
  else if (unit == "ms") scale = 1'000'000;
  else if (unit == "s") scale = 1'000'000'000;
  else if (unit == "m") scale = 60'000'000'000;
  else if (unit == "h") scale = 3'600'000'000'000;
  else if (unit == "d") scale = 86'400'000'000'000;
  else return -1;
  if (n > INT64_MAX / scale) return -1;
  return n * scale;
}

std::int64_t ConfigReader::duration_ns(std::string_view key, std::int64_t fallback_ns, std::int64_t min_ns,
                                       std::int64_t max_ns) {
  if (!has(key)) {
    accept(key);
    return fallback_ns;
  }
  std::string text = string(key, "\x01");
  if (text == "\x01") return fallback_ns;
  std::int64_t ns = parse_duration_ns(text);
  if (ns < 0) {
    problem(key, "must be a duration like 250ms, 1s, 5m, 1h or 1d (got '" + text + "')");
    return fallback_ns;
  }
  if (ns < min_ns || ns > max_ns) {
    problem(key, "must be between " + std::to_string(min_ns / 1'000'000) + "ms and " +
                     std::to_string(max_ns / 1'000'000) + "ms (got '" + text + "')");
    return fallback_ns;
  }
  return ns;
}

ConfigReader ConfigReader::table(std::string_view key) {
  const nlohmann::json* v = find(key);
  if (v && !v->is_object()) problem(key, "must be a table (got " + kind_of(*v) + ")");
  ConfigReader child(v, path(key), problems_);
  state_->children.push_back(child);
  return child;
}

std::vector<ConfigReader> ConfigReader::tables(std::string_view key) {
  std::vector<ConfigReader> out;
  const nlohmann::json* v = find(key);
  if (!v) return out;
  if (!v->is_array()) {
    problem(key, "must be an array of tables ([[" + path(key) + "]], got " + kind_of(*v) + ")");
    return out;
  }
  for (std::size_t i = 0; i < v->size(); ++i) {
    const auto& e = (*v)[i];
    std::string p = path(key) + "[" + std::to_string(i) + "]";
    if (!e.is_object()) {
      problems_->push_back({p, "must be a table (got " + kind_of(e) + ")"});
      continue;
    }
    ConfigReader child(&e, p, problems_);
    state_->children.push_back(child);
    out.push_back(child);
  }
  return out;
}

const nlohmann::json& ConfigReader::raw(std::string_view key) {
  static const nlohmann::json kNull;
  const nlohmann::json* v = find(key);
  return v ? *v : kNull;
}

std::vector<std::string> ConfigReader::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : section_->items()) out.push_back(k);
  return out;
}

void ConfigReader::finish() {
  if (state_->finished) return;
  state_->finished = true;
  for (auto& c : state_->children) c.finish();
  std::string known;
  for (const auto& k : state_->read) known += (known.empty() ? "" : ", ") + k;
  for (const auto& [k, v] : section_->items()) {
    if (!state_->read.count(k)) problem(k, known.empty() ? "unknown key" : "unknown key (known: " + known + ")");
  }
}

void ConfigReader::throw_if_problems() const {
  if (!problems_->empty()) throw std::invalid_argument(join_problems(*problems_));
}

}  // namespace nautilus
