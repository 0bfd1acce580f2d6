// The market data the hub serves: its types, the cache key, and the value a
// source returns. A value is immutable once made and shared by pointer, so a
// cache hit hands it out without copying or allocating.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace nautilus::md {

// SPEC section 6, plus `trade` (the flash-crash stream is made of trades).
enum class DataType : std::uint8_t { kTick, kQuote, kTrade, kBar, kLevel2, kNews, kFundamental, kEconomic };
inline constexpr std::size_t kDataTypeCount = 8;

std::string_view to_string(DataType t);            // "tick", "quote", ...
std::optional<DataType> parse_data_type(std::string_view text);
std::span<const DataType> all_data_types();

// The fallback chains of SPEC section 6 are per category, not per type.
enum class DataCategory : std::uint8_t { kMarket, kEconomic, kRegulatory, kNews };
DataCategory category_of(DataType t);
std::string_view to_string(DataCategory c);

// One observation of one (symbol, type). `payload` is a JSON object as text.
struct DataPoint {
  std::string symbol;
  DataType type = DataType::kQuote;
  std::string source;          // the source that produced it
  std::int64_t as_of_ns = 0;   // the time the data describes (source clock)
  std::string payload = "{}";
};
using DataPtr = std::shared_ptr<const DataPoint>;

// Cache key. KeyView is the allocation-free form used for lookups.
struct KeyView {
  std::string_view symbol;
  DataType type;
};

struct Key {
  std::string symbol;
  DataType type = DataType::kQuote;

  Key() = default;
  Key(std::string s, DataType t) : symbol(std::move(s)), type(t) {}
  explicit Key(KeyView v) : symbol(v.symbol), type(v.type) {}
  KeyView view() const { return {symbol, type}; }
  std::string to_string() const;  // "quote:AAPL"
};

// Transparent hash/equality so unordered containers keyed by Key can be
// searched with a KeyView (heterogeneous lookup, no temporary string).
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(KeyView k) const noexcept {
    return std::hash<std::string_view>{}(k.symbol) * 31u + static_cast<std::size_t>(k.type);
  }
  std::size_t operator()(const Key& k) const noexcept { return (*this)(k.view()); }
};
struct KeyEq {
  using is_transparent = void;
  static KeyView v(KeyView k) { return k; }
  static KeyView v(const Key& k) { return k.view(); }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    KeyView x = v(a), y = v(b);
    return x.type == y.type && x.symbol == y.symbol;
  }
};

// A symbol is 1-32 characters of [A-Za-z0-9._-:/^=]; anything else is refused
// before it reaches a cache or a topic.
bool valid_symbol(std::string_view symbol);

}  // namespace nautilus::md
