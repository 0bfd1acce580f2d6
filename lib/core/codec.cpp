#include "core/codec.h"

#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/json_syntax.h"

namespace nautilus {
namespace {

using nlohmann::json;

Status field_error(std::string_view field, std::string_view why) {
  std::string msg = "field '";
  msg += field;
  msg += "': ";
  msg += why;
  return Status(StatusCode::kInvalidArgument, std::move(msg));
}

Status check_json_text(std::string_view text, int max_depth, std::string_view what) {
  if (text.size() > kMaxEncodedSize) return field_error(what, "larger than 1 MiB");
  // A syntax check, no parse: what the (recursive) DOM parser later sees is
  // well-formed and bounded in depth.
  JsonSyntax r = check_json_syntax(text, max_depth);
  if (r.ok) return Status::ok();
  if (r.too_deep) return field_error(what, "nested too deeply");
  return field_error(what, "malformed JSON at byte " + std::to_string(r.error_pos));
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, ptr);
}

// ---- fields shared by both decoders -------------------------------------------

struct Fields {
  std::string_view id, topic, type, priority, source, correlation_id, payload;
  std::int64_t timestamp_ns = 0, origin_ns = 0;
  bool has_id = false, has_topic = false, has_type = false, has_priority = false,
       has_source = false, has_timestamp = false, has_payload = false;
};

Status build_message(const Fields& f, Message& out) {
  if (!f.has_topic) return field_error("topic", "missing");
  if (auto s = validate_topic(f.topic); !s) return field_error("topic", s.message());
  if (!f.has_type) return field_error("message_type", "missing");
  auto type = parse_message_type(f.type);
  if (!type) return field_error("message_type", "unknown type '" + std::string(f.type.substr(0, 64)) + "'");
  Priority priority = Priority::kNormal;
  if (f.has_priority) {
    auto p = parse_priority(f.priority);
    if (!p) return field_error("priority", "unknown priority '" + std::string(f.priority.substr(0, 64)) + "'");
    priority = *p;
  }
  MessageId id;
  if (f.has_id) {
    auto parsed = MessageId::parse(f.id);
    if (!parsed) return field_error("id", "not a 32-digit hex id");
    id = *parsed;
  }
  if (f.timestamp_ns < 0) return field_error("timestamp_ns", "negative");
  if (f.origin_ns < 0) return field_error("origin_ns", "negative");
  std::string payload = "{}";
  if (f.has_payload) {
    if (auto s = validate_payload(f.payload); !s) return field_error("payload", s.message());
    payload.assign(f.payload);
  }
  out.id = id;
  out.topic.assign(f.topic);
  out.type = *type;
  out.priority = priority;
  out.source.assign(f.source);
  out.timestamp_ns = f.timestamp_ns;
  out.origin_ns = f.origin_ns;
  out.correlation_id.assign(f.correlation_id);
  out.payload = std::move(payload);
  return Status::ok();
}

// ---- msgpack primitives (just what the envelope needs) --------------------------

void mp_str(std::string& out, std::string_view s) {
  auto n = s.size();
  if (n < 32) {
    out.push_back(static_cast<char>(0xa0 | n));
  } else if (n < 256) {
    out.push_back(static_cast<char>(0xd9));
    out.push_back(static_cast<char>(n));
  } else if (n < 65536) {
    out.push_back(static_cast<char>(0xda));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(0xdb));
    for (int sh = 24; sh >= 0; sh -= 8) out.push_back(static_cast<char>(n >> sh));
  }
  out.append(s);
}

void mp_int(std::string& out, std::int64_t v) {
  out.push_back(static_cast<char>(0xd3));
  auto u = static_cast<std::uint64_t>(v);
  for (int sh = 56; sh >= 0; sh -= 8) out.push_back(static_cast<char>(u >> sh));
}

