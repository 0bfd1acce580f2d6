// The message envelope of SPEC section 3. A published message is immutable and
// shared by every subscriber (MessagePtr), so in-process fan-out copies nothing.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/message_type.h"
#include "core/priority.h"

namespace nautilus {

// Unique and time-ordered: `time` is a strictly increasing nanosecond stamp per
// generator, `node` tells generators (processes) apart. The text form is 32 hex
// digits, so text order is time order.
struct MessageId {
  std::uint64_t time = 0;
  std::uint64_t node = 0;

  bool empty() const { return time == 0 && node == 0; }
  std::string to_string() const;
  void append_to(std::string& out) const;
  static std::optional<MessageId> parse(std::string_view text);
  auto operator<=>(const MessageId&) const = default;
};

struct Message {
  MessageId id;
  std::string topic;
  MessageType type = MessageType::kMarketData;
  Priority priority = Priority::kNormal;
  std::string source;
  std::int64_t timestamp_ns = 0;   // publish time, ns since the epoch
  std::int64_t origin_ns = 0;      // 0 when absent
  std::string correlation_id;      // empty when absent
  std::string payload = "{}";      // a JSON object, as text

  BusKind bus() const { return bus_of(type); }
};

using MessagePtr = std::shared_ptr<const Message>;

// Convenience for callers that build a message in one expression.
std::shared_ptr<Message> make_message(std::string topic, MessageType type,
                                      std::string payload = "{}",
                                      Priority priority = Priority::kNormal,
                                      std::string source = {});

}  // namespace nautilus
