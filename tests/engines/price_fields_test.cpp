// The quote, trade and bar prices risk and the portfolio read on every market
// data message, on the fast path and on the nlohmann path it falls back to:
// a table of the values meant, then every case and seeded mutations of quote-,
// trade- and bar-like payloads against the nlohmann oracle the fuzzer uses.
#include <catch2/catch.hpp>

#include <optional>
#include <random>
#include <string>

#include "engines/trade_fields.h"
#include "support/mutate.h"
#include "support/price_fields_reference.h"

using nautilus::PriceFields;
using nautilus::read_price_fields;
using nautilus::testing::compare_price_fields_with_nlohmann;

namespace {
using Opt = std::optional<double>;
constexpr Opt kNone = std::nullopt;
}  // namespace

TEST_CASE("price fields: bid, ask, price, close, ts_ns and the symbol", "[engines][trade]") {
  struct Case {
    const char* payload;
    bool object;
    Opt bid, ask, price, close;
    std::optional<std::int64_t> ts;
    std::optional<std::string> symbol;
  };
  const Case cases[] = {
      {R"({"symbol":"BG3","bid":100.01,"ask":100.03})", true, 100.01, 100.03, kNone, kNone, std::nullopt, "BG3"},
      {R"({"symbol":"FC01","price":99.5,"size":10,"ts_ns":17})", true, kNone, kNone, 99.5, kNone, 17, "FC01"},
      {R"({"open":1,"high":2,"low":0.5,"close":1.5,"start_ns":3})", true, kNone, kNone, kNone, 1.5, std::nullopt,
       std::nullopt},
      // An empty symbol is a string: each engine decides what it means.
      {R"({"symbol":"","price":1})", true, kNone, kNone, 1.0, kNone, std::nullopt, ""},
      // Not a number: absent.
      {R"({"bid":"1","ask":null,"price":true,"close":[1]})", true, kNone, kNone, kNone, kNone, std::nullopt,
       std::nullopt},
      // Beyond a double: nlohmann refuses the whole text, and so does the reader.
      {R"({"bid":1e400,"ask":2})", false, kNone, kNone, kNone, kNone, std::nullopt, std::nullopt},
      {R"({"symbol":7,"price":-0.0,"ts_ns":1.5})", true, kNone, kNone, -0.0, kNone, std::nullopt, std::nullopt},
      // Declined by the fast reader, answered by nlohmann with the same rules.
      {R"({"symbol":"A\u0042C","bid":2,"ask":3})", true, 2.0, 3.0, kNone, kNone, std::nullopt, "ABC"},
      {R"({"b\u0069d":2,"ask":3,"ts_ns":4})", true, 2.0, 3.0, kNone, kNone, 4, std::nullopt},
      {R"({"price":1,"price":2})", true, kNone, kNone, 2.0, kNone, std::nullopt, std::nullopt},  // the last wins
      {R"([1,2])", false, kNone, kNone, kNone, kNone, std::nullopt, std::nullopt},
      {R"({"bid":)", false, kNone, kNone, kNone, kNone, std::nullopt, std::nullopt},
      {"", false, kNone, kNone, kNone, kNone, std::nullopt, std::nullopt},
  };
  for (const Case& c : cases) {
    INFO(c.payload);
    PriceFields f;
    f.close = 5.0;  // reset by the call
    REQUIRE(read_price_fields(c.payload, f) == c.object);
    CHECK(compare_price_fields_with_nlohmann(c.payload).empty());
    if (!c.object) continue;
    CHECK(f.bid == c.bid);
    CHECK(f.ask == c.ask);
    CHECK(f.price == c.price);
    CHECK(f.close == c.close);
    CHECK(f.ts_ns == c.ts);
    REQUIRE(f.symbol.has_value() == c.symbol.has_value());
    if (c.symbol) CHECK(std::string(*f.symbol) == *c.symbol);
  }
}

TEST_CASE("price fields: seeded mutations agree with nlohmann", "[engines][trade]") {
  const std::string seeds[] = {
      R"({"p":2,"s":17,"symbol":"BG3","bid":100.01,"ask":100.03})",
      R"({"symbol":"FC01","price":100.25,"size":12.5,"side":"S","ts_ns":1764547200000000000})",
      R"({"symbol":"A\\B","open":1,"high":2e0,"low":-0,"close":1.5E-3,"volume":9,"start_ns":18446744073709551615})",
  };
  const char alphabet[] = "{}[],:\"\\-+.eE0123456789 tfnulrsaxdbkcoi\t\n\xc3\xa9";
  std::mt19937 rng(20261202);
  int disagreements = 0;
  for (int i = 0; i < 60000; ++i) {
    const std::string s = nautilus::testing::mutate(seeds[i % 3], rng, {alphabet, sizeof alphabet - 1});
    if (const std::string why = compare_price_fields_with_nlohmann(s); !why.empty()) {
      ++disagreements;
      UNSCOPED_INFO(why << " on: " << s);
    }
  }
  CHECK(disagreements == 0);
}
