// The allocation-free field reader against nlohmann's parser (what the slow
// path and every other engine use): a table of cases, then seeded mutations
// of trade-like payloads. libFuzzer runs the same comparison.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <random>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/json_fields.h"
#include "support/mutate.h"
#include "support/json_fields_reference.h"

using nautilus::JsonField;
using nautilus::JsonFieldsResult;
using nautilus::read_json_fields;

namespace {
using nautilus::testing::kJsonFieldKeys;
std::string compare_with_reference(const std::string& text) { return nautilus::testing::compare_json_fields_with_nlohmann(text); }
}  // namespace

TEST_CASE("json fields: cases agree with nlohmann", "[core][json]") {
  const char* cases[] = {
      R"({"symbol":"AAPL","price":101.25,"size":200,"ts_ns":1764547200000000000})",
      R"({"price":1,"price":2})",                       // the last one wins
      R"({"symbol":"A\"B","price":"x","size":null})",   // escaped string, a string price, null
      R"({"symbol":"A\\","size":[1,{"price":3}],"price":-0})",  // nested "price" is not the field
      R"({"ts_ns":18446744073709551615,"size":-9223372036854775808,"price":1e308})",
      R"({"ts_ns":18446744073709551616,"size":-9223372036854775809})",  // beyond (u)int64: doubles
      R"({"price":1.0,"size":1E2,"ts_ns":-1,"side":true})",
      R"(  {"nested":{"a":{"b":[[],{}]}},"symbol":"X"}  )",
      "\xEF\xBB\xBF{\"price\":5}",
      R"({"pr\u0069ce":7})",  // an escaped key: left to nlohmann
      R"({})", R"([])", R"(3)", R"("s")", R"(null)",
      R"({"price":})", R"({"price":1,})", R"({"price":01})", "", "{", "{\"price\":1}x",
      "{\"price\":1\x00}",
  };
  for (const char* text : cases) {
    std::string s(text);
    if (s == "{\"price\":1") s.push_back('\0');
    INFO(s);
    CHECK(compare_with_reference(s).empty());
  }
  // A plain trade is read on the fast path, with the values meant.
  std::array<JsonField, kJsonFieldKeys.size()> f;
  REQUIRE(read_json_fields(R"({"symbol":"AAPL","price":101.25,"size":200,"ts_ns":17})", kJsonFieldKeys, f) == JsonFieldsResult::kOk);
  CHECK(f[0].text == "AAPL");
  CHECK(f[1].number == 101.25);
  CHECK(f[2].integer);
  CHECK(f[3].as_int64 == 17);
  CHECK(f[4].kind == JsonField::Kind::kMissing);
  CHECK(read_json_fields(R"({"pr\u0069ce":7})", kJsonFieldKeys, f) == JsonFieldsResult::kUnsupported);
  CHECK(read_json_fields("{\"price\":", kJsonFieldKeys, f) == JsonFieldsResult::kInvalid);
  CHECK(read_json_fields("[1]", kJsonFieldKeys, f) == JsonFieldsResult::kNotObject);
}

TEST_CASE("json fields: seeded mutations agree with nlohmann", "[core][json]") {
  const std::string seeds[] = {
      R"({"symbol":"FC01","price":100.25,"size":12.5,"ts_ns":1764547200000000000,"side":"buy"})",
      R"({"ts_ns":-5,"extra":{"price":[1,2,"x\"y"]},"symbol":"A\\B","price":3e-2,"size":0})",
      R"({"size":"7","price":null,"symbol":true,"side":{"k":[]},"price":18446744073709551615})",
  };
  const char alphabet[] = "{}[],:\"\\-+.eE0123456789 tfnulrsaxd\t\n\xc3\xa9";
  std::mt19937 rng(20261201);
  int disagreements = 0;
  for (int i = 0; i < 60000; ++i) {
    const std::string s = nautilus::testing::mutate(seeds[i % 3], rng, {alphabet, sizeof alphabet - 1});
    if (const std::string why = compare_with_reference(s); !why.empty()) {
      ++disagreements;
      UNSCOPED_INFO(why << " on: " << s);
    }
  }
  CHECK(disagreements == 0);
}
