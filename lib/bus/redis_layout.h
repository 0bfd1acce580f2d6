// Key names of the Redis layout (docs/redis-layout.md). Private to lib/bus and
// its tests.
//
//   <prefix>:<bus>:{<family>.<shard>}:high     high, urgent, flash_crash
//   <prefix>:<bus>:{<family>.<shard>}:normal   normal, low
//   <prefix>:<bus>:streams                     SET of every stream key written
//   <prefix>:<bus>:dead                        dead-letter stream
//
// family = the topic's first dot-separated segment; shard = FNV-1a(topic) mod
// shards, so one topic always lands in one stream (per-topic order holds) and a
// family's traffic spreads over `shards` keys. The braces are a Cluster hash
// tag: both lanes of a shard share a slot, different shards do not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bus/redis_bus.h"

namespace nautilus::redis {

inline std::string_view topic_family(std::string_view topic) { return topic.substr(0, topic.find('.')); }

// The family every topic a pattern matches must have, when the pattern fixes it
// (no wildcard before the first dot); nullopt when it can match any family.
inline std::optional<std::string> pattern_family(std::string_view pattern) {
  std::size_t dot = pattern.find('.');
  std::string_view head = pattern.substr(0, dot);
  if (head.find_first_of("*?") != std::string_view::npos) return std::nullopt;
  if (dot == std::string_view::npos && pattern.find_first_of("*?") != std::string_view::npos) return std::nullopt;
  return std::string(head);
}

inline int shard_of(std::string_view topic, int shards) {
  std::uint32_t h = 2166136261u;
  for (char c : topic) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return shards > 1 ? static_cast<int>(h % static_cast<std::uint32_t>(shards)) : 0;
}

inline std::string bus_prefix(const RedisConfig& c, std::string_view bus) {
  std::string k = c.prefix;
  k += ':';
  k += bus;
  k += ':';
  return k;
}

inline void append_stream_key(std::string& out, const RedisConfig& c, std::string_view bus,
                              std::string_view family, int shard, bool high) {
  out += c.prefix;
  out += ':';
  out += bus;
  out += ":{";
  out += family;
  out += '.';
  out += std::to_string(shard);
  out += high ? "}:high" : "}:normal";
}

inline std::string stream_key(const RedisConfig& c, std::string_view bus, std::string_view family, int shard,
                              bool high) {
  std::string k;
  append_stream_key(k, c, bus, family, shard, high);
  return k;
}

inline std::string stream_key_for_topic(const RedisConfig& c, std::string_view bus, std::string_view topic,
                                        bool high) {
  return stream_key(c, bus, topic_family(topic), shard_of(topic, c.shards), high);
}

inline std::string registry_key(const RedisConfig& c, std::string_view bus) { return bus_prefix(c, bus) + "streams"; }
inline std::string dead_letter_key(const RedisConfig& c, std::string_view bus) { return bus_prefix(c, bus) + "dead"; }

// The family of a stream key of this bus, or nullopt for a foreign key.
inline std::optional<std::string> family_of_key(std::string_view key) {
  auto open = key.find('{');
  auto close = key.find('}', open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::nullopt;
  std::string_view tag = key.substr(open + 1, close - open - 1);
  auto dot = tag.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  return std::string(tag.substr(0, dot));
}

inline bool is_high_key(std::string_view key) { return key.ends_with(":high"); }

}  // namespace nautilus::redis
