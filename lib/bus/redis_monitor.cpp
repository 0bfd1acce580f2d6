#include "bus/redis_monitor.h"

#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "bus/redis_connection.h"
#include "bus/redis_layout.h"
#include "bus/redis_nodes.h"
#include "core/clock.h"

namespace nautilus::redis {

namespace {

// A field of a flat name/value reply (XINFO, RESP2).
const redisReply* field(const redisReply* flat, std::string_view name) {
  if (!flat || flat->type != REDIS_REPLY_ARRAY) return nullptr;
  for (std::size_t i = 0; i + 1 < flat->elements; i += 2) {
    if (as_view(flat->element[i]) == name) return flat->element[i + 1];
  }
  return nullptr;
}

std::optional<std::int64_t> integer(const redisReply* r) {
  if (r && r->type == REDIS_REPLY_INTEGER) return r->integer;
  return std::nullopt;
}

// "<ms>-<seq>" as a comparable pair; {0,0} for anything else.
std::pair<std::uint64_t, std::uint64_t> stream_id(std::string_view s) {
  std::pair<std::uint64_t, std::uint64_t> out{0, 0};
  auto dash = s.find('-');
  if (dash == std::string_view::npos) return out;
  std::from_chars(s.data(), s.data() + dash, out.first);
  std::from_chars(s.data() + dash + 1, s.data() + s.size(), out.second);
  return out;
}

std::string_view entry_id_of(const redisReply* entry) {
  if (!entry || entry->type != REDIS_REPLY_ARRAY || entry->elements < 1) return {};
  return as_view(entry->element[0]);
}

}  // namespace

GroupMonitor::GroupMonitor(const RedisConfig& config, std::string bus_name) : config_(config), bus_(std::move(bus_name)) {}

GroupMonitor::~GroupMonitor() { stop(); }

void GroupMonitor::start() {
  thread_ = std::thread([this] { run(); });
}

void GroupMonitor::stop() {
  {
    std::lock_guard lock(wake_mu_);
    if (stop_.exchange(true)) return;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<GroupStats> GroupMonitor::groups() const {
  std::lock_guard lock(mu_);
  return groups_;
}

void GroupMonitor::run() {
  pthread_setname_np(pthread_self(), "redis-monitor");
  NodeSet nodes(config_, "nautilus:" + bus_ + ":monitor");
  const std::string registry = registry_key(config_, bus_);
  while (!stop_.load()) {
    if (nodes.ready() || nodes.ensure(stop_)) {
      std::map<std::string, GroupStats> by_group;
      ReplyPtr keys = nodes.command(registry, {"SMEMBERS", registry});
      for (std::size_t k = 0; keys && keys->type == REDIS_REPLY_ARRAY && k < keys->elements; ++k) {
        const std::string key(as_view(keys->element[k]));
        if (config_.max_age_ms > 0) {
          const std::int64_t min_ms = wall_now_ns() / 1'000'000 - config_.max_age_ms;
          if (min_ms > 0) nodes.command(key, {"XTRIM", key, "MINID", "~", std::to_string(min_ms)});
        }
        // Groups first, then the stream: the stream's head is then no older
        // than the groups' positions, so "caught up" cannot be read off a head
        // that entries passed in between (they would count as lost).
        ReplyPtr groups = nodes.command(key, {"XINFO", "GROUPS", key});
        ReplyPtr info = nodes.command(key, {"XINFO", "STREAM", key});
        if (!info || !groups || groups->type != REDIS_REPLY_ARRAY) continue;
        const std::int64_t length = integer(field(info.get(), "length")).value_or(0);
        const auto last_generated = stream_id(as_view(field(info.get(), "last-generated-id")));
        const auto first_entry = stream_id(entry_id_of(field(info.get(), "first-entry")));
        for (std::size_t g = 0; g < groups->elements; ++g) {
          const redisReply* gr = groups->element[g];
          const std::string name(as_view(field(gr, "name")));
          GroupStats& s = by_group[name];
          s.group = name;
          ++s.streams;
          s.consumers = std::max<std::uint64_t>(s.consumers, integer(field(gr, "consumers")).value_or(0));
          s.pending += static_cast<std::uint64_t>(integer(field(gr, "pending")).value_or(0));
          auto lag = integer(field(gr, "lag"));
          const std::string last_delivered(as_view(field(gr, "last-delivered-id")));
          const bool caught_up = stream_id(last_delivered) >= last_generated;
          // Caught up means nothing is waiting, whatever Redis says: after an
          // AOF reload Redis 7.0 counts the group's entries-read from 0, and
          // its lag would count the whole stream (and show it as lost).
          if (caught_up) lag = 0;
          if (lag) s.lag = (s.lag < 0 ? 0 : s.lag) + *lag;
          // Redis's lag counts entries added and never read by the group,
          // trimmed ones too (they are never read). What the stream still
          // holds after the group's position is the real backlog; the rest
          // was trimmed before the group got to it.
          // Entries are trimmed unread only while the group is behind the
          // stream's head, and there the backlog is known without reading
          // entries: all the stream holds. Caught up, nothing is lost anew
          // (and the count stays as last seen). In between it stays too.
          // (Counting entries with XRANGE every round would cost Redis a
          // read of the whole backlog.)
          std::optional<std::int64_t> backlog;
          if (caught_up) backlog = 0;
          else if (length == 0 || stream_id(last_delivered) < first_entry) backlog = length;
          if (lag && backlog) {
            const std::int64_t trimmed_unread = *lag - *backlog;
            auto& lost = lost_[{key, name}];
            if (trimmed_unread > 0 && static_cast<std::uint64_t>(trimmed_unread) > lost) {
              lost = static_cast<std::uint64_t>(trimmed_unread);
            }
          }
        }
      }
      for (const auto& [sg, n] : lost_) {
        auto it = by_group.find(sg.second);
        if (it != by_group.end()) it->second.lost += n;
      }
      std::vector<GroupStats> out;
      for (auto& [name, s] : by_group) out.push_back(std::move(s));
      std::lock_guard lock(mu_);
      groups_ = std::move(out);
    }
    std::unique_lock lock(wake_mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(config_.monitor_ms), [this] { return stop_.load(); });
  }
  nodes.close();
}

}  // namespace nautilus::redis
