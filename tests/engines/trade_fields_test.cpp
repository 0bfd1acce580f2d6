// The trade fields every trade-reading engine uses, on the fast path and on
// the nlohmann path it falls back to: one table, both paths, same answers.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "engines/trade_fields.h"

using nautilus::read_trade_fields;
using nautilus::TradeFields;

TEST_CASE("trade fields: price, the first present size, market time and symbol", "[engines][trade]") {
  struct Case {
    const char* payload;
    bool object;
    std::optional<double> price, size;
    std::optional<std::int64_t> ts;
    const char* symbol;
  };
  const Case cases[] = {
      {R"({"symbol":"AAPL","price":101.5,"size":200,"ts_ns":17})", true, 101.5, 200.0, 17, "AAPL"},
      {R"({"price":1,"quantity":3,"timestamp_ns":5})", true, 1.0, 3.0, 5, ""},
      {R"({"price":1,"volume":4})", true, 1.0, 4.0, std::nullopt, ""},
      // The first present of size/quantity/volume decides, even when not a number.
      {R"({"price":1,"size":"7","quantity":3})", true, 1.0, std::nullopt, std::nullopt, ""},
      // ts_ns not an integer: timestamp_ns is used.
      {R"({"price":1,"size":1,"ts_ns":1.5,"timestamp_ns":9})", true, 1.0, 1.0, 9, ""},
      {R"({"price":"x","size":1,"symbol":""})", true, std::nullopt, 1.0, std::nullopt, ""},
      // Declined by the fast reader, answered by nlohmann with the same rules.
      {R"({"symbol":"A\u0042C","price":2,"size":3})", true, 2.0, 3.0, std::nullopt, "ABC"},
      {R"({"pr\u0069ce":2,"size":3,"ts_ns":4})", true, 2.0, 3.0, 4, ""},
      {R"([1,2])", false, std::nullopt, std::nullopt, std::nullopt, ""},
      {R"({"price":)", false, std::nullopt, std::nullopt, std::nullopt, ""},
  };
  for (const Case& c : cases) {
    INFO(c.payload);
    TradeFields f;
    f.price = -1.0;  // reset by the call
    REQUIRE(read_trade_fields(c.payload, f) == c.object);
    if (!c.object) continue;
    CHECK(f.price == c.price);
    CHECK(f.size == c.size);
    CHECK(f.ts_ns == c.ts);
    CHECK(std::string(f.symbol) == c.symbol);
  }
}