class MpReader {
 public:
  explicit MpReader(std::string_view b) : b_(b) {}
  bool done() const { return pos_ == b_.size(); }
  bool read_map_size(std::size_t& n) {
    if (!have(1)) return false;
    auto c = byte(pos_);
    if ((c & 0xf0) == 0x80) { n = c & 0x0f; pos_ += 1; return true; }
    if (c == 0xde && have(3)) { n = be(pos_ + 1, 2); pos_ += 3; return true; }
    return false;
  }
  bool read_str(std::string_view& s) {
    if (!have(1)) return false;
    auto c = byte(pos_);
    std::size_t n, hdr;
    if ((c & 0xe0) == 0xa0) { n = c & 0x1f; hdr = 1; }
    else if (c == 0xd9 && have(2)) { n = be(pos_ + 1, 1); hdr = 2; }
    else if (c == 0xda && have(3)) { n = be(pos_ + 1, 2); hdr = 3; }
    else if (c == 0xdb && have(5)) { n = be(pos_ + 1, 4); hdr = 5; }
    else return false;
    if (!have(hdr + n)) return false;
    s = b_.substr(pos_ + hdr, n);
    pos_ += hdr + n;
    return true;
  }
  bool read_int(std::int64_t& v) {
    if (!have(1)) return false;
    auto c = byte(pos_);
    if (c <= 0x7f) { v = c; pos_ += 1; return true; }
    if (c >= 0xe0) { v = static_cast<std::int8_t>(c); pos_ += 1; return true; }
    std::size_t len = 0;
    bool is_signed = false;
    switch (c) {
      case 0xcc: len = 1; break;
      case 0xcd: len = 2; break;
      case 0xce: len = 4; break;
      case 0xcf: len = 8; break;
      case 0xd0: len = 1; is_signed = true; break;
      case 0xd1: len = 2; is_signed = true; break;
      case 0xd2: len = 4; is_signed = true; break;
      case 0xd3: len = 8; is_signed = true; break;
      default: return false;
    }
    if (!have(1 + len)) return false;
    std::uint64_t u = be(pos_ + 1, len);
    pos_ += 1 + len;
    if (is_signed) {
      int shift = static_cast<int>(64 - 8 * len);
      v = static_cast<std::int64_t>(u << shift) >> shift;
    } else {
      if (u > static_cast<std::uint64_t>(INT64_MAX)) return false;
      v = static_cast<std::int64_t>(u);
    }
    return true;
  }

 private:
  bool have(std::size_t n) const { return b_.size() - pos_ >= n; }
  unsigned byte(std::size_t i) const { return static_cast<unsigned char>(b_[i]); }
  std::uint64_t be(std::size_t at, std::size_t len) const {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < len; ++i) v = (v << 8) | byte(at + i);
    return v;
  }
  std::string_view b_;
  std::size_t pos_ = 0;
};

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

Status validate_topic(std::string_view topic) {
  if (topic.empty()) return Status(StatusCode::kInvalidArgument, "empty topic");
  if (topic.size() > 255) return Status(StatusCode::kInvalidArgument, "topic longer than 255 characters");
  char prev = '.';
  for (char c : topic) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return Status(StatusCode::kInvalidArgument, "topic has a space or non-printable character");
    if (c == '*' || c == '?') return Status(StatusCode::kInvalidArgument, "topic has a glob character (* or ?)");
    if (c == '.' && prev == '.') return Status(StatusCode::kInvalidArgument, "topic has an empty segment");
    prev = c;
  }
  if (prev == '.') return Status(StatusCode::kInvalidArgument, "topic ends with '.'");
  return Status::ok();
}

Status validate_payload(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
  if (i == text.size() || text[i] != '{') return Status(StatusCode::kInvalidArgument, "not a JSON object");
  auto s = check_json_text(text, kMaxPayloadDepth, "payload");
  if (!s) return Status(StatusCode::kInvalidArgument, s.message().substr(std::strlen("field 'payload': ")));
  return Status::ok();
}

void encode_json(const Message& m, std::string& out) {
  out.reserve(out.size() + 160 + m.topic.size() + m.payload.size());
  out += "{\"id\":\"";
  m.id.append_to(out);
  out += "\",\"topic\":";
  append_json_string(out, m.topic);
  out += ",\"message_type\":\"";
  out += to_string(m.type);
  out += "\",\"priority\":\"";
  out += to_string(m.priority);
  out += "\",\"source\":";
  append_json_string(out, m.source);
  out += ",\"timestamp_ns\":";
  append_int(out, m.timestamp_ns);
  if (m.origin_ns != 0) {
    out += ",\"origin_ns\":";
    append_int(out, m.origin_ns);
  }
  if (!m.correlation_id.empty()) {
    out += ",\"correlation_id\":";
    append_json_string(out, m.correlation_id);
  }
  out += ",\"payload\":";
  out += m.payload.empty() ? std::string_view("{}") : std::string_view(m.payload);
  out += '}';
}

std::string encode_json(const Message& m) {
  std::string out;
  encode_json(m, out);
  return out;
}

