#include "bus/redis_subscriber.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <random>

#include "bus/redis_dead_letter.h"
#include "bus/redis_entry.h"
#include "bus/redis_layout.h"
#include "bus/redis_publisher.h"
#include "core/topic_pattern.h"

namespace nautilus::redis {

namespace {

std::string make_consumer_name(std::uint64_t serial) {
  char host[64] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "host");
  std::random_device rd;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s-%d-%llu-%04x", host, static_cast<int>(getpid()),
                static_cast<unsigned long long>(serial), rd() & 0xffffu);
  return buf;
}

std::atomic<std::uint64_t> g_serial{0};

}  // namespace

constexpr std::size_t kUrgentCheckEvery = 256;

RedisSub::RedisSub(std::shared_ptr<BusCore> core, std::string pattern, Handler handler, SubscribeOptions options)
    : core_(std::move(core)),
      config_(core_->config()),
      pattern_(std::move(pattern)),
      literal_(is_literal_pattern(pattern_)),
      handler_(std::move(handler)),
      options_(std::move(options)),
      consumer_(make_consumer_name(g_serial.fetch_add(1))),
      family_(pattern_family(pattern_)),
      nodes_(config_, "nautilus:" + core_->name() + ":sub:" + consumer_),
      high_reader_(config_.high_reader && !config_.cluster && options_.mode == DeliveryMode::kThread) {
  if (high_reader_) high_nodes_ = std::make_unique<NodeSet>(config_, "nautilus:" + core_->name() + ":sub-high:" + consumer_);
  if (options_.name.empty()) options_.name = pattern_;
  group_ = !options_.group.empty() ? options_.group : !config_.group.empty() ? config_.group : options_.name;
}

RedisSub::~RedisSub() { cancel(); }

void RedisSub::add_stream(const std::string& key) {
  std::unique_lock lock(deliver_mu_, std::defer_lock);
  if (high_reader_) lock.lock();
  if (stream_index_.count(key)) return;
  if (is_high_key(key)) {
    std::lock_guard keys_lock(high_keys_mu_);
    high_keys_.push_back(key);
  }
  const std::size_t index = streams_.size();
  stream_index_.emplace(key, index);
  streams_.push_back(StreamState{key, is_high_key(key), {}});
  const int slot = config_.cluster ? key_slot(key) : 0;
  auto [it, added] = read_group_of_slot_.emplace(slot, read_groups_.size());
  if (added) read_groups_.emplace_back();
  read_groups_[it->second].push_back(index);
  groups_ready_ = false;
}

bool RedisSub::create_group(const std::string& key) {
  // ENTRIESREAD (Redis 7): the group starts as having read what the stream
  // holds, so its lag (XINFO GROUPS) counts only what came after, and the
  // monitor can tell entries trimmed unread from a backlog. Without it Redis
  // counts the whole stream's past as lag.
  std::string entries_added = "0";
  if (ReplyPtr info = nodes_.command(key, {"XINFO", "STREAM", key}); !info) {
    return false;
  } else if (info->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i + 1 < info->elements; i += 2) {
      if (as_view(info->element[i]) == "entries-added" && info->element[i + 1]->type == REDIS_REPLY_INTEGER) {
        entries_added = std::to_string(info->element[i + 1]->integer);
      }
    }
  }
  ReplyPtr r = nodes_.command(key, {"XGROUP", "CREATE", key, group_, start_id_, "MKSTREAM", "ENTRIESREAD", entries_added});
  if (!r) return false;
  if (r->type == REDIS_REPLY_ERROR && !is_error(r.get(), "BUSYGROUP") && !is_error(r.get(), "LOADING")) {
    // A server before 7.0 knows no ENTRIESREAD: lag is then Redis's estimate.
    r = nodes_.command(key, {"XGROUP", "CREATE", key, group_, start_id_, "MKSTREAM"});
    if (!r) return false;
  }
  if (is_error(r.get(), "LOADING")) {
    // Restarted server still reading its AOF: try again shortly.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return false;
  }
  if (r->type == REDIS_REPLY_ERROR && !is_error(r.get(), "BUSYGROUP")) {
    log_limited("xgroup", "XGROUP CREATE " + key + " " + group_ + ": " + std::string(as_view(r.get())));
  }
  return true;
}

