#include "core/message_type.h"

#include <array>

namespace nautilus {
namespace {

constexpr std::array<std::string_view, kMessageTypeCount> kNames = {
    "market_data", "tick", "quote", "trade", "bar", "level2", "fundamental", "economic", "news",
    "risk_alert", "risk_metric", "trading_signal", "order", "fill", "position_update",
    "portfolio_update", "ml_prediction", "regime_change", "vpin_toxicity",
    "flash_crash_warning", "feature_update", "factor_update", "margin_status",
    "performance_metric", "engine_status", "system_health"};

constexpr std::array<MessageType, kMessageTypeCount> make_all() {
  std::array<MessageType, kMessageTypeCount> out{};
  for (std::size_t i = 0; i < kMessageTypeCount; ++i) out[i] = static_cast<MessageType>(i);
  return out;
}
constexpr auto kAll = make_all();

}  // namespace

std::string_view to_string(MessageType t) {
  auto i = static_cast<std::size_t>(t);
  return i < kNames.size() ? kNames[i] : std::string_view("market_data");
}

std::optional<MessageType> parse_message_type(std::string_view text) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == text) return static_cast<MessageType>(i);
  }
  return std::nullopt;
}

std::span<const MessageType> all_message_types() { return kAll; }

std::string_view to_string(BusKind b) {
  return b == BusKind::kMarketData ? "marketdata" : "engine";
}

std::optional<BusKind> parse_bus_kind(std::string_view text) {
  if (text == "marketdata") return BusKind::kMarketData;
  if (text == "engine") return BusKind::kEngine;
  return std::nullopt;
}

}  // namespace nautilus
