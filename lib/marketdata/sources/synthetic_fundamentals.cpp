#include "marketdata/sources/synthetic_fundamentals.h"

#include <array>
#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "marketdata/sources/synthetic_feed.h"

namespace nautilus::md {
namespace {

constexpr std::array<std::string_view, 11> kSectors = {
    "energy",      "materials",  "industrials",            "consumer_discretionary", "consumer_staples", "health_care",
    "financials", "information_technology", "communication_services", "utilities",  "real_estate"};
constexpr std::array<std::string_view, 11> kPrefixes = {"EN", "MA", "IN", "CD", "CS", "HC",
                                                        "FN", "IT", "CM", "UT", "RE"};
constexpr int kPerSector = 11;

double unit(std::uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }  // [0,1)

std::vector<std::string> make_universe() {
  std::vector<std::string> out;
  for (std::string_view prefix : kPrefixes) {
    for (int i = 1; i <= kPerSector; ++i) {
      out.push_back(std::string(prefix) + (i < 10 ? "0" : "") + std::to_string(i));
    }
  }
  return out;
}

}  // namespace

std::span<const std::string> synthetic_universe() {
  static const std::vector<std::string> universe = make_universe();
  return universe;
}

std::span<const std::string_view> synthetic_sectors() { return kSectors; }

SyntheticFundamental synthetic_fundamental(std::uint64_t seed, std::string_view symbol, double start_price) {
  const std::uint64_t base = splitmix(seed ^ hash_symbol(symbol) ^ 0xF0DA3E47A1ull);
  SyntheticFundamental f;
  std::size_t sector = splitmix(base + 1) % kSectors.size();
  if (symbol.size() == 4) {  // a universe symbol names its sector
    for (std::size_t i = 0; i < kPrefixes.size(); ++i) {
      if (symbol.substr(0, 2) == kPrefixes[i] && symbol[2] >= '0' && symbol[2] <= '9') sector = i;
    }
  }
  f.sector = kSectors[sector];
  // log-uniform over two decades: a realistic spread of company sizes
  f.shares_outstanding = std::round(5e7 * std::pow(100.0, unit(splitmix(base + 2))));
  f.book_value_per_share = start_price * (0.1 + 1.1 * unit(splitmix(base + 3)));
  return f;
}

std::string fundamental_json(const SyntheticFundamental& f, double price, std::int64_t ts_ns) {
  const double market_cap = f.shares_outstanding * price;
  const double book_value = f.shares_outstanding * f.book_value_per_share;
  return nlohmann::json{{"ts_ns", ts_ns},
                        {"sector", f.sector},
                        {"shares_outstanding", f.shares_outstanding},
                        {"book_value", book_value},
                        {"book_value_per_share", f.book_value_per_share},
                        {"price", price},
                        {"market_cap", market_cap},
                        {"book_to_price", market_cap > 0 ? book_value / market_cap : 0.0}}
      .dump();
}

}  // namespace nautilus::md
