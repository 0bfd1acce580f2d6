// Envelope codecs: JSON (the default wire form) and msgpack (a map with the same
// keys; the payload stays JSON text inside it). Decoders never throw and never
// half-fill: on error `out` is untouched and the status names the field.
#pragma once

#include <string>
#include <string_view>

#include "core/message.h"
#include "core/status.h"

namespace nautilus {

enum class Encoding : unsigned char { kJson, kMsgpack };

inline constexpr std::size_t kMaxEncodedSize = 1 << 20;  // 1 MiB
inline constexpr int kMaxPayloadDepth = 64;

void encode_json(const Message& m, std::string& out);   // appends
std::string encode_json(const Message& m);
Status decode_json(std::string_view text, Message& out);

void encode_msgpack(const Message& m, std::string& out);  // appends
Status decode_msgpack(std::string_view bytes, Message& out);

Status encode(Encoding e, const Message& m, std::string& out);
Status decode(Encoding e, std::string_view bytes, Message& out);

// A topic: 1-255 printable ASCII characters, no spaces, no glob characters
// (* ?), dot-separated non-empty segments.
Status validate_topic(std::string_view topic);
// A payload must be a JSON object, nested at most kMaxPayloadDepth deep.
Status validate_payload(std::string_view json_text);
// Appends `s` as a JSON string literal (quotes and escapes).
void append_json_string(std::string& out, std::string_view s);

}  // namespace nautilus
