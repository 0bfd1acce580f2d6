// One recorded bus message as the history store keeps it: the envelope of
// SPEC section 3 flattened into columns, plus the symbol of a market data
// topic (marketdata.real_time.<type>.<symbol>) so that bars, trades and quotes
// are found by symbol without parsing payloads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/message.h"

namespace nautilus::store {

struct Record {
  std::int64_t ts_ns = 0;          // the message's publish time
  std::string topic;
  BusKind bus = BusKind::kEngine;
  MessageType type = MessageType::kSystemHealth;
  Priority priority = Priority::kNormal;
  std::string source;
  std::int64_t origin_ns = 0;      // 0 when absent
  std::string correlation_id;      // empty when absent
  std::string id;                  // the message id, 32 hex digits
  std::string symbol;              // empty unless a market data topic
  std::string payload = "{}";      // JSON object text, as published

  bool operator==(const Record&) const = default;
};

// "marketdata.real_time.bar.BRK.B" -> "BRK.B"; "" for any other topic.
std::string_view symbol_of_topic(std::string_view topic);

// Fills `out` from a message (reuses out's string capacity).
void to_record(const Message& m, Record& out);
Record to_record(const Message& m);

}  // namespace nautilus::store
