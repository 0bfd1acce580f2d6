#include "bus/redis_bus.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "bus/recent_ids.h"
#include "bus/redis_connection.h"
#include "bus/redis_layout.h"
#include "core/codec.h"
#include "core/id_generator.h"
#include "core/topic_pattern.h"

namespace nautilus {

// ---- configuration -------------------------------------------------------------

namespace {

std::string percent_decode(std::string_view s, std::string_view url) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= s.size() || std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr != s.data() + i + 3) {
      throw std::invalid_argument("bad percent escape in redis URL '" + std::string(url) + "'");
    }
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

template <typename T>
T parse_number(std::string_view text, std::string_view what, std::string_view url, T lo, T hi) {
  T v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi) {
    throw std::invalid_argument("bad " + std::string(what) + " '" + std::string(text) + "' in redis URL '" +
                                std::string(url) + "'");
  }
  return v;
}

void apply_param(RedisConfig& c, std::string_view key, std::string_view value, std::string_view url) {
  auto i = [&](int lo, int hi) { return parse_number<int>(value, key, url, lo, hi); };
  auto u = [&](std::uint64_t lo, std::uint64_t hi) { return parse_number<std::uint64_t>(value, key, url, lo, hi); };
  if (key == "prefix") {
    if (value.empty() || value.find_first_of("{}: ") != std::string_view::npos) {
      throw std::invalid_argument("bad prefix '" + std::string(value) + "' in redis URL");
    }
    c.prefix = std::string(value);
  } else if (key == "shards") c.shards = i(1, 1024);
  else if (key == "maxlen") c.maxlen = u(1, UINT64_MAX);
  else if (key == "dead_maxlen") c.dead_maxlen = u(1, UINT64_MAX);
  else if (key == "batch") c.max_batch = u(1, 100'000);
  else if (key == "buffer_ms") c.buffer_interval_ms = i(0, 10'000);
  else if (key == "buffer") c.buffer_limit = u(1, 100'000'000);
  else if (key == "group") {
    if (value.empty()) throw std::invalid_argument("empty group in redis URL");
    c.group = std::string(value);
  } else if (key == "count") c.read_count = u(1, 100'000);
  else if (key == "block_ms") c.block_ms = i(1, 60'000);
  else if (key == "claim_idle_ms") c.claim_idle_ms = i(1, 86'400'000);
  else if (key == "max_deliveries") c.max_deliveries = i(1, 1'000'000);
  else if (key == "attempts") c.attempts = i(1, 1'000'000);
  else if (key == "backoff_ms") c.backoff_ms = i(1, 3'600'000);
  else if (key == "backoff_max_ms") c.backoff_max_ms = i(1, 3'600'000);
  else if (key == "connect_timeout_ms") c.connect_timeout_ms = i(1, 600'000);
  else if (key == "discover_ms") c.discover_ms = i(1, 3'600'000);
  else throw std::invalid_argument("unknown parameter '" + std::string(key) + "' in redis URL '" + std::string(url) + "'");
}

}  // namespace

RedisConfig parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) {
    throw std::invalid_argument("redis URL '" + std::string(url) + "' must start with redis://");
  }
  RedisConfig c;
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = cred.find(':');
    if (colon == std::string_view::npos) {
      throw std::invalid_argument("redis URL credentials must be user:password@ or :password@ in '" +
                                  std::string(url) + "'");
    }
    c.user = percent_decode(cred.substr(0, colon), url);
    c.password = percent_decode(cred.substr(colon + 1), url);
    if (c.password.empty()) throw std::invalid_argument("empty password in redis URL '" + std::string(url) + "'");
  }
  std::string_view port;
  if (rest.starts_with('[')) {  // [::1]:6379
    auto close = rest.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("bad IPv6 host in redis URL '" + std::string(url) + "'");
    c.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (rest.starts_with(':')) port = rest.substr(1);
    else if (!rest.empty()) throw std::invalid_argument("bad host in redis URL '" + std::string(url) + "'");
  } else {
    auto colon = rest.rfind(':');
    c.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (c.host.empty()) throw std::invalid_argument("missing host in redis URL '" + std::string(url) + "'");
  if (c.host.find_first_of(" /@") != std::string::npos) {
    throw std::invalid_argument("bad host in redis URL '" + std::string(url) + "'");
  }
  if (!port.empty() || rest.ends_with(':')) c.port = parse_number<int>(port, "port", url, 1, 65535);
  if (!path.empty()) c.db = parse_number<int>(path, "db", url, 0, 1 << 20);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (kv.empty()) continue;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) {
      throw std::invalid_argument("parameter '" + std::string(kv) + "' needs a value in redis URL '" + std::string(url) + "'");
    }
    apply_param(c, kv.substr(0, eq), percent_decode(kv.substr(eq + 1), url), url);
  }
  if (c.backoff_max_ms < c.backoff_ms) c.backoff_max_ms = c.backoff_ms;
  return c;
}

