// The allocation-free JSON syntax check against nlohmann's parser (the
// reference the DOM decoders use): a table of edge cases, then seeded
// mutations of valid documents. libFuzzer runs the same comparison.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "core/json_syntax.h"
#include "support/mutate.h"

using nautilus::check_json_syntax;

namespace {
bool reference(const std::string& s) { return nlohmann::json::accept(s); }
}  // namespace

TEST_CASE("json syntax: edge cases agree with the reference parser", "[core][json]") {
  const char* cases[] = {
      "{}", "[]", "0", "-0", "1.5e3", "-1.5E-3", "1e+2", "\"x\"", "true", "false", "null", " {\"a\" : [1, 2, {}]} ",
      "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}", "\"\\u00e9\\n\\t\\\"\\\\\\/\\b\\f\\r\"",
      "\"\\ud83d\\ude00\"", "\"\xc3\xa9\"", "\"\xf0\x9f\x98\x80\"", "\xEF\xBB\xBF{}",
      // refused
      "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\"}", "{\"a\":}", "{1:2}", "[1 2]", "01", "-", "1.", ".5", "1e",
      "1e+", "+1", "tru", "nul", "True", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud83d\"", "\"\\ude00\"",
      "\"\\ud83d\\u0041\"", "\"\x01\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xff\"",
      "\"\xe2\x82\"", "{} {}", "[]]", "1e999", "-1e400", "1e-999", "\xEF\xBB{}", "NaN", "Infinity",
      "[\"a\",]", "{\"a\":1 \"b\":2}", "{\"a\"::1}", "[,1]", "\"\t\"",
  };
  for (const char* c : cases) {
    std::string s(c);
    INFO("input: " << s);
    CHECK(check_json_syntax(s, 64).ok == reference(s));
  }
  std::string long_int(400, '9');
  CHECK(check_json_syntax(long_int, 64).ok == reference(long_int));
  std::string long_frac = "0." + std::string(600, '1') + "e5";
  CHECK(check_json_syntax(long_frac, 64).ok == reference(long_frac));
  std::string long_big = std::string(600, '1') + "e5";
  CHECK(check_json_syntax(long_big, 64).ok == reference(long_big));
}

TEST_CASE("json syntax: depth bound and error position", "[core][json]") {
  std::string deep = std::string(65, '[') + std::string(65, ']');
  auto r = check_json_syntax(deep, 64);
  CHECK_FALSE(r.ok);
  CHECK(r.too_deep);
  CHECK(check_json_syntax(std::string(64, '[') + std::string(64, ']'), 64).ok);
  auto bad = check_json_syntax("{\"a\":tru}", 64);
  CHECK_FALSE(bad.ok);
  CHECK_FALSE(bad.too_deep);
  CHECK(bad.error_pos == 8);
  // Stricter than nlohmann, which stops reading at a NUL byte.
  CHECK_FALSE(check_json_syntax(std::string("0\n\0junk", 8), 64).ok);
}

TEST_CASE("json syntax: seeded mutations agree with the reference parser", "[core][json]") {
  const std::string seeds[] = {
      R"({"px":101.5,"size":200,"side":"B","tags":["a","b"],"nested":{"x":[1,2,{"y":null}]},"ok":true})",
      R"([1,-2.5e-3,"\u00e9\ud83d\ude00",{"k":"v\n"},[],{}])",
      "{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
  };
  const char alphabet[] = "{}[],:\"\\-+.eE0123456789 tfnulrsaxd\t\n\x80\xc3\xa9\xed\xf0";
  std::mt19937 rng(20261122);
  int disagreements = 0;
  for (int i = 0; i < 60000; ++i) {
    const std::string s = nautilus::testing::mutate(seeds[i % 3], rng, {alphabet, sizeof alphabet - 1});
    if (check_json_syntax(s, 64).ok != reference(s)) {
      ++disagreements;
      UNSCOPED_INFO("disagree on: " << s);
    }
  }
  CHECK(disagreements == 0);
}
