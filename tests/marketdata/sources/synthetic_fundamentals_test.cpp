// The synthetic source's fundamentals: a deterministic universe of 121 symbols
// in the 11 GICS sectors, market cap = shares x the feed's price.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "marketdata/sources/synthetic_fundamentals.h"
#include "marketdata/sources/synthetic_source.h"

using namespace nautilus::md;

TEST_CASE("synthetic fundamentals: 121 symbols, 11 sectors of 11, deterministic", "[marketdata][synthetic]") {
  const auto universe = synthetic_universe();
  REQUIRE(universe.size() == 121);
  std::map<std::string, int> per_sector;
  std::set<std::string> symbols;
  for (const auto& s : universe) {
    REQUIRE(valid_symbol(s));
    symbols.insert(s);
    const auto f = synthetic_fundamental(42, s, 100.0);
    ++per_sector[std::string(f.sector)];
    CHECK(f.shares_outstanding >= 5e7);
    CHECK(f.shares_outstanding <= 5e9);
    CHECK(f.book_value_per_share >= 10.0);   // 0.1 x the start price
    CHECK(f.book_value_per_share <= 120.0);  // 1.2 x
    const auto again = synthetic_fundamental(42, s, 100.0);
    CHECK(again.shares_outstanding == f.shares_outstanding);
    CHECK(again.book_value_per_share == f.book_value_per_share);
  }
  CHECK(symbols.size() == 121);
  REQUIRE(per_sector.size() == 11);
  for (const auto& [sector, n] : per_sector) CHECK(n == 11);
  CHECK(synthetic_fundamental(42, "IT03", 100.0).sector == "information_technology");
  CHECK(synthetic_fundamental(7, "IT03", 100.0).shares_outstanding !=
        synthetic_fundamental(42, "IT03", 100.0).shares_outstanding);
}

TEST_CASE("synthetic source: serves fundamental data at the feed's price", "[marketdata][synthetic]") {
  SyntheticSourceConfig c;
  SyntheticSource source(c);
  REQUIRE(source.info().supports(DataType::kFundamental));
  const std::int64_t t = 3'600'000'000'000;
  auto r = source.fetch("FN04", DataType::kFundamental, t);
  REQUIRE(r.ok());
  auto j = nlohmann::json::parse(r.data->payload);
  CHECK(j["sector"] == "financials");
  const double price = source.feed().price_at("FN04", t);
  CHECK(j["price"].get<double>() == price);
  CHECK(j["market_cap"].get<double>() == Approx(j["shares_outstanding"].get<double>() * price));
  CHECK(j["book_to_price"].get<double>() ==
        Approx(j["book_value"].get<double>() / j["market_cap"].get<double>()));
  // Book value is anchored at the start: it does not move with the price.
  auto later = nlohmann::json::parse(source.fetch("FN04", DataType::kFundamental, 2 * t).data->payload);
  CHECK(later["book_value"].get<double>() == j["book_value"].get<double>());
}