bool RedisSub::setup() {
  if (start_id_.empty()) {
    // Server time, so entries written after subscribe() returns are always
    // newer than the group's start, whatever the local clock says.
    Connection* any = nodes_.any();
    ReplyPtr t = any ? any->command({"TIME"}) : nullptr;
    if (!t) return false;
    std::int64_t ms = wall_now_ns() / 1'000'000;
    if (t->type == REDIS_REPLY_ARRAY && t->elements == 2) {
      std::int64_t sec = 0, usec = 0;
      if (parse_i64(as_view(t->element[0]), sec) && parse_i64(as_view(t->element[1]), usec)) {
        ms = sec * 1000 + usec / 1000;
      }
    }
    // The group's last-delivered id sits just before this millisecond: an
    // entry XADDed within the same millisecond as TIME gets id <ms>-0, which a
    // start of "<ms>-0" would skip (a group delivers ids strictly greater).
    // The price: an entry of that same millisecond from just before
    // subscribe() may be delivered too.
    start_id_ = std::to_string(ms - 1) + "-18446744073709551615";
  }
  if (family_) {
    if (literal_) {
      int shard = shard_of(pattern_, config_.shards);
      add_stream(stream_key(config_, core_->name(), *family_, shard, true));
      add_stream(stream_key(config_, core_->name(), *family_, shard, false));
    } else {
      for (int high = 1; high >= 0; --high) {
        for (int s = 0; s < config_.shards; ++s) add_stream(stream_key(config_, core_->name(), *family_, s, high));
      }
    }
  } else if (!discover()) {
    return false;
  }
  for (auto& s : streams_) {
    if (!create_group(s.key)) return false;
  }
  groups_ready_ = true;
  return true;
}

bool RedisSub::discover() {
  next_discover_ns_ = monotonic_now_ns() + std::int64_t{config_.discover_ms} * 1'000'000;
  const std::string registry = registry_key(config_, core_->name());
  ReplyPtr r = nodes_.command(registry, {"SMEMBERS", registry});
  if (!r) return false;
  if (r->type != REDIS_REPLY_ARRAY) return true;
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < r->elements; ++i) keys.emplace_back(as_view(r->element[i]));
  // High lanes first: the read lists streams in this order.
  std::sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
    bool ha = is_high_key(a), hb = is_high_key(b);
    return ha != hb ? ha : a < b;
  });
  for (auto& k : keys) {
    if (stream_index_.count(k) || !family_of_key(k)) continue;
    add_stream(k);
    if (!create_group(k)) return false;
  }
  groups_ready_ = true;
  return true;
}

void RedisSub::start() {
  if (nodes_.ensure(stop_)) setup();
  if (high_reader_) {
    high_thread_ = std::thread([self = shared_from_this()] { self->run_high_reader(); });
    high_thread_id_ = high_thread_.get_id();
  }
  thread_ = std::thread([self = shared_from_this()] { self->run(); });
}

void RedisSub::cancel() {
  if (stop_.exchange(true, std::memory_order_acq_rel)) {
    return;
  }
  local_cv_.notify_all();
  if (thread_.joinable()) {
    const auto me = std::this_thread::get_id();
    if (thread_.get_id() == me || (high_reader_ && high_thread_id_ == me)) {
      thread_.detach();  // cancelled from inside its own handler: the threads end by themselves
      return;
    }
    thread_.join();  // which joins the high-lane reader
  }
  // The thread is gone: the connection is ours. Leave no empty consumer behind;
  // one with pending entries stays so that others can reclaim them.
  if (!nodes_.ready()) return;
  take_polled_acks();
  append_acks();
  consume_acks();
  bool any_pending = false;
  for (auto& s : streams_) {
    ReplyPtr r = nodes_.command(s.key, {"XPENDING", s.key, group_, "-", "+", "1", consumer_});
    if (!r) return;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) any_pending = true;
  }
  if (!any_pending) {
    for (auto& s : streams_) {
      if (!nodes_.command(s.key, {"XGROUP", "DELCONSUMER", s.key, group_, consumer_})) return;
    }
  }
  nodes_.close();
}

