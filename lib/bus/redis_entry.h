// One bus message as one stream entry: the XADD that writes it (pre-formatted
// RESP, so the writer thread only copies bytes) and the decoding of an entry's
// field/value list back into a Message. Private to lib/bus; the field names
// are the layout of docs/redis-layout.md.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "bus/redis_bus.h"
#include "core/message.h"
#include "core/status.h"

namespace nautilus::redis {

// A formatted XADD and where its stream key sits inside it.
struct EncodedEntry {
  std::string cmd;
  std::uint32_t key_off = 0, key_len = 0;
  std::string_view key() const { return std::string_view(cmd).substr(key_off, key_len); }
};

// The XADD (with MAXLEN ~ maxlen_text) of `m` to its stream on bus `bus_name`.
void encode_xadd(const Message& m, const RedisConfig& config, std::string_view bus_name, std::string_view maxlen_text,
                 EncodedEntry& p);

// Decodes one entry's field/value array into `m`. On error `m` is half-filled
// and must be discarded.
Status decode_entry(const redisReply* fields, Message& m);

// A whole decimal int64 (RESP strings: TIME, timestamps).
bool parse_i64(std::string_view s, std::int64_t& out);

}  // namespace nautilus::redis
