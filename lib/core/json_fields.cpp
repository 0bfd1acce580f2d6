#include "core/json_fields.h"

#include <cassert>
#include <charconv>

#include "core/json_syntax.h"

namespace nautilus {
namespace {

// nlohmann parses without a depth limit; past this the caller's parse is the
// slow path anyway.
constexpr int kMaxDepth = 256;

// The reader runs on text check_json_syntax accepted, so it only has to find
// where things end, not to validate them.
struct Cursor {
  const char* p;
  const char* end;

  void skip_ws() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  }
  // At the opening quote; leaves p after the closing one. `escaped`: saw a
  // backslash. Payload strings are short: a byte loop beats memchr here.
  std::string_view string(bool& escaped) {
    const char* begin = ++p;
    escaped = false;
    while (*p != '"') {
      if (*p == '\\') {
        escaped = true;
        ++p;  // the escaped character, a quote included
      }
      ++p;
    }
    assert(p < end);  // valid JSON closes every string
    return {begin, static_cast<std::size_t>(p++ - begin)};
  }
  void skip_scalar() {
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') ++p;
  }
  // Skips one value of any kind.
  void skip_value() {
    if (*p == '"') {
      bool escaped = false;
      (void)string(escaped);
      return;
    }
    if (*p != '{' && *p != '[') {
      skip_scalar();
      return;
    }
    int depth = 0;
    while (p < end) {
      const char c = *p;
      if (c == '"') {
        bool escaped = false;
        (void)string(escaped);
        continue;
      }
      ++p;
      if (c == '{' || c == '[') ++depth;
      else if ((c == '}' || c == ']') && --depth == 0) return;
    }
  }
};

// A number token as nlohmann reads it: an integer literal is an int64 (if
// negative) or uint64 that fits, else a double; a fraction or exponent makes it
// a double from the decimal text, correctly rounded.
void read_number(std::string_view token, JsonField& f) {
  f.kind = JsonField::Kind::kNumber;
  const bool is_integer = token.find_first_of(".eE") == std::string_view::npos;
  const char* b = token.data();
  const char* e = b + token.size();
  if (is_integer) {
    if (token.front() == '-') {
      std::int64_t v = 0;
      if (auto r = std::from_chars(b, e, v); r.ec == std::errc() && r.ptr == e) {
        f.integer = true;
        f.as_int64 = v;
        f.number = static_cast<double>(v);
        return;
      }
    } else {
      std::uint64_t v = 0;
      if (auto r = std::from_chars(b, e, v); r.ec == std::errc() && r.ptr == e) {
        f.integer = true;
        f.as_int64 = static_cast<std::int64_t>(v);
        f.number = static_cast<double>(v);
        return;
      }
    }
  }
  double d = 0.0;
  auto r = std::from_chars(b, e, d);
  assert(r.ec == std::errc() && r.ptr == e);  // check_json_syntax refuses a number a double cannot hold
  (void)r;
  f.number = d;
}

}  // namespace

JsonFieldsResult read_json_fields(std::string_view json, std::span<const std::string_view> keys, std::span<JsonField> out) {
  assert(keys.size() == out.size());
  for (auto& f : out) f = JsonField{};
  const JsonSyntax syntax = check_json_syntax(json, kMaxDepth);
  if (!syntax.ok) {
    // nlohmann stops at a NUL byte; what it would make of the rest is its business.
    if (syntax.too_deep || json.find('\0') != std::string_view::npos) return JsonFieldsResult::kUnsupported;
    return JsonFieldsResult::kInvalid;
  }
  Cursor c{json.data(), json.data() + json.size()};
  if (json.starts_with("\xEF\xBB\xBF")) c.p += 3;  // a byte order mark, skipped as nlohmann does
  c.skip_ws();
  if (*c.p != '{') return JsonFieldsResult::kNotObject;
  ++c.p;
  for (;;) {
    c.skip_ws();
    if (*c.p == '}') return JsonFieldsResult::kOk;
    if (*c.p == ',') {
      ++c.p;
      c.skip_ws();
    }
    bool key_escaped = false;
    const std::string_view key = c.string(key_escaped);
    if (key_escaped) return JsonFieldsResult::kUnsupported;  // "pr\u0069ce" is "price" to nlohmann
    c.skip_ws();
    ++c.p;  // ':'
    c.skip_ws();
    std::size_t wanted = keys.size();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) {
        wanted = i;
        break;
      }
    }
    if (wanted == keys.size()) {
      c.skip_value();
      continue;
    }
    JsonField& f = out[wanted];
    f = JsonField{};
    const char first = *c.p;
    if (first == '"') {
      f.kind = JsonField::Kind::kString;
      f.text = c.string(f.escaped);
    } else if (first == '-' || (first >= '0' && first <= '9')) {
      const char* begin = c.p;
      c.skip_scalar();
      read_number({begin, static_cast<std::size_t>(c.p - begin)}, f);
    } else {
      f.kind = JsonField::Kind::kOther;
      c.skip_value();
    }
  }
}

}  // namespace nautilus
