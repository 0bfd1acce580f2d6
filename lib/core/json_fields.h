// Reads a few top-level fields of a JSON object without building a tree or
// allocating. The hot handlers (VPIN on every trade) need two numbers and a
// symbol out of each payload, not a DOM: a parse into nlohmann::json costs
// more than the bus hop that brought the message. The values are those
// nlohmann::json::parse would give (checked by a differential test and the
// fuzzer); what this reader does not handle it says so (kUnsupported), and
// the caller parses with nlohmann instead.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace nautilus {

struct JsonField {
  enum class Kind : std::uint8_t { kMissing, kNumber, kString, kOther };
  Kind kind = Kind::kMissing;
  double number = 0.0;           // kNumber: as nlohmann's get<double>()
  bool integer = false;          // kNumber written as an integer (nlohmann's is_number_integer())
  std::int64_t as_int64 = 0;     // integer: as nlohmann's get<std::int64_t>()
  std::string_view text;         // kString: the characters between the quotes, as written
  bool escaped = false;          // kString: `text` holds a backslash escape (not decoded here)
};

enum class JsonFieldsResult : std::uint8_t {
  kOk,           // `out[i]` describes `keys[i]` (the last occurrence, as nlohmann keeps)
  kNotObject,    // valid JSON, not an object
  kInvalid,      // not JSON (nlohmann would refuse it too)
  kUnsupported,  // valid, but beyond this reader (an escaped key, deep nesting, a NUL byte)
};

JsonFieldsResult read_json_fields(std::string_view json, std::span<const std::string_view> keys,
                                  std::span<JsonField> out);

}  // namespace nautilus
