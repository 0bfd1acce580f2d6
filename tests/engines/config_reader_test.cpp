#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "engines/config_reader.h"

using nautilus::ConfigProblem;
using nautilus::ConfigReader;

namespace {

std::vector<std::string> texts(const std::vector<ConfigProblem>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.key + ": " + p.reason);
  return out;
}

}  // namespace

TEST_CASE("config reader: values, fallbacks and one problem per bad key", "[config]") {
  struct Case {
    const char* json;
    const char* problem;  // "" when the value is accepted
  };
  const Case cases[] = {
      {R"({"n": 5})", ""},
      {R"({"n": 0})", "n: must be between 1 and 10 (got 0)"},
      {R"({"n": 11})", "n: must be between 1 and 10 (got 11)"},
      {R"({"n": 2.5})", "n: must be an integer (got a number)"},
      {R"({"n": "5"})", "n: must be an integer (got a string)"},
      {R"({"n": 18446744073709551615})", "n: must be between 1 and 10"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    auto j = nlohmann::json::parse(c.json);
    ConfigReader r(j);
    auto v = r.integer("n", 3, 1, 10);
    r.finish();
    if (std::string(c.problem).empty()) {
      CHECK(r.ok());
      CHECK(v == 5);
    } else {
      REQUIRE(r.problems().size() == 1);
      CHECK_THAT(texts(r.problems())[0], Catch::StartsWith(c.problem));
      CHECK(v == 3);  // the fallback, never a half-read value
    }
  }
}

TEST_CASE("config reader: numbers, booleans, enums, strings, durations", "[config]") {
  auto j = nlohmann::json::parse(R"({"x": 1.5, "i": 2, "b": "yes", "e": "fast", "s": ["a", 1], "d": "250ms",
                                     "d2": "1h", "bad_d": "5 parsecs", "unused": 1})");
  ConfigReader r(j);
  CHECK(r.number("x", 0, 0, 2) == 1.5);
  CHECK(r.number("i", 0, 0, 5) == 2.0);  // an integer is a number
  CHECK(r.boolean("b", false) == false);
  CHECK(r.one_of("e", "slow", {"slow", "medium"}) == "slow");
  CHECK(r.strings("s", {"z"}) == std::vector<std::string>{"z"});
  CHECK(r.duration_ns("d", 0, 0, INT64_MAX) == 250'000'000);
  CHECK(r.duration_ns("d2", 0, 0, 60'000'000'000) == 0);
  CHECK(r.duration_ns("bad_d", 7, 0, INT64_MAX) == 7);
  CHECK(r.number("absent", 9.5, 0, 10) == 9.5);
  r.finish();
  auto t = texts(r.problems());
  REQUIRE(t.size() == 6);
  CHECK(t[0] == "b: must be true or false (got a string)");
  CHECK(t[1] == "e: must be one of slow, medium (got 'fast')");
  CHECK(t[2] == "s[1]: must be a string (got an integer)");
  CHECK_THAT(t[3], Catch::StartsWith("d2: must be between 0ms and 60000ms"));
  CHECK_THAT(t[4], Catch::StartsWith("bad_d: must be a duration"));
  CHECK_THAT(t[5], Catch::StartsWith("unused: unknown key"));
}

TEST_CASE("config reader: nested tables and arrays of tables report paths and unknown keys", "[config]") {
  auto j = nlohmann::json::parse(R"({"limits": {"max": 5, "typo": 1},
                                     "instances": [{"name": "a", "extra": true}, 7, {"name": 3}],
                                     "top_typo": 0})");
  ConfigReader r(j);
  ConfigReader limits = r.table("limits");
  CHECK(limits.integer("max", 0, 0, 10) == 5);
  auto instances = r.tables("instances");
  REQUIRE(instances.size() == 2);
  CHECK(instances[0].string("name", "") == "a");
  CHECK(instances[1].string("name", "dflt") == "dflt");
  r.finish();
  auto t = texts(r.problems());
  REQUIRE(t.size() == 5);
  CHECK(t[0] == "instances[1]: must be a table (got an integer)");
  CHECK(t[1] == "instances[2].name: must be a string (got an integer)");
  CHECK(t[2] == "limits.typo: unknown key (known: max)");
  CHECK(t[3] == "instances[0].extra: unknown key (known: name)");
  CHECK(t[4] == "top_typo: unknown key (known: instances, limits)");
  CHECK_THROWS_WITH(r.throw_if_problems(), Catch::Contains("limits.typo: unknown key"));
}

TEST_CASE("config reader: a section that is not a table, and durations parse exactly", "[config]") {
  auto j = nlohmann::json(5);
  ConfigReader r(j);
  CHECK(r.integer("n", 4, 0, 9) == 4);
  REQUIRE(r.problems().size() == 1);
  CHECK(r.problems()[0].key.empty());
  struct D {
    const char* text;
    std::int64_t ns;
  };
  for (const D& d : {D{"1ns", 1}, D{"3us", 3000}, D{"1s", 1'000'000'000}, D{"5m", 300'000'000'000},
                     D{"1d", 86'400'000'000'000}, D{"", -1}, D{"s", -1}, D{"1.5s", -1}, D{"10", -1},
                     D{"99999999999999999999s", -1}, D{"1S", -1}}) {
    CAPTURE(d.text);
    CHECK(ConfigReader::parse_duration_ns(d.text) == d.ns);
  }
}