int reconnect_delay_ms(const RedisConfig& config, int attempt) {
  std::int64_t d = config.backoff_ms;
  for (int i = 1; i < attempt && d < config.backoff_max_ms; ++i) d *= 2;
  return static_cast<int>(std::min<std::int64_t>(d, config.backoff_max_ms));
}

namespace {

using redis::ConnState;
using redis::Connection;
using redis::ReplyPtr;

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

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Single-writer counter: the owner thread adds, anyone reads.
struct Counter {
  std::atomic<std::uint64_t> v{0};
  void add(std::uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

// Errors that say "not now" rather than "never": the command is retried.
bool is_transient(const redisReply* r) {
  for (std::string_view p : {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN"}) {
    if (redis::is_error(r, p)) return true;
  }
  return false;
}

bool parse_i64(std::string_view s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Decodes one stream entry's field/value array. Never half-fills `m` in a way
// anyone sees: the caller discards it on error.
Status decode_entry(const redisReply* fields, Message& m) {
  if (!fields || fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0) {
    return Status(StatusCode::kInvalidArgument, "entry has no field/value list");
  }
  bool has_topic = false, has_type = false, has_priority = false, has_id = false, has_ts = false, has_payload = false;
  for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
    std::string_view k = redis::as_view(fields->element[i]);
    std::string_view v = redis::as_view(fields->element[i + 1]);
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

class BusCore;

// ---- subscriber ----------------------------------------------------------------

struct StreamState {
  std::string key;
  bool high = false;
  std::vector<std::string> acks;  // entry ids handled, not yet XACKed
};

struct LocalEntry {
  MessagePtr msg;
  std::size_t stream = 0;
  std::string entry_id;
};

struct AckItem {
  std::size_t stream;
  std::string entry_id;
  MessageId id;
};

class RedisSub : public std::enable_shared_from_this<RedisSub> {
 public:
  RedisSub(std::shared_ptr<BusCore> core, std::string pattern, Handler handler, SubscribeOptions options);
  ~RedisSub();

  void start();  // synchronous group set-up, then the reader thread
  void cancel();
  std::size_t poll(std::size_t max);
  SubscriberStats stats() const;
  const std::string& pattern() const { return pattern_; }
  ConnState state() const { return conn_.state(); }
  std::uint64_t empty_reads() const { return empty_reads_.load(std::memory_order_acquire); }
  bool threaded() const { return options_.mode == DeliveryMode::kThread; }
  bool busy() const { return in_handler_.load(std::memory_order_acquire); }

 private:
  void run();
  bool setup();
  bool create_group(const std::string& key);
  void add_stream(const std::string& key);
  bool discover();
  bool claim();
  bool read_and_deliver();
  bool read_high_now();
  void append_acks();
  bool consume_ack_replies(std::size_t n);
  // Returns false when the connection broke.
  bool process(std::size_t stream, const redisReply* entry, long long deliveries);
  bool dead_letter(std::size_t stream, std::string_view entry_id, const redisReply* fields,
                   std::string_view reason, long long deliveries);
  void deliver_now(std::size_t stream, std::string_view entry_id, MessagePtr msg, long long deliveries);
  bool matches(const std::string& topic);
  std::size_t local_size() const;
  void take_polled_acks();

  std::shared_ptr<BusCore> core_;
  const RedisConfig& config_;
  const std::string pattern_;
  const bool literal_;
  Handler handler_;
  SubscribeOptions options_;
  std::string group_;
  std::string consumer_;
  std::string start_id_;
  std::optional<std::string> family_;
  Connection conn_;
  std::vector<StreamState> streams_;
  std::unordered_map<std::string, std::size_t> stream_index_;
  std::unordered_map<std::string, bool> match_cache_;
  redis::RecentIds recent_{1 << 16};
  bool groups_ready_ = false;
  std::int64_t next_discover_ns_ = 0;
  std::int64_t next_claim_ns_ = 0;
  std::size_t pending_acks_ = 0;

  std::atomic<bool> stop_{false};
  std::atomic<bool> in_handler_{false};
  std::atomic<std::uint64_t> empty_reads_{0};
  std::thread thread_;

  // kPolled: the reader fills local lanes, poll() empties them and hands back ACKs.
  mutable std::mutex local_mu_;
  std::condition_variable local_cv_;
  std::array<std::deque<LocalEntry>, kPriorityCount> local_;
  std::vector<AckItem> polled_acks_;
  std::vector<MessageId> polled_failed_;
  std::mutex poll_mu_;  // one poller at a time

  DeliveryLatency latency_;
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> handler_errors_{0};
  Counter duplicates_;
  Counter redelivered_;
};

// ---- the bus ---------------------------------------------------------------------

struct Pending {
  std::string cmd;  // a pre-formatted XADD
  std::uint32_t key_off = 0, key_len = 0;
  std::string_view key() const { return std::string_view(cmd).substr(key_off, key_len); }
};

class BusCore : public std::enable_shared_from_this<BusCore> {
 public:
  BusCore(RedisConfig config, BusOptions options)
      : config_(std::move(config)),
        options_(std::move(options)),
        clock_(options_.clock ? *options_.clock : live_clock()),
        ids_(clock_, options_.node_id),
        writer_conn_(config_, "nautilus:" + options_.name + ":writer") {
    maxlen_text_ = std::to_string(config_.maxlen);
    registry_key_ = redis::registry_key(config_, options_.name);
  }

  void start() {
    writer_ = std::thread([self = shared_from_this()] { self->writer_loop(); });
  }

  const RedisConfig& config() const { return config_; }
  const std::string& name() const { return options_.name; }
  Clock& clock() const { return clock_; }
  std::atomic<std::uint64_t>& decode_errors_shared() { return decode_errors_shared_; }

  Status publish(std::shared_ptr<Message>& msg) {
    if (closed_.load(std::memory_order_acquire)) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return Status(StatusCode::kClosed, "bus '" + options_.name + "' is closed");
    }
    if (auto s = validate_topic(msg->topic); !s) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
    if (writer_conn_.state() == ConnState::kError) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return Status(StatusCode::kUnavailable, unavailable_text("in ERROR state"));
    }
    if (msg->timestamp_ns == 0 || msg->id.empty()) {
      std::int64_t now = clock_.now_ns();
      if (msg->timestamp_ns == 0) msg->timestamp_ns = now;
      if (msg->id.empty()) msg->id = ids_.next_at(now);
    }
    Pending p;
    format_xadd(*msg, p);
    bool high = is_protected(msg->priority);
    {
      std::unique_lock lock(mu_);
      while (queued_ >= config_.buffer_limit) {
        if (closed_.load(std::memory_order_acquire)) {
          rejected_.fetch_add(1, std::memory_order_relaxed);
          return Status(StatusCode::kClosed, "bus '" + options_.name + "' is closed");
        }
        if (writer_conn_.state() != ConnState::kConnected) {
          rejected_.fetch_add(1, std::memory_order_relaxed);
          return Status(StatusCode::kUnavailable,
                        unavailable_text("outage buffer full (" + std::to_string(queued_) + " messages)"));
        }
        // Connected but behind: the publisher waits (back-pressure), as
        // nothing is lost by waiting.
        room_cv_.wait_for(lock, std::chrono::milliseconds(5));
      }
      (high ? high_q_ : normal_q_).push_back(std::move(p));
      ++queued_;
      ++enqueued_;
      if (writer_waiting_) work_cv_.notify_one();
    }
    published_.fetch_add(1, std::memory_order_relaxed);
    return Status::ok();
  }

  void add_sub(const std::shared_ptr<RedisSub>& s) {
    std::lock_guard lock(subs_mu_);
    subs_.push_back(s);
  }
  void remove_sub(const std::shared_ptr<RedisSub>& s) {
    std::lock_guard lock(subs_mu_);
    auto it = std::find(subs_.begin(), subs_.end(), s);
    if (it == subs_.end()) return;
    subs_.erase(it);
    retired_.add(s->stats());
  }

  bool drain(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    {
      std::unique_lock lock(mu_);
      std::uint64_t target = enqueued_;
      while (confirmed_ < target) {
        if (drain_cv_.wait_until(lock, deadline) == std::cv_status::timeout && confirmed_ < target) return false;
      }
    }
    // Everything is in Redis now; each local subscriber is drained once it has
    // come back empty-handed from two reads that began after that point.
    std::vector<std::pair<std::shared_ptr<RedisSub>, std::uint64_t>> subs;
    {
      std::lock_guard lock(subs_mu_);
      for (auto& s : subs_) {
        if (s->threaded()) subs.emplace_back(s, s->empty_reads());
      }
    }
    for (auto& [s, seen] : subs) {
      while (s->empty_reads() < seen + 2 || s->busy()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    return true;
  }

  void close() { closed_.store(true, std::memory_order_release); }

  void shutdown() {
    close();
    std::vector<std::shared_ptr<RedisSub>> subs;
    {
      std::lock_guard lock(subs_mu_);
      subs = subs_;
    }
    for (auto& s : subs) {
      s->cancel();
      remove_sub(s);
    }
    {
      std::lock_guard lock(mu_);
      writer_stop_.store(true, std::memory_order_release);
      work_cv_.notify_all();
    }
    if (writer_.joinable()) writer_.join();
  }

  BusStats stats() const {
    BusStats out;
    out.name = options_.name;
    out.backend = "redis";
    ConnState worst = writer_conn_.state();
    out.published = published_.load(std::memory_order_relaxed);
    out.rejected = rejected_.load(std::memory_order_relaxed) + write_errors_.load(std::memory_order_relaxed);
    out.decode_errors = decode_errors_shared_.load(std::memory_order_relaxed);
    std::lock_guard lock(subs_mu_);
    DeliveryTotals totals = retired_;
    for (const auto& s : subs_) {
      if (redis::severity(s->state()) > redis::severity(worst)) worst = s->state();
      SubscriberStats ss = s->stats();
      totals.add(ss);
      out.subscribers.push_back(std::move(ss));
    }
    totals.copy_to(out);
    out.state = std::string(redis::to_string(worst));
    return out;
  }

  std::string unavailable_text(const std::string& why) const {
    return "redis bus '" + options_.name + "' at " + config_.host + ":" + std::to_string(config_.port) +
           " unavailable: " + why + [&] {
             std::string e = writer_conn_.last_error();
             return e.empty() ? e : "; last error: " + e;
           }();
  }

 private:
  void format_xadd(const Message& m, Pending& p) {
    std::string& out = p.cmd;
    std::size_t argc = 6 + 2 * 7 + (m.origin_ns ? 2 : 0) + (m.correlation_id.empty() ? 0 : 2);
    out.reserve(200 + m.topic.size() * 2 + m.payload.size() + m.source.size() + m.correlation_id.size());
    redis::resp_header(out, argc);
    redis::resp_arg(out, "XADD");
    // Scratch strings keep their capacity per publishing thread: no allocation.
    thread_local std::string key;
    thread_local std::string id;
    key.clear();
    id.clear();
    redis::append_stream_key(key, config_, options_.name, redis::topic_family(m.topic),
                             redis::shard_of(m.topic, config_.shards), is_protected(m.priority));
    redis::resp_arg(out, key);
    // The writer needs the key (registry SADD, lane on requeue): remember where it sits.
    p.key_off = static_cast<std::uint32_t>(out.size() - 2 - key.size());
    p.key_len = static_cast<std::uint32_t>(key.size());
    redis::resp_arg(out, "MAXLEN");
    redis::resp_arg(out, "~");
    redis::resp_arg(out, maxlen_text_);
    redis::resp_arg(out, "*");
    redis::resp_arg(out, "topic");
    redis::resp_arg(out, m.topic);
    redis::resp_arg(out, "type");
    redis::resp_arg(out, to_string(m.type));
    redis::resp_arg(out, "priority");
    redis::resp_arg(out, to_string(m.priority));
    redis::resp_arg(out, "source");
    redis::resp_arg(out, m.source);
    redis::resp_arg(out, "id");
    m.id.append_to(id);
    redis::resp_arg(out, id);
    redis::resp_arg(out, "timestamp_ns");
    redis::resp_arg(out, m.timestamp_ns);
    if (m.origin_ns) {
      redis::resp_arg(out, "origin_ns");
      redis::resp_arg(out, m.origin_ns);
    }
    if (!m.correlation_id.empty()) {
      redis::resp_arg(out, "correlation_id");
      redis::resp_arg(out, m.correlation_id);
    }
    redis::resp_arg(out, "payload");
    redis::resp_arg(out, m.payload);
  }

  void writer_loop() {
    pthread_setname_np(pthread_self(), "redis-writer");
    std::vector<Pending> inflight;
    std::vector<bool> sadd;  // per inflight entry: an SADD precedes its XADD
    for (;;) {
      bool stopping = writer_stop_.load(std::memory_order_acquire);
      if (!writer_conn_.connected()) {
        if (stopping) break;
        if (writer_conn_.reconnect(writer_stop_)) known_keys_.clear();
        continue;
      }
      {
        std::unique_lock lock(mu_);
        writer_waiting_ = true;
        auto ready = [&] {
          if (!high_q_.empty() || writer_stop_.load(std::memory_order_acquire)) return true;
          if (normal_q_.empty()) return false;
          return config_.buffer_interval_ms == 0 || normal_q_.size() >= config_.max_batch;
        };
        if (!ready()) {
          if (normal_q_.empty()) {
            // Idle: a PING a second keeps the state honest without traffic.
            if (!work_cv_.wait_for(lock, std::chrono::seconds(1), ready)) {
              writer_waiting_ = false;
              lock.unlock();
              if (!writer_conn_.command({"PING"})) continue;
              continue;
            }
          } else {
            work_cv_.wait_for(lock, std::chrono::milliseconds(config_.buffer_interval_ms), ready);
          }
        }
        writer_waiting_ = false;
        stopping = writer_stop_.load(std::memory_order_acquire);
        if (high_q_.empty() && normal_q_.empty()) {
          if (stopping) break;
          continue;
        }
        inflight.clear();
        while (inflight.size() < config_.max_batch && !high_q_.empty()) {
          inflight.push_back(std::move(high_q_.front()));
          high_q_.pop_front();
        }
        while (inflight.size() < config_.max_batch && !normal_q_.empty()) {
          inflight.push_back(std::move(normal_q_.front()));
          normal_q_.pop_front();
        }
      }
      sadd.assign(inflight.size(), false);
      for (std::size_t i = 0; i < inflight.size(); ++i) {
        std::string_view key = inflight[i].key();
        if (known_keys_.find(key) == known_keys_.end()) {
          known_keys_.emplace(key);
          writer_conn_.append({"SADD", registry_key_, key});
          sadd[i] = true;
        }
        writer_conn_.append_formatted(inflight[i].cmd);
      }
      std::size_t done = 0;
      bool broken = false;
      std::size_t retry_from = inflight.size();  // first entry refused for a passing reason
      for (; done < inflight.size(); ++done) {
        if (sadd[done]) {
          ReplyPtr a = writer_conn_.get_reply();
          if (!a) {
            broken = true;
            break;
          }
          if (a->type == REDIS_REPLY_ERROR) known_keys_.erase(std::string(inflight[done].key()));
        }
        ReplyPtr r = writer_conn_.get_reply();
        if (!r) {
          broken = true;
          break;
        }
        if (retry_from < inflight.size()) continue;  // resent anyway; duplicates are dropped by id
        if (is_transient(r.get())) {
          retry_from = done;
          redis::log_limited("xadd-retry", "XADD deferred: " + std::string(redis::as_view(r.get())));
          continue;
        }
        if (r->type == REDIS_REPLY_ERROR) {
          // The server refused this entry (OOM, wrong type): retrying will not help.
          write_errors_.fetch_add(1, std::memory_order_relaxed);
          redis::log_limited("xadd", "XADD to " + std::string(inflight[done].key()) + " refused: " +
                                         std::string(redis::as_view(r.get())));
        }
      }
      if (!broken && retry_from < inflight.size()) {
        // The server is up but not ready (loading its AOF, busy script): the
        // refused entries go back to the front and are tried again shortly.
        broken = true;
        done = retry_from;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      std::lock_guard lock(mu_);
      if (broken) {
        // Unconfirmed entries go back to the front, in order; the XADDs may have
        // landed (then subscribers drop the duplicate by message id).
        if (!writer_conn_.connected()) known_keys_.clear();
        for (std::size_t i = inflight.size(); i-- > done;) {
          bool high = redis::is_high_key(inflight[i].key());
          (high ? high_q_ : normal_q_).push_front(std::move(inflight[i]));
        }
        if (!writer_conn_.connected()) redis::log_limited("writer:" + options_.name, "bus '" + options_.name + "': connection lost (" +
                                                          writer_conn_.last_error() + "); " +
                                                          std::to_string(queued_ - done) + " messages buffered");
      }
      queued_ -= done;
      confirmed_ += done;
      drain_cv_.notify_all();
      room_cv_.notify_all();
    }
    std::lock_guard lock(mu_);
    if (queued_ > 0) {
      redis::log_limited("writer-drop:" + options_.name,
                         "bus '" + options_.name + "' closed with " + std::to_string(queued_) +
                             " messages still buffered (Redis unreachable)");
    }
    confirmed_ = enqueued_;
    drain_cv_.notify_all();
    writer_conn_.close();
  }

  RedisConfig config_;
  BusOptions options_;
  Clock& clock_;
  IdGenerator ids_;
  std::string maxlen_text_;
  std::string registry_key_;

  Connection writer_conn_;
  std::thread writer_;
  std::atomic<bool> writer_stop_{false};
  std::unordered_set<std::string, StringHash, std::equal_to<>> known_keys_;  // writer thread only

  std::mutex mu_;
  std::condition_variable work_cv_, room_cv_, drain_cv_;
  std::deque<Pending> high_q_, normal_q_;
  std::size_t queued_ = 0;
  std::uint64_t enqueued_ = 0, confirmed_ = 0;
  bool writer_waiting_ = false;

  std::atomic<bool> closed_{false};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::atomic<std::uint64_t> decode_errors_shared_{0};

  mutable std::mutex subs_mu_;
  std::vector<std::shared_ptr<RedisSub>> subs_;
  DeliveryTotals retired_;  // closed subscriptions
};

// ---- RedisSub implementation -----------------------------------------------------

constexpr std::size_t kUrgentCheckEvery = 256;

RedisSub::RedisSub(std::shared_ptr<BusCore> core, std::string pattern, Handler handler, SubscribeOptions options)
    : core_(std::move(core)),
      config_(core_->config()),
      pattern_(std::move(pattern)),
      literal_(is_literal_pattern(pattern_)),
      handler_(std::move(handler)),
      options_(std::move(options)),
      consumer_(make_consumer_name(g_serial.fetch_add(1))),
      family_(redis::pattern_family(pattern_)),
      conn_(config_, "nautilus:" + core_->name() + ":sub:" + consumer_) {
  if (options_.name.empty()) options_.name = pattern_;
  group_ = !options_.group.empty() ? options_.group : !config_.group.empty() ? config_.group : options_.name;
}

RedisSub::~RedisSub() { cancel(); }

void RedisSub::add_stream(const std::string& key) {
  if (stream_index_.count(key)) return;
  stream_index_.emplace(key, streams_.size());
  streams_.push_back(StreamState{key, redis::is_high_key(key), {}});
  groups_ready_ = false;
}

bool RedisSub::create_group(const std::string& key) {
  ReplyPtr r = conn_.command({"XGROUP", "CREATE", key, group_, start_id_, "MKSTREAM"});
  if (!r) return false;
  if (redis::is_error(r.get(), "LOADING")) {
    // Restarted server still reading its AOF: try again shortly.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return false;
  }
  if (r->type == REDIS_REPLY_ERROR && !redis::is_error(r.get(), "BUSYGROUP")) {
    redis::log_limited("xgroup", "XGROUP CREATE " + key + " " + group_ + ": " + std::string(redis::as_view(r.get())));
  }
  return true;
}

bool RedisSub::setup() {
  if (start_id_.empty()) {
    // Server time, so entries written after subscribe() returns are always
    // newer than the group's start, whatever the local clock says.
    ReplyPtr t = conn_.command({"TIME"});
    if (!t) return false;
    std::int64_t ms = wall_now_ns() / 1'000'000;
    if (t->type == REDIS_REPLY_ARRAY && t->elements == 2) {
      std::int64_t sec = 0, usec = 0;
      if (parse_i64(redis::as_view(t->element[0]), sec) && parse_i64(redis::as_view(t->element[1]), usec)) {
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
      int shard = redis::shard_of(pattern_, config_.shards);
      add_stream(redis::stream_key(config_, core_->name(), *family_, shard, true));
      add_stream(redis::stream_key(config_, core_->name(), *family_, shard, false));
    } else {
      for (int high = 1; high >= 0; --high) {
        for (int s = 0; s < config_.shards; ++s) add_stream(redis::stream_key(config_, core_->name(), *family_, s, high));
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
  ReplyPtr r = conn_.command({"SMEMBERS", redis::registry_key(config_, core_->name())});
  if (!r) return false;
  if (r->type != REDIS_REPLY_ARRAY) return true;
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < r->elements; ++i) keys.emplace_back(redis::as_view(r->element[i]));
  // High lanes first: the read lists streams in this order.
  std::sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
    bool ha = redis::is_high_key(a), hb = redis::is_high_key(b);
    return ha != hb ? ha : a < b;
  });
  for (auto& k : keys) {
    if (stream_index_.count(k) || !redis::family_of_key(k)) continue;
    add_stream(k);
    if (!create_group(k)) return false;
  }
  groups_ready_ = true;
  return true;
}

void RedisSub::start() {
  if (conn_.reconnect(stop_)) setup();
  thread_ = std::thread([self = shared_from_this()] { self->run(); });
}

void RedisSub::cancel() {
  if (stop_.exchange(true, std::memory_order_acq_rel)) {
    return;
  }
  local_cv_.notify_all();
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // cancelled from inside its own handler
      return;
    }
    thread_.join();
  }
  // The thread is gone: the connection is ours. Leave no empty consumer behind;
  // one with pending entries stays so that others can reclaim them.
  if (!conn_.connected()) return;
  take_polled_acks();
  append_acks();
  consume_ack_replies(pending_acks_);
  bool any_pending = false;
  for (auto& s : streams_) {
    ReplyPtr r = conn_.command({"XPENDING", s.key, group_, "-", "+", "1", consumer_});
    if (!r) return;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) any_pending = true;
  }
  if (!any_pending) {
    for (auto& s : streams_) conn_.append({"XGROUP", "DELCONSUMER", s.key, group_, consumer_});
    for (std::size_t i = 0; i < streams_.size(); ++i) {
      if (!conn_.get_reply()) return;
    }
  }
  conn_.close();
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
  for (auto& s : streams_) {
    if (s.acks.empty()) continue;
    std::vector<std::string_view> args;
    args.reserve(3 + s.acks.size());
    args.push_back("XACK");
    args.push_back(s.key);
    args.push_back(group_);
    for (auto& id : s.acks) args.push_back(id);
    conn_.append(args);
    ++pending_acks_;
    s.acks.clear();
  }
}

bool RedisSub::consume_ack_replies(std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (!conn_.get_reply()) {
      pending_acks_ = 0;
      return false;
    }
  }
  pending_acks_ -= n;
  return true;
}

bool RedisSub::dead_letter(std::size_t stream, std::string_view entry_id, const redisReply* fields,
                           std::string_view reason, long long deliveries) {
  std::string maxlen = std::to_string(config_.dead_maxlen);
  std::string count = std::to_string(deliveries);
  std::string dl = redis::dead_letter_key(config_, core_->name());
  std::vector<std::string_view> args = {"XADD", dl, "MAXLEN", "~", maxlen, "*", "dead_stream", streams_[stream].key,
                                        "dead_entry", entry_id, "dead_group", group_, "dead_consumer", consumer_,
                                        "dead_reason", reason, "dead_deliveries", count};
  if (fields && fields->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < fields->elements; ++i) args.push_back(redis::as_view(fields->element[i]));
  }
  if (!consume_ack_replies(pending_acks_)) return false;
  ReplyPtr r = conn_.command(args);
  if (!r) return false;
  if (r->type == REDIS_REPLY_ERROR) {
    redis::log_limited("dead-letter", "XADD " + dl + ": " + std::string(redis::as_view(r.get())));
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

bool RedisSub::process(std::size_t stream, const redisReply* entry, long long deliveries) {
  if (!entry || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) return true;
  std::string_view entry_id = redis::as_view(entry->element[0]);
  const redisReply* fields = entry->element[1];
  if (deliveries > config_.max_deliveries) {
    return dead_letter(stream, entry_id, fields,
                       "delivered " + std::to_string(deliveries - 1) + " times without an ACK", deliveries);
  }
  auto msg = std::make_shared<Message>();
  if (Status s = decode_entry(fields, *msg); !s) {
    core_->decode_errors_shared().fetch_add(1, std::memory_order_relaxed);
    redis::log_limited("decode:" + core_->name(), "bus '" + core_->name() + "': entry " + std::string(entry_id) +
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

// Non-blocking read of the high lanes, used between normal entries so urgent
// traffic does not wait for a whole normal batch to be handled.
bool RedisSub::read_high_now() {
  std::vector<std::string_view> args = {"XREADGROUP", "GROUP", group_, consumer_, "COUNT"};
  std::string count = std::to_string(config_.read_count);
  args.push_back(count);
  args.push_back("STREAMS");
  std::size_t n = 0;
  for (auto& s : streams_) {
    if (s.high) {
      args.push_back(s.key);
      ++n;
    }
  }
  if (n == 0) return true;
  for (std::size_t i = 0; i < n; ++i) args.push_back(">");
  append_acks();
  conn_.append(args);
  if (!consume_ack_replies(pending_acks_)) return false;
  ReplyPtr r = conn_.get_reply();
  if (!r) return false;
  if (r->type != REDIS_REPLY_ARRAY) return true;
  for (std::size_t i = 0; i < r->elements; ++i) {
    const redisReply* sr = r->element[i];
    if (sr->type != REDIS_REPLY_ARRAY || sr->elements != 2) continue;
    auto it = stream_index_.find(std::string(redis::as_view(sr->element[0])));
    if (it == stream_index_.end()) continue;
    const redisReply* entries = sr->element[1];
    for (std::size_t j = 0; j < entries->elements; ++j) {
      if (!process(it->second, entries->element[j], 1)) return false;
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
  std::string count_text = std::to_string(count);
  std::string block_text = std::to_string(config_.block_ms);
  std::vector<std::string_view> args = {"XREADGROUP", "GROUP", group_, consumer_, "COUNT", count_text,
                                        "BLOCK", block_text, "STREAMS"};
  for (auto& s : streams_) args.push_back(s.key);
  for (std::size_t i = 0; i < streams_.size(); ++i) args.push_back(">");
  append_acks();
  conn_.append(args);
  if (!consume_ack_replies(pending_acks_)) return false;
  ReplyPtr r = conn_.get_reply();
  if (!r) return false;
  if (r->type == REDIS_REPLY_ERROR) {
    if (redis::is_error(r.get(), "NOGROUP")) {
      groups_ready_ = false;  // the server lost them (restart without AOF): recreate
    } else {
      redis::log_limited("xreadgroup", "XREADGROUP: " + std::string(redis::as_view(r.get())));
      std::this_thread::sleep_for(std::chrono::milliseconds(config_.block_ms));
    }
    return true;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
    empty_reads_.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }
  // High lanes first, whatever order the server answered in.
  for (int pass = 1; pass >= 0; --pass) {
    std::size_t since_check = 0;
    for (std::size_t i = 0; i < r->elements; ++i) {
      const redisReply* sr = r->element[i];
      if (sr->type != REDIS_REPLY_ARRAY || sr->elements != 2) continue;
      auto it = stream_index_.find(std::string(redis::as_view(sr->element[0])));
      if (it == stream_index_.end() || streams_[it->second].high != (pass == 1)) continue;
      const redisReply* entries = sr->element[1];
      for (std::size_t j = 0; j < entries->elements; ++j) {
        if (stop_.load(std::memory_order_acquire)) return true;  // the rest stays pending
        if (!process(it->second, entries->element[j], 1)) return false;
        if (pass == 0 && threaded() && ++since_check >= kUrgentCheckEvery) {
          since_check = 0;
          if (!read_high_now()) return false;
        }
      }
    }
  }
  if (!threaded()) local_cv_.notify_all();
  return true;
}

bool RedisSub::claim() {
  next_claim_ns_ = monotonic_now_ns() + std::int64_t{std::max(config_.claim_idle_ms / 2, 10)} * 1'000'000;
  std::string idle = std::to_string(config_.claim_idle_ms);
  std::string count = std::to_string(std::min<std::size_t>(config_.read_count, 1000));
  for (std::size_t si = 0; si < streams_.size(); ++si) {
    std::string cursor = "0-0";
    for (int round = 0; round < 16; ++round) {
      append_acks();
      conn_.append({"XAUTOCLAIM", streams_[si].key, group_, consumer_, idle, cursor, "COUNT", count});
      if (!consume_ack_replies(pending_acks_)) return false;
      ReplyPtr r = conn_.get_reply();
      if (!r) return false;
      if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) break;
      cursor = std::string(redis::as_view(r->element[0]));
      const redisReply* entries = r->element[1];
      auto entry_ok = [](const redisReply* e) { return e->type == REDIS_REPLY_ARRAY && e->elements == 2; };
      if (entries->type == REDIS_REPLY_ARRAY && entries->elements > 0 && entry_ok(entries->element[0]) &&
          entry_ok(entries->element[entries->elements - 1])) {
        // XAUTOCLAIM does not say how often an entry was delivered; XPENDING does.
        std::string first(redis::as_view(entries->element[0]->element[0]));
        std::string last(redis::as_view(entries->element[entries->elements - 1]->element[0]));
        std::string n = std::to_string(entries->elements);
        ReplyPtr p = conn_.command({"XPENDING", streams_[si].key, group_, first, last, n, consumer_});
        if (!p) return false;
        std::unordered_map<std::string, long long> counts;
        if (p->type == REDIS_REPLY_ARRAY) {
          for (std::size_t k = 0; k < p->elements; ++k) {
            const redisReply* e = p->element[k];
            if (e->type == REDIS_REPLY_ARRAY && e->elements == 4) {
              counts[std::string(redis::as_view(e->element[0]))] = e->element[3]->integer;
            }
          }
        }
        for (std::size_t k = 0; k < entries->elements; ++k) {
          const redisReply* e = entries->element[k];
          if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[1]->type != REDIS_REPLY_ARRAY) continue;
          auto c = counts.find(std::string(redis::as_view(e->element[0])));
          if (!process(si, e, c == counts.end() ? 2 : c->second)) return false;
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
    if (!conn_.connected()) {
      pending_acks_ = 0;
      if (!conn_.reconnect(stop_)) continue;
      groups_ready_ = false;
    }
    if (!groups_ready_ && !setup()) continue;
    take_polled_acks();
    std::int64_t now = monotonic_now_ns();
    if (!family_ && now >= next_discover_ns_ && !discover()) continue;
    if (now >= next_claim_ns_ && !claim()) continue;
    read_and_deliver();
  }
  // Whatever was handled gets its ACK before the thread goes.
  if (conn_.connected()) {
    take_polled_acks();
    append_acks();
    consume_ack_replies(pending_acks_);
  }
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

// ---- public wrappers -------------------------------------------------------------

class RedisSubscription final : public Subscription {
 public:
  RedisSubscription(std::shared_ptr<BusCore> core, std::shared_ptr<RedisSub> sub)
      : core_(std::move(core)), sub_(std::move(sub)) {}
  ~RedisSubscription() override { cancel(); }
  void cancel() override {
    sub_->cancel();
    core_->remove_sub(sub_);
  }
  std::size_t poll(std::size_t max) override { return sub_->poll(max); }
  SubscriberStats stats() const override { return sub_->stats(); }
  const std::string& pattern() const override { return sub_->pattern(); }

 private:
  std::shared_ptr<BusCore> core_;
  std::shared_ptr<RedisSub> sub_;
};

class RedisBus final : public Bus {
 public:
  RedisBus(RedisConfig config, BusOptions options)
      : core_(std::make_shared<BusCore>(std::move(config), std::move(options))) {
    core_->start();
  }
  ~RedisBus() override { core_->shutdown(); }

  Status publish(std::shared_ptr<Message> msg) override {
    if (!msg) return Status(StatusCode::kInvalidArgument, "null message");
    return core_->publish(msg);
  }
  using Bus::publish;

  SubscriptionPtr subscribe(std::string_view pattern, Handler handler, SubscribeOptions options) override {
    if (auto s = validate_pattern(pattern); !s) throw std::invalid_argument(s.to_string());
    if (!handler) throw std::invalid_argument("subscribe: empty handler");
    auto sub = std::make_shared<RedisSub>(core_, std::string(pattern), std::move(handler), std::move(options));
    sub->start();
    core_->add_sub(sub);
    return std::make_unique<RedisSubscription>(core_, std::move(sub));
  }

  bool drain(std::chrono::milliseconds timeout) override { return core_->drain(timeout); }
  void close() override { core_->close(); }
  BusStats stats() const override { return core_->stats(); }
  const std::string& name() const override { return core_->name(); }
  Clock& clock() const override { return core_->clock(); }

 private:
  std::shared_ptr<BusCore> core_;
};

}  // namespace

std::unique_ptr<Bus> make_redis_bus(RedisConfig config, BusOptions options) {
  if (options.name.empty() || options.name.find_first_of("{}: ") != std::string::npos) {
    throw std::invalid_argument("redis bus name '" + options.name + "' must be non-empty without {}: or spaces");
  }
  return std::make_unique<RedisBus>(std::move(config), std::move(options));
}

std::unique_ptr<Bus> make_redis_bus(std::string_view url, BusOptions options) {
  return make_redis_bus(parse_redis_url(url), std::move(options));
}

}  // namespace nautilus