Status decode_json(std::string_view text, Message& out) {
  if (auto s = check_json_text(text, kMaxPayloadDepth + 1, "envelope"); !s) return s;
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return field_error("envelope", "malformed JSON");
  if (!doc.is_object()) return field_error("envelope", "not a JSON object");

  Fields f;
  std::string payload_text;
  auto str_field = [&](const char* name, std::string_view& dst, bool& has) -> Status {
    auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) return Status::ok();
    if (!it->is_string()) return field_error(name, "not a string");
    dst = it->get_ref<const std::string&>();
    has = true;
    return Status::ok();
  };
  auto int_field = [&](const char* name, std::int64_t& dst, bool* has) -> Status {
    auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) return Status::ok();
    if (it->is_number_unsigned()) {
      auto u = it->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) return field_error(name, "out of range");
      dst = static_cast<std::int64_t>(u);
    } else if (it->is_number_integer()) {
      dst = it->get<std::int64_t>();
    } else {
      return field_error(name, "not an integer");
    }
    if (has) *has = true;
    return Status::ok();
  };
  bool unused = false;
  if (auto s = str_field("id", f.id, f.has_id); !s) return s;
  if (auto s = str_field("topic", f.topic, f.has_topic); !s) return s;
  if (auto s = str_field("message_type", f.type, f.has_type); !s) return s;
  if (auto s = str_field("priority", f.priority, f.has_priority); !s) return s;
  if (auto s = str_field("source", f.source, f.has_source); !s) return s;
  if (auto s = str_field("correlation_id", f.correlation_id, unused); !s) return s;
  if (auto s = int_field("timestamp_ns", f.timestamp_ns, &f.has_timestamp); !s) return s;
  if (auto s = int_field("origin_ns", f.origin_ns, nullptr); !s) return s;
  if (auto it = doc.find("payload"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return field_error("payload", "not a JSON object");
    payload_text = it->dump();
    f.payload = payload_text;
    f.has_payload = true;
  }
  return build_message(f, out);
}

void encode_msgpack(const Message& m, std::string& out) {
  int n = 7 + (m.origin_ns != 0 ? 1 : 0) + (m.correlation_id.empty() ? 0 : 1);
  out.push_back(static_cast<char>(0x80 | n));
  mp_str(out, "id");
  std::string id;
  m.id.append_to(id);
  mp_str(out, id);
  mp_str(out, "topic");
  mp_str(out, m.topic);
  mp_str(out, "message_type");
  mp_str(out, to_string(m.type));
  mp_str(out, "priority");
  mp_str(out, to_string(m.priority));
  mp_str(out, "source");
  mp_str(out, m.source);
  mp_str(out, "timestamp_ns");
  mp_int(out, m.timestamp_ns);
  if (m.origin_ns != 0) {
    mp_str(out, "origin_ns");
    mp_int(out, m.origin_ns);
  }
  if (!m.correlation_id.empty()) {
    mp_str(out, "correlation_id");
    mp_str(out, m.correlation_id);
  }
  mp_str(out, "payload");
  mp_str(out, m.payload.empty() ? std::string_view("{}") : std::string_view(m.payload));
}

Status decode_msgpack(std::string_view bytes, Message& out) {
  if (bytes.size() > kMaxEncodedSize) return field_error("envelope", "larger than 1 MiB");
  MpReader r(bytes);
  std::size_t n = 0;
  if (!r.read_map_size(n)) return field_error("envelope", "not a msgpack map");
  Fields f;
  bool unused = false;
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!r.read_str(key)) return field_error("envelope", "malformed key");
    auto read_s = [&](std::string_view& dst, bool& has) -> Status {
      if (!r.read_str(dst)) return field_error(key, "not a string");
      has = true;
      return Status::ok();
    };
    Status s;
    if (key == "id") s = read_s(f.id, f.has_id);
    else if (key == "topic") s = read_s(f.topic, f.has_topic);
    else if (key == "message_type") s = read_s(f.type, f.has_type);
    else if (key == "priority") s = read_s(f.priority, f.has_priority);
    else if (key == "source") s = read_s(f.source, f.has_source);
    else if (key == "correlation_id") s = read_s(f.correlation_id, unused);
    else if (key == "payload") s = read_s(f.payload, f.has_payload);
    else if (key == "timestamp_ns") {
      if (!r.read_int(f.timestamp_ns)) s = field_error(key, "not an integer");
      f.has_timestamp = true;
    } else if (key == "origin_ns") {
      if (!r.read_int(f.origin_ns)) s = field_error(key, "not an integer");
    } else {
      s = field_error(key, "unknown field");
    }
    if (!s) return s;
  }
  if (!r.done()) return field_error("envelope", "trailing bytes");
  return build_message(f, out);
}

Status encode(Encoding e, const Message& m, std::string& out) {
  if (e == Encoding::kJson) encode_json(m, out);
  else encode_msgpack(m, out);
  return Status::ok();
}

Status decode(Encoding e, std::string_view bytes, Message& out) {
  return e == Encoding::kJson ? decode_json(bytes, out) : decode_msgpack(bytes, out);
}

}  // namespace nautilus
