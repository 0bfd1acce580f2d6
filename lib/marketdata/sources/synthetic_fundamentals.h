// Fundamentals for the synthetic market: a fixed universe of 121 symbols in
// the 11 GICS sectors (11 each, "EN01".."RE11"), and for every symbol its
// sector, shares outstanding and book value per share, drawn from the seed and
// the symbol alone (FNV-1a + splitmix, like the feed) so two runs, builds or
// platforms agree. A symbol outside the universe still gets fundamentals (its
// sector from the hash), so the feed's other symbols can be modelled too.
//
// Market cap is shares x the feed's price at the time asked, so size and
// book-to-price move with the synthetic market.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace nautilus::md {

struct SyntheticFundamental {
  std::string_view sector;         // GICS sector name, snake_case ("information_technology")
  double shares_outstanding = 0;   // 5e7 .. 5e9, log-uniform
  double book_value_per_share = 0;  // start price x book-to-price drawn in [0.1, 1.2]
};

std::span<const std::string> synthetic_universe();   // the 121 symbols, sector by sector
std::span<const std::string_view> synthetic_sectors();  // the 11 sector names

// `start_price` is the feed's price at its start (book value is anchored there).
SyntheticFundamental synthetic_fundamental(std::uint64_t seed, std::string_view symbol, double start_price);

// {"sector", "shares_outstanding", "book_value", "book_value_per_share",
//  "price", "market_cap", "book_to_price", "ts_ns"}
std::string fundamental_json(const SyntheticFundamental& f, double price, std::int64_t ts_ns);

}  // namespace nautilus::md