bool RedisSub::matches(const std::string& topic) {
  if (literal_) return topic == pattern_;
  auto it = match_cache_.find(topic);
  if (it != match_cache_.end()) return it->second;
  if (match_cache_.size() >= 4096) match_cache_.clear();
  bool m = glob_match(pattern_, topic);
  match_cache_.emplace(topic, m);
  return m;
}

std::size_t RedisSub::local_size() const {
  std::size_t n = 0;
  for (const auto& q : local_) n += q.size();
  return n;
}

void RedisSub::take_polled_acks() {
  if (threaded()) return;
  std::vector<AckItem> items;
  {
    std::lock_guard lock(local_mu_);
    items.swap(polled_acks_);
  }
  for (auto& a : items) {
    recent_.insert(a.id);
    streams_[a.stream].acks.push_back(std::move(a.entry_id));
  }
}

void RedisSub::append_acks() {
  std::unique_lock lock(deliver_mu_, std::defer_lock);
  if (high_reader_) lock.lock();  // the high reader adds ACKs too
  for (auto& s : streams_) {
    if (s.acks.empty()) continue;
    // An unreachable node keeps its ACKs for later (after a failover they go
    // to the promoted replica); its entries stay pending meanwhile.
    Connection* c = nodes_.for_key(s.key);
    if (!c) continue;
    std::vector<std::string_view> args;
    args.reserve(3 + s.acks.size());
    args.push_back("XACK");
    args.push_back(s.key);
    args.push_back(group_);
    for (auto& id : s.acks) args.push_back(id);
    c->append(args);
    auto it = std::find_if(pending_acks_.begin(), pending_acks_.end(), [c](const auto& p) { return p.first == c; });
    if (it == pending_acks_.end()) pending_acks_.emplace_back(c, 1);
    else ++it->second;
    if (s.acks_conn != c) s.acks_in_flight.clear();  // confirmed on the connection before, or never sent
    s.acks_conn = c;
    std::move(s.acks.begin(), s.acks.end(), std::back_inserter(s.acks_in_flight));
    s.acks.clear();
  }
}

void RedisSub::settle_acks(Connection* c, bool confirmed) {
  std::unique_lock lock(deliver_mu_, std::defer_lock);
  if (high_reader_ && !main_has_turn_) lock.lock();
  for (auto& s : streams_) {
    if (s.acks_conn != c) continue;
    if (!confirmed) std::move(s.acks_in_flight.begin(), s.acks_in_flight.end(), std::back_inserter(s.acks));
    s.acks_in_flight.clear();
    s.acks_conn = nullptr;
  }
}

bool RedisSub::consume_acks(Connection* c) {
  bool ok = true;
  for (auto& [conn, n] : pending_acks_) {
    if (c && conn != c) continue;
    if (n == 0) continue;
    bool confirmed = true;
    for (; n > 0; --n) {
      ReplyPtr r = conn->get_reply();
      if (!r) {
        // The connection broke before it answered: those ACKs go out again
        // once it is back (an XACK of an acknowledged id is harmless).
        n = 0;
        ok = confirmed = false;
        break;
      }
      if (config_.cluster && nodes_.is_redirect(r.get())) confirmed = false;
    }
    settle_acks(conn, confirmed);
  }
  std::erase_if(pending_acks_, [](const auto& p) { return p.second == 0; });
  return ok;
}

bool RedisSub::dead_letter(std::size_t stream, std::string_view entry_id, const redisReply* fields,
                           std::string_view reason, long long deliveries) {
  if (!consume_acks()) return false;
  Connection* c = nodes_.for_key(dead_letter_key(config_, core_->name()));
  if (!c) return false;
  ReplyPtr r = write_dead_letter(*c, config_, core_->name(),
                                 {streams_[stream].key, entry_id, group_, consumer_, reason, deliveries, fields});
  if (!r) return false;
  if (r->type == REDIS_REPLY_ERROR) {
    nodes_.is_redirect(r.get());
    log_limited("dead-letter", "XADD " + dead_letter_key(config_, core_->name()) + ": " + std::string(as_view(r.get())));
    return true;  // stays pending; retried at the next claim round
  }
  streams_[stream].acks.emplace_back(entry_id);
  return true;
}

