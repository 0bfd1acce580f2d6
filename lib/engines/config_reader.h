// Reads an engine's config section (the TOML table as JSON) and collects every
// problem at once: wrong types, out-of-range numbers, unknown enum values and,
// at finish(), keys nobody read. One parse function per engine then serves both
// `nautilusd --check-config` (Engine::config_problems) and on_start (which
// throws the same list), so the checked config and the running one never drift.
//
//   ConfigReader r(ctx.config);
//   cfg.interval_ns = r.integer("interval_ms", 1000, 10, 3'600'000) * 1'000'000;
//   r.finish();            // "bogus_key: unknown key (known: interval_ms)"
//   r.throw_if_problems();  // std::invalid_argument, every problem listed
//
// Keys are dotted paths inside the section ("symbols.AAPL.adv",
// "instances[0].kind"); the daemon turns them into file:line.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace nautilus {

struct ConfigProblem {
  std::string key;     // path inside the engine's section; "" for the section itself
  std::string reason;  // "must be between 10 and 3600000 (got 0)"
};

// "key: reason; key: reason" (the text of on_start's exception).
std::string join_problems(const std::vector<ConfigProblem>& problems);

class ConfigReader {
 public:
  // `section` is the engine's table; null reads as an empty table.
  explicit ConfigReader(const nlohmann::json& section);
  // The reader keeps a pointer to the section: a temporary would dangle.
  explicit ConfigReader(const nlohmann::json&& section) = delete;

  // Each returns the configured value, or `fallback` when the key is absent
  // or wrong (the problem is recorded).
  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  double number(std::string_view key, double fallback, double min, double max);
  bool boolean(std::string_view key, bool fallback);
  std::string string(std::string_view key, std::string fallback);
  std::string one_of(std::string_view key, std::string fallback, std::initializer_list<std::string_view> allowed);
  std::vector<std::string> strings(std::string_view key, std::vector<std::string> fallback);
  // One string or a list of them (topic patterns: `fills = "desk.fill.*"`).
  std::vector<std::string> string_or_strings(std::string_view key, std::vector<std::string> fallback);
  // A duration string ("250ms", "1s", "5m", "1h", "1d") as nanoseconds.
  std::int64_t duration_ns(std::string_view key, std::int64_t fallback_ns, std::int64_t min_ns, std::int64_t max_ns);

  bool has(std::string_view key) const;
  // Marks `key` as read without reading it (e.g. a key handled elsewhere).
  void accept(std::string_view key);
  // A reader on the sub-table `key` (an empty one when absent; a problem when
  // it is not a table). Its problems and unknown keys go to this reader's list.
  ConfigReader table(std::string_view key);
  // Readers on each table of the array `key` ([[section.key]]), keys "key[i]".
  std::vector<ConfigReader> tables(std::string_view key);
  // The raw value (null when absent), marked as read.
  const nlohmann::json& raw(std::string_view key);
  // The keys of this table, for tables keyed by user names (symbols.<SYM>).
  std::vector<std::string> keys() const;

  void problem(std::string_view key, std::string reason);
  // Records "unknown key" for every key of this table not read, and finishes
  // every child reader made from it.
  void finish();
  const std::vector<ConfigProblem>& problems() const { return *problems_; }
  bool ok() const { return problems_->empty(); }
  // Throws std::invalid_argument(join_problems(...)) when there are problems.
  void throw_if_problems() const;

  // "1s" -> 1e9; nullopt-like -1 on a malformed text. Shared with the CLI.
  static std::int64_t parse_duration_ns(std::string_view text);

 private:
  ConfigReader(const nlohmann::json* section, std::string prefix, std::shared_ptr<std::vector<ConfigProblem>> sink);
  std::string path(std::string_view key) const;
  const nlohmann::json* find(std::string_view key);

  const nlohmann::json* section_;
  std::string prefix_;
  std::shared_ptr<std::vector<ConfigProblem>> problems_;
  // Shared by the copies of a reader (table()/tables() hand out copies), so
  // what a copy reads or opens counts at finish().
  struct State {
    std::set<std::string, std::less<>> read;
    std::vector<ConfigReader> children;
    bool finished = false;
  };
  std::shared_ptr<State> state_;
};

}  // namespace nautilus
