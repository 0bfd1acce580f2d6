#include "core/message.h"

#include <charconv>

namespace nautilus {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_hex64(std::string& out, std::uint64_t v) {
  char buf[16];
  for (int i = 15; i >= 0; --i) {
    buf[i] = kHex[v & 0xf];
    v >>= 4;
  }
  out.append(buf, 16);
}

bool parse_hex64(std::string_view text, std::uint64_t& out) {
  if (text.size() != 16) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

void MessageId::append_to(std::string& out) const {
  append_hex64(out, time);
  append_hex64(out, node);
}

std::string MessageId::to_string() const {
  std::string out;
  out.reserve(32);
  append_to(out);
  return out;
}

std::optional<MessageId> MessageId::parse(std::string_view text) {
  MessageId id;
  if (text.size() != 32) return std::nullopt;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return std::nullopt;
    }
  }
  if (!parse_hex64(text.substr(0, 16), id.time) || !parse_hex64(text.substr(16), id.node)) {
    return std::nullopt;
  }
  return id;
}

std::shared_ptr<Message> make_message(std::string topic, MessageType type, std::string payload,
                                      Priority priority, std::string source) {
  auto m = std::make_shared<Message>();
  m->topic = std::move(topic);
  m->type = type;
  m->payload = std::move(payload);
  m->priority = priority;
  m->source = std::move(source);
  return m;
}

}  // namespace nautilus