void RedisSub::deliver_now(std::size_t stream, std::string_view entry_id, MessagePtr msg, long long deliveries) {
  (void)deliveries;
  latency_.record(*msg, core_->clock().now_ns());
  in_handler_.store(true, std::memory_order_release);
  bool ok = true;
  try {
    handler_(msg);
  } catch (...) {
    ok = false;
  }
  in_handler_.store(false, std::memory_order_release);
  delivered_.fetch_add(1, std::memory_order_relaxed);
  if (!ok) {
    // No ACK: the entry stays pending, is reclaimed after claim_idle_ms and
    // dead-lettered after max_deliveries.
    handler_errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  recent_.insert(msg->id);
  streams_[stream].acks.emplace_back(entry_id);
}

bool RedisSub::process_in_turn(std::size_t stream, const redisReply* entry, long long deliveries) {
  if (!high_reader_) return process(stream, entry, deliveries);
  // The high reader goes first whenever it is waiting.
  while (high_waiting_.load(std::memory_order_acquire)) std::this_thread::yield();
  std::lock_guard lock(deliver_mu_);
  main_has_turn_ = true;  // a dead letter inside settles ACKs under this same turn
  const bool ok = process(stream, entry, deliveries);
  main_has_turn_ = false;
  return ok;
}

bool RedisSub::process(std::size_t stream, const redisReply* entry, long long deliveries, bool may_dead_letter) {
  if (!entry || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) return true;
  std::string_view entry_id = as_view(entry->element[0]);
  const redisReply* fields = entry->element[1];
  if (deliveries > config_.max_deliveries) {
    return dead_letter(stream, entry_id, fields,
                       "delivered " + std::to_string(deliveries - 1) + " times without an ACK", deliveries);
  }
  auto msg = std::make_shared<Message>();
  if (Status s = decode_entry(fields, *msg); !s) {
    // The high reader has no connection for dead letters: the entry stays
    // pending and the main reader's claim round moves it.
    if (!may_dead_letter) return true;
    core_->decode_errors_shared().fetch_add(1, std::memory_order_relaxed);
    log_limited("decode:" + core_->name(), "bus '" + core_->name() + "': entry " + std::string(entry_id) +
                                                      " of " + streams_[stream].key + " does not decode (" +
                                                      s.message() + "); moved to the dead-letter stream");
    return dead_letter(stream, entry_id, fields, "decode: " + s.message(), deliveries);
  }
  if (!matches(msg->topic)) {
    streams_[stream].acks.emplace_back(entry_id);  // this group has no use for it
    return true;
  }
  if (recent_.contains(msg->id)) {
    duplicates_.add();
    streams_[stream].acks.emplace_back(entry_id);
    return true;
  }
  if (deliveries > 1) redelivered_.add();
  if (threaded()) {
    deliver_now(stream, entry_id, std::move(msg), deliveries);
  } else {
    std::lock_guard lock(local_mu_);
    std::size_t lane = lane_of(msg->priority);
    local_[lane].push_back(LocalEntry{std::move(msg), stream, std::string(entry_id)});
  }
  return true;
}

template <typename Fn>
bool RedisSub::for_each_entry(const redisReply* reply, Fn&& fn) {
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* sr = reply->element[i];
    if (sr->type != REDIS_REPLY_ARRAY || sr->elements != 2) continue;
    auto it = stream_index_.find(std::string(as_view(sr->element[0])));
    if (it == stream_index_.end()) continue;
    const redisReply* entries = sr->element[1];
    for (std::size_t j = 0; j < entries->elements; ++j) {
      if (!fn(it->second, entries->element[j])) return false;
    }
  }
  return true;
}

