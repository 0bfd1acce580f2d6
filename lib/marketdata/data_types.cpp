#include "marketdata/data_types.h"

namespace nautilus::md {
namespace {
constexpr std::array<std::string_view, kDataTypeCount> kNames = {
    "tick", "quote", "trade", "bar", "level2", "news", "fundamental", "economic"};
constexpr std::array<DataType, kDataTypeCount> kAll = {
    DataType::kTick, DataType::kQuote, DataType::kTrade, DataType::kBar,
    DataType::kLevel2, DataType::kNews, DataType::kFundamental, DataType::kEconomic};
}  // namespace

std::string_view to_string(DataType t) {
  auto i = static_cast<std::size_t>(t);
  return i < kNames.size() ? kNames[i] : "unknown";
}

std::optional<DataType> parse_data_type(std::string_view text) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == text) return kAll[i];
  }
  if (text == "quotes") return DataType::kQuote;
  if (text == "trades") return DataType::kTrade;
  if (text == "bars") return DataType::kBar;
  if (text == "ticks") return DataType::kTick;
  return std::nullopt;
}

std::span<const DataType> all_data_types() { return kAll; }

DataCategory category_of(DataType t) {
  switch (t) {
    case DataType::kEconomic: return DataCategory::kEconomic;
    case DataType::kFundamental: return DataCategory::kRegulatory;
    case DataType::kNews: return DataCategory::kNews;
    default: return DataCategory::kMarket;
  }
}

std::string_view to_string(DataCategory c) {
  switch (c) {
    case DataCategory::kMarket: return "market";
    case DataCategory::kEconomic: return "economic";
    case DataCategory::kRegulatory: return "regulatory";
    case DataCategory::kNews: return "news";
  }
  return "unknown";
}

std::string Key::to_string() const {
  std::string out{md::to_string(type)};
  out += ':';
  out += symbol;
  return out;
}

bool valid_symbol(std::string_view symbol) {
  if (symbol.empty() || symbol.size() > 32) return false;
  for (char c : symbol) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-' || c == ':' || c == '/' || c == '^' || c == '=';
    if (!ok) return false;
  }
  return true;
}

}  // namespace nautilus::md
