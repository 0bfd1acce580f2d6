#include "bus/redis_dead_letter.h"

#include <string>
#include <vector>

#include "bus/redis_layout.h"

namespace nautilus::redis {

ReplyPtr write_dead_letter(Connection& conn, const RedisConfig& config, std::string_view bus, const DeadLetter& d) {
  const std::string maxlen = std::to_string(config.dead_maxlen);
  const std::string count = std::to_string(d.deliveries);
  const std::string key = dead_letter_key(config, bus);
  std::vector<std::string_view> args = {"XADD",        key,        "MAXLEN",        "~",        maxlen,
                                        "*",           "dead_stream", d.stream,     "dead_entry", d.entry_id,
                                        "dead_group",  d.group,    "dead_consumer", d.consumer, "dead_reason",
                                        d.reason,      "dead_deliveries", count};
  if (d.fields && d.fields->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < d.fields->elements; ++i) args.push_back(as_view(d.fields->element[i]));
  }
  return conn.command(args);
}

}  // namespace nautilus::redis