void RedisSub::read_round(bool high_only, std::size_t count, bool block, std::vector<ReplyPtr>& replies) {
  const std::string count_text = std::to_string(count);
  const std::string block_text = std::to_string(config_.block_ms);
  append_acks();
  std::vector<Connection*> sent(read_groups_.size(), nullptr);
  std::vector<std::string_view> args;
  for (std::size_t g = 0; g < read_groups_.size(); ++g) {
    args = {"XREADGROUP", "GROUP", group_, consumer_, "COUNT", count_text};
    if (block) {
      args.push_back("BLOCK");
      args.push_back(block_text);
    }
    args.push_back("STREAMS");
    std::size_t named = 0;
    for (std::size_t si : read_groups_[g]) {
      if (high_only && !streams_[si].high) continue;
      if (!high_only && high_reader_ && streams_[si].high) continue;  // the high reader's
      args.push_back(streams_[si].key);
      ++named;
    }
    if (named == 0) continue;
    for (std::size_t i = 0; i < named; ++i) args.push_back(">");
    Connection* c = nodes_.for_key(streams_[read_groups_[g].front()].key);
    if (!c) continue;  // that node is away: its streams wait for the next round
    c->append(args);
    sent[g] = c;
  }
  // Each connection answers the ACKs first, then the reads.
  consume_acks();
  replies.clear();
  for (std::size_t g = 0; g < read_groups_.size(); ++g) {
    if (!sent[g]) continue;
    replies.push_back(sent[g]->get_reply());
    if (!replies.back()) nodes_.mark_stale();  // that node broke: re-read the map (or reconnect)
  }
}

void RedisSub::handle_read_error(const redisReply* r) {
  if (r->type != REDIS_REPLY_ERROR) return;
  if (is_error(r, "NOGROUP")) {
    groups_ready_ = false;  // the server lost them (restart without AOF): recreate
  } else if (!nodes_.is_redirect(r)) {
    log_limited("xreadgroup", "XREADGROUP: " + std::string(as_view(r)));
    std::this_thread::sleep_for(std::chrono::milliseconds(config_.block_ms));
  }
}

// Non-blocking read of the high lanes, used between normal entries so urgent
// traffic does not wait for a whole normal batch to be handled.
bool RedisSub::read_high_now() {
  if (high_reader_) return true;  // it reads them as they come
  bool any_high = false;
  for (const auto& s : streams_) any_high = any_high || s.high;
  if (!any_high) return true;
  std::vector<ReplyPtr> replies;
  read_round(true, config_.read_count, false, replies);
  // A node that broke is noticed by the run loop; the others' entries are handled now.
  for (const auto& r : replies) {
    if (!r) continue;
    if (r->type != REDIS_REPLY_ARRAY) {
      handle_read_error(r.get());
      continue;
    }
    if (!for_each_entry(r.get(), [&](std::size_t stream, const redisReply* e) { return process_in_turn(stream, e, 1); })) {
      return false;
    }
  }
  return true;
}

bool RedisSub::read_and_deliver() {
  if (streams_.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(config_.block_ms, 20)));
    empty_reads_.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }
  std::size_t count = config_.read_count;
  if (!threaded()) {
    std::unique_lock lock(local_mu_);
    std::size_t have = local_size();
    std::size_t cap = std::max<std::size_t>(options_.queue_capacity, 1);
    if (have >= cap) {
      local_cv_.wait_for(lock, std::chrono::milliseconds(config_.block_ms));
      return true;
    }
    count = std::min(count, cap - have);
  }
  // One server: one call over every stream, blocking. A cluster: one call per
  // slot, none blocking (a blocked call would hold up the other slots).
  std::vector<ReplyPtr> replies;
  read_round(false, count, !config_.cluster, replies);
  if (replies.empty()) {
    // Nothing to read here (only high lanes, which the high reader has, or
    // every node away): wait instead of spinning.
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(config_.block_ms, 20)));
    empty_reads_.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }
  bool ok = true, got = false;
  for (const auto& r : replies) {
    if (!r) ok = false;
    else if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) got = true;
    else handle_read_error(r.get());
  }
  if (!got) {
    empty_reads_.fetch_add(1, std::memory_order_acq_rel);
    if (config_.cluster && ok) {
      idle_sleep_us_ = std::clamp<std::int64_t>(idle_sleep_us_ * 2, 250, std::int64_t{config_.block_ms} * 1000);
      std::this_thread::sleep_for(std::chrono::microseconds(idle_sleep_us_));
    }
    return ok;
  }
  idle_sleep_us_ = 0;
  // High lanes first, whatever order the servers answered in.
  bool stopped = false, broken = false;
  for (int pass = 1; pass >= 0 && !stopped && !broken; --pass) {
    std::size_t since_check = 0;
    for (const auto& r : replies) {
      if (!r || r->type != REDIS_REPLY_ARRAY) continue;
      for_each_entry(r.get(), [&](std::size_t stream, const redisReply* e) {
        if (streams_[stream].high != (pass == 1)) return true;
        if (stop_.load(std::memory_order_acquire)) {
          stopped = true;  // the rest stays pending
          return false;
        }
        broken = !process_in_turn(stream, e, 1);
        if (!broken && pass == 0 && threaded() && ++since_check >= kUrgentCheckEvery) {
          since_check = 0;
          broken = !read_high_now();
        }
        return !broken;
      });
      if (stopped || broken) break;
    }
  }
  if (stopped) return true;
  if (broken) return false;
  if (!threaded()) local_cv_.notify_all();
  return ok;
}

