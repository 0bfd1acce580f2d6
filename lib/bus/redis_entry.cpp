#include "bus/redis_entry.h"

#include <charconv>

#include "bus/redis_connection.h"
#include "bus/redis_layout.h"
#include "core/codec.h"
#include "core/topic_pattern.h"

namespace nautilus::redis {

bool parse_i64(std::string_view s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

void encode_xadd(const Message& m, const RedisConfig& config, std::string_view bus_name, std::string_view maxlen_text,
                 EncodedEntry& p) {
  std::string& out = p.cmd;
  std::size_t argc = 6 + 2 * 7 + (m.origin_ns ? 2 : 0) + (m.correlation_id.empty() ? 0 : 2);
  out.reserve(200 + m.topic.size() * 2 + m.payload.size() + m.source.size() + m.correlation_id.size());
  resp_header(out, argc);
  resp_arg(out, "XADD");
  // Scratch strings keep their capacity per publishing thread: no allocation.
  thread_local std::string key;
  thread_local std::string id;
  key.clear();
  id.clear();
  append_stream_key(key, config, bus_name, topic_family(m.topic),
                           shard_of(m.topic, config.shards), is_protected(m.priority));
  resp_arg(out, key);
  // The writer needs the key (registry SADD, lane on requeue): remember where it sits.
  p.key_off = static_cast<std::uint32_t>(out.size() - 2 - key.size());
  p.key_len = static_cast<std::uint32_t>(key.size());
  resp_arg(out, "MAXLEN");
  resp_arg(out, "~");
  resp_arg(out, maxlen_text);
  resp_arg(out, "*");
  resp_arg(out, "topic");
  resp_arg(out, m.topic);
  resp_arg(out, "type");
  resp_arg(out, to_string(m.type));
  resp_arg(out, "priority");
  resp_arg(out, to_string(m.priority));
  resp_arg(out, "source");
  resp_arg(out, m.source);
  resp_arg(out, "id");
  m.id.append_to(id);
  resp_arg(out, id);
  resp_arg(out, "timestamp_ns");
  resp_arg(out, m.timestamp_ns);
  if (m.origin_ns) {
    resp_arg(out, "origin_ns");
    resp_arg(out, m.origin_ns);
  }
  if (!m.correlation_id.empty()) {
    resp_arg(out, "correlation_id");
    resp_arg(out, m.correlation_id);
  }
  resp_arg(out, "payload");
  resp_arg(out, m.payload);
}

Status decode_entry(const redisReply* fields, Message& m) {
  if (!fields || fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0) {
    return Status(StatusCode::kInvalidArgument, "entry has no field/value list");
  }
  bool has_topic = false, has_type = false, has_priority = false, has_id = false, has_ts = false, has_payload = false;
  for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
    std::string_view k = as_view(fields->element[i]);
    std::string_view v = as_view(fields->element[i + 1]);
    auto bad = [&](std::string_view why) {
      return Status(StatusCode::kInvalidArgument, "field '" + std::string(k) + "': " + std::string(why));
    };
    if (k == "topic") {
      if (auto s = validate_topic(v); !s) return bad(s.message());
      m.topic.assign(v);
      has_topic = true;
    } else if (k == "type") {
      auto t = parse_message_type(v);
      if (!t) return bad("unknown message type '" + std::string(v.substr(0, 64)) + "'");
      m.type = *t;
      has_type = true;
    } else if (k == "priority") {
      auto p = parse_priority(v);
      if (!p) return bad("unknown priority '" + std::string(v.substr(0, 64)) + "'");
      m.priority = *p;
      has_priority = true;
    } else if (k == "id") {
      auto id = MessageId::parse(v);
      if (!id) return bad("not a message id");
      m.id = *id;
      has_id = true;
    } else if (k == "timestamp_ns") {
      if (!parse_i64(v, m.timestamp_ns)) return bad("not an integer");
      has_ts = true;
    } else if (k == "origin_ns") {
      if (!parse_i64(v, m.origin_ns)) return bad("not an integer");
    } else if (k == "source") {
      m.source.assign(v);
    } else if (k == "correlation_id") {
      m.correlation_id.assign(v);
    } else if (k == "payload") {
      if (auto s = validate_payload(v); !s) return bad(s.message());
      m.payload.assign(v);
      has_payload = true;
    }
    // Unknown fields are tolerated: a newer writer may add some.
  }
  const char* missing = !has_topic ? "topic" : !has_type ? "type" : !has_priority ? "priority"
                      : !has_id ? "id" : !has_ts ? "timestamp_ns" : !has_payload ? "payload" : nullptr;
  if (missing) return Status(StatusCode::kInvalidArgument, std::string("missing field '") + missing + "'");
  return Status::ok();
}

}  // namespace nautilus::redis
