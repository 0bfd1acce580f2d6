// Message types and the bus each one travels on (SPEC section 3).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace nautilus {

enum class BusKind : std::uint8_t { kMarketData = 0, kEngine = 1 };

enum class MessageType : std::uint8_t {
  // marketdata bus
  kMarketData, kTick, kQuote, kTrade, kBar, kLevel2, kFundamental, kEconomic, kNews,
  // engine bus
  kRiskAlert, kRiskMetric, kTradingSignal, kOrder, kFill, kPositionUpdate, kPortfolioUpdate,
  kMlPrediction, kRegimeChange, kVpinToxicity, kFlashCrashWarning, kFeatureUpdate,
  kFactorUpdate, kMarginStatus, kPerformanceMetric, kEngineStatus, kSystemHealth,
};

inline constexpr std::size_t kMessageTypeCount = 26;

std::string_view to_string(MessageType t);
std::optional<MessageType> parse_message_type(std::string_view text);
std::span<const MessageType> all_message_types();

constexpr BusKind bus_of(MessageType t) {
  return t <= MessageType::kNews ? BusKind::kMarketData : BusKind::kEngine;
}

std::string_view to_string(BusKind b);                      // "marketdata" | "engine"
std::optional<BusKind> parse_bus_kind(std::string_view text);

}  // namespace nautilus