bool RedisSub::claim() {
  next_claim_ns_ = monotonic_now_ns() + std::int64_t{std::max(config_.claim_idle_ms / 2, 10)} * 1'000'000;
  std::string idle = std::to_string(config_.claim_idle_ms);
  std::string count = std::to_string(std::min<std::size_t>(config_.read_count, 1000));
  for (std::size_t si = 0; si < streams_.size(); ++si) {
    std::string cursor = "0-0";
    for (int round = 0; round < 16; ++round) {
      append_acks();
      if (!consume_acks()) return false;
      ReplyPtr r = nodes_.command(streams_[si].key, {"XAUTOCLAIM", streams_[si].key, group_, consumer_, idle, cursor, "COUNT", count});
      if (!r) return false;
      if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) break;
      cursor = std::string(as_view(r->element[0]));
      const redisReply* entries = r->element[1];
      auto entry_ok = [](const redisReply* e) { return e->type == REDIS_REPLY_ARRAY && e->elements == 2; };
      if (entries->type == REDIS_REPLY_ARRAY && entries->elements > 0 && entry_ok(entries->element[0]) &&
          entry_ok(entries->element[entries->elements - 1])) {
        // XAUTOCLAIM does not say how often an entry was delivered; XPENDING does.
        std::string first(as_view(entries->element[0]->element[0]));
        std::string last(as_view(entries->element[entries->elements - 1]->element[0]));
        std::string n = std::to_string(entries->elements);
        ReplyPtr p = nodes_.command(streams_[si].key, {"XPENDING", streams_[si].key, group_, first, last, n, consumer_});
        if (!p) return false;
        std::unordered_map<std::string, long long> counts;
        if (p->type == REDIS_REPLY_ARRAY) {
          for (std::size_t k = 0; k < p->elements; ++k) {
            const redisReply* e = p->element[k];
            if (e->type == REDIS_REPLY_ARRAY && e->elements == 4) {
              counts[std::string(as_view(e->element[0]))] = e->element[3]->integer;
            }
          }
        }
        for (std::size_t k = 0; k < entries->elements; ++k) {
          const redisReply* e = entries->element[k];
          if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[1]->type != REDIS_REPLY_ARRAY) continue;
          auto c = counts.find(std::string(as_view(e->element[0])));
          if (!process_in_turn(si, e, c == counts.end() ? 2 : c->second)) return false;
        }
      }
      if (cursor == "0-0") break;
    }
  }
  return true;
}

void RedisSub::run() {
  char name[16];
  std::snprintf(name, sizeof name, "rsub:%.10s", options_.name.c_str());
  pthread_setname_np(pthread_self(), name);
  while (!stop_.load(std::memory_order_acquire)) {
    if (!nodes_.ready()) {
      consume_acks();  // a node still up has their replies queued (a broken one answers at once)
      if (!nodes_.ensure(stop_)) continue;
      groups_ready_ = false;
    }
    if (!groups_ready_ && !setup()) continue;
    take_polled_acks();
    std::int64_t now = monotonic_now_ns();
    if (!family_ && now >= next_discover_ns_ && !discover()) continue;
    if (now >= next_claim_ns_ && !claim()) continue;
    read_and_deliver();
  }
  // Whatever was handled gets its ACK before the thread goes, the high
  // reader's too.
  if (high_thread_.joinable()) high_thread_.join();
  if (nodes_.ready()) {
    take_polled_acks();
    append_acks();
    consume_acks();
  }
}

