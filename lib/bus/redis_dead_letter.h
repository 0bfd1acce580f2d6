// The dead-letter stream (<prefix>:<bus>:dead): where a subscriber moves an
// entry it cannot deliver (it does not decode, or it went max_deliveries times
// without an ACK), with where it came from and why, beside its original
// fields, so an operator can inspect and replay it. Private to lib/bus.
#pragma once

#include <hiredis/hiredis.h>

#include <string_view>

#include "bus/redis_bus.h"
#include "bus/redis_connection.h"

namespace nautilus::redis {

struct DeadLetter {
  std::string_view stream;    // the stream key the entry was read from
  std::string_view entry_id;  // its id there
  std::string_view group;
  std::string_view consumer;
  std::string_view reason;
  long long deliveries = 0;
  const redisReply* fields = nullptr;  // the entry's own field/value list (may be null)
};

// XADD (MAXLEN ~ dead_maxlen) of `d` to bus `bus`'s dead-letter stream. Null
// when the connection broke; an error reply when the server refused it.
ReplyPtr write_dead_letter(Connection& conn, const RedisConfig& config, std::string_view bus, const DeadLetter& d);

}  // namespace nautilus::redis