void RedisSub::run_high_reader() {
  char name[16];
  std::snprintf(name, sizeof name, "rhigh:%.9s", options_.name.c_str());
  pthread_setname_np(pthread_self(), name);
  const std::string count = std::to_string(config_.read_count);
  const std::string block = std::to_string(config_.block_ms);
  std::vector<std::string> keys;
  std::vector<std::string_view> args;
  while (!stop_.load(std::memory_order_acquire)) {
    if (!high_nodes_->ready() && !high_nodes_->ensure(stop_)) continue;
    if (!groups_ready_.load(std::memory_order_acquire)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the main reader creates them
      continue;
    }
    {
      // Not deliver_mu_: a handler holding its turn must not keep the next
      // urgent read from going out. The list only grows: copied when it did.
      std::lock_guard lock(high_keys_mu_);
      if (keys.size() != high_keys_.size()) keys = high_keys_;
    }
    if (keys.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(config_.block_ms));
      high_empty_reads_.fetch_add(1, std::memory_order_acq_rel);
      continue;
    }
    args = {"XREADGROUP", "GROUP", group_, consumer_, "COUNT", count, "BLOCK", block, "STREAMS"};
    for (const auto& k : keys) args.push_back(k);
    for (std::size_t i = 0; i < keys.size(); ++i) args.push_back(">");
    Connection* c = high_nodes_->for_key(keys.front());
    ReplyPtr r = c ? c->command(args) : nullptr;
    if (!r) continue;  // reconnects at ready()
    if (r->type == REDIS_REPLY_ERROR) {
      // NOGROUP: the main reader recreates the groups (a restart without AOF).
      if (!is_error(r.get(), "NOGROUP")) log_limited("xreadgroup-high", "XREADGROUP (high): " + std::string(as_view(r.get())));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      high_empty_reads_.fetch_add(1, std::memory_order_acq_rel);
      continue;
    }
    high_waiting_.store(true, std::memory_order_release);
    std::unique_lock lock(deliver_mu_, std::try_to_lock);
    const bool waited = !lock.owns_lock();
    if (waited) lock.lock();
    high_waiting_.store(false, std::memory_order_release);
    auto deliver = [&](const redisReply* reply) {
      for_each_entry(reply, [&](std::size_t stream, const redisReply* e) {
        if (stop_.load(std::memory_order_acquire)) return false;  // the rest stays pending
        process(stream, e, 1, /*may_dead_letter=*/false);
        return true;
      });
    };
    deliver(r.get());
    if (waited) {
      // More high entries may have come while a handler held the turn: take
      // them in this same turn (a read without BLOCK), before any normal one.
      args.erase(args.begin() + 6, args.begin() + 8);  // BLOCK <ms>
      ReplyPtr more = c->command(args);
      if (more && more->type == REDIS_REPLY_ARRAY) deliver(more.get());
    }
  }
  high_nodes_->close();
}

std::size_t RedisSub::poll(std::size_t max) {
  std::lock_guard poll_lock(poll_mu_);
  std::size_t n = 0;
  while (n < max && !stop_.load(std::memory_order_acquire)) {
    LocalEntry e;
    {
      std::lock_guard lock(local_mu_);
      bool got = false;
      for (std::size_t lane = kPriorityCount; lane-- > 0;) {
        if (!local_[lane].empty()) {
          e = std::move(local_[lane].front());
          local_[lane].pop_front();
          got = true;
          break;
        }
      }
      if (!got) break;
    }
    latency_.record(*e.msg, core_->clock().now_ns());
    bool ok = true;
    try {
      handler_(e.msg);
    } catch (...) {
      ok = false;
    }
    delivered_.fetch_add(1, std::memory_order_relaxed);
    ++n;
    if (!ok) {
      handler_errors_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    std::lock_guard lock(local_mu_);
    polled_acks_.push_back(AckItem{e.stream, std::move(e.entry_id), e.msg->id});
  }
  local_cv_.notify_all();
  return n;
}

SubscriberStats RedisSub::stats() const {
  SubscriberStats s;
  s.name = options_.name;
  s.pattern = pattern_;
  s.delivered = delivered_.load(std::memory_order_relaxed);
  s.handler_errors = handler_errors_.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(local_mu_);
    for (std::size_t i = 0; i < kPriorityCount; ++i) {
      s.depth_by_priority[i] = local_[i].size();
      s.queue_depth += local_[i].size();
    }
  }
  latency_.fill(s);
  return s;
}

}  // namespace nautilus::redis
