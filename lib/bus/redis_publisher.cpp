#include "bus/redis_publisher.h"

#include <pthread.h>

#include <algorithm>

#include "bus/redis_layout.h"
#include "bus/redis_subscriber.h"
#include "core/codec.h"
#include "core/topic_pattern.h"

namespace nautilus::redis {

BusCore::BusCore(RedisConfig config, BusOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : live_clock()),
      ids_(clock_, options_.node_id),
      writer_nodes_(config_, "nautilus:" + options_.name + ":writer") {
  maxlen_text_ = std::to_string(config_.maxlen);
  registry_key_ = registry_key(config_, options_.name);
}

void BusCore::start() {
  writer_ = std::thread([self = shared_from_this()] { self->writer_loop(); });
  monitor_.start();
}

Status BusCore::publish(std::shared_ptr<Message>& msg) {
  if (closed_.load(std::memory_order_acquire)) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return Status(StatusCode::kClosed, "bus '" + options_.name + "' is closed");
  }
  if (auto s = validate_topic(msg->topic); !s) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  if (writer_nodes_.state() == ConnState::kError) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return Status(StatusCode::kUnavailable, unavailable_text("in ERROR state"));
  }
  if (msg->timestamp_ns == 0 || msg->id.empty()) {
    std::int64_t now = clock_.now_ns();
    if (msg->timestamp_ns == 0) msg->timestamp_ns = now;
    if (msg->id.empty()) msg->id = ids_.next_at(now);
  }
  EncodedEntry p;
  encode_xadd(*msg, config_, options_.name, maxlen_text_, p);
  bool high = is_protected(msg->priority);
  {
    std::unique_lock lock(mu_);
    while (queued_ >= config_.buffer_limit) {
      if (closed_.load(std::memory_order_acquire)) {
        rejected_.fetch_add(1, std::memory_order_relaxed);
        return Status(StatusCode::kClosed, "bus '" + options_.name + "' is closed");
      }
      if (writer_nodes_.state() != ConnState::kConnected) {
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

void BusCore::add_sub(const std::shared_ptr<RedisSub>& s) {
  std::lock_guard lock(subs_mu_);
  subs_.push_back(s);
}

void BusCore::remove_sub(const std::shared_ptr<RedisSub>& s) {
  std::lock_guard lock(subs_mu_);
  auto it = std::find(subs_.begin(), subs_.end(), s);
  if (it == subs_.end()) return;
  subs_.erase(it);
  retired_.add(s->stats());
}

bool BusCore::drain(std::chrono::milliseconds timeout) {
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
  struct Seen {
    std::shared_ptr<RedisSub> sub;
    std::uint64_t reads, high_reads;
  };
  std::vector<Seen> subs;
  {
    std::lock_guard lock(subs_mu_);
    for (auto& s : subs_) {
      if (s->threaded()) subs.push_back({s, s->empty_reads(), s->high_empty_reads()});
    }
  }
  for (auto& [s, seen, high_seen] : subs) {
    while (s->empty_reads() < seen + 2 || s->high_empty_reads() < high_seen + 2 || s->busy()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return true;
}

void BusCore::shutdown() {
  close();
  monitor_.stop();
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

BusStats BusCore::stats() const {
  BusStats out;
  out.name = options_.name;
  out.backend = "redis";
  ConnState worst = writer_nodes_.state();
  out.published = published_.load(std::memory_order_relaxed);
  out.rejected = rejected_.load(std::memory_order_relaxed) + write_errors_.load(std::memory_order_relaxed);
  out.decode_errors = decode_errors_shared_.load(std::memory_order_relaxed);
  std::lock_guard lock(subs_mu_);
  DeliveryTotals totals = retired_;
  for (const auto& s : subs_) {
    if (severity(s->state()) > severity(worst)) worst = s->state();
    SubscriberStats ss = s->stats();
    totals.add(ss);
    out.subscribers.push_back(std::move(ss));
  }
  totals.copy_to(out);
  out.state = std::string(to_string(worst));
  out.groups = monitor_.groups();
  return out;
}

std::string BusCore::unavailable_text(const std::string& why) const {
  return "redis bus '" + options_.name + "' at " + config_.host + ":" + std::to_string(config_.port) +
         " unavailable: " + why + [&] {
           std::string e = writer_nodes_.last_error();
           return e.empty() ? e : "; last error: " + e;
         }();
}

namespace {

// Per connection of one pipelined batch: once an entry on it must be retried,
// every later entry on it is retried too (one stream lives on one node, so
// its order holds).
struct BatchConn {
  Connection* conn;
  bool retry_rest;
};

bool& retry_rest_of(std::vector<BatchConn>& conns, Connection* c) {
  for (auto& b : conns) {
    if (b.conn == c) return b.retry_rest;
  }
  conns.push_back({c, false});
  return conns.back().retry_rest;
}

}  // namespace

void BusCore::writer_loop() {
  pthread_setname_np(pthread_self(), "redis-writer");
  std::vector<EncodedEntry> inflight;
  std::vector<Connection*> route;   // per inflight entry: its node (nullptr: unreachable now)
  std::vector<Connection*> sadd;    // per inflight entry: where an SADD precedes its XADD, or nullptr
  std::vector<bool> retry;          // per inflight entry: not confirmed, goes back to the queue
  std::vector<BatchConn> batch_conns;
  std::vector<std::pair<std::size_t, Redirect>> asks;  // entries a migrating slot sent elsewhere
  const std::string wait_replicas = std::to_string(config_.wait_replicas);
  const std::string wait_timeout = std::to_string(config_.wait_timeout_ms);
  for (;;) {
    bool stopping = writer_stop_.load(std::memory_order_acquire);
    if (!writer_nodes_.ready()) {
      if (stopping) break;
      if (writer_nodes_.ensure(writer_stop_)) known_keys_.clear();
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
            Connection* c = writer_nodes_.any();
            if (!c || !c->command({"PING"})) writer_nodes_.mark_stale();
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
    const std::size_t n = inflight.size();
    route.assign(n, nullptr);
    sadd.assign(n, nullptr);
    retry.assign(n, false);
    batch_conns.clear();
    Connection* registry_conn = writer_nodes_.for_key(registry_key_);
    for (std::size_t i = 0; i < n; ++i) {
      std::string_view key = inflight[i].key();
      if (registry_conn && known_keys_.find(key) == known_keys_.end()) {
        known_keys_.emplace(key);
        registry_conn->append({"SADD", registry_key_, key});
        sadd[i] = registry_conn;
      }
      route[i] = writer_nodes_.for_key(key);
      if (route[i]) {
        route[i]->append_formatted(inflight[i].cmd);
        retry_rest_of(batch_conns, route[i]);
      }
    }
    // wait_replicas: an entry is confirmed (and leaves the buffer) only once
    // that many replicas have it, so a master killed right after its reply
    // loses nothing: the unconfirmed rest is resent to the promoted replica.
    if (config_.wait_replicas > 0) {
      for (auto& b : batch_conns) b.conn->append({"WAIT", wait_replicas, wait_timeout});
    }
    asks.clear();
    std::size_t retries = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (sadd[i]) {
        ReplyPtr a = sadd[i]->get_reply();
        if (!a || a->type == REDIS_REPLY_ERROR) {
          known_keys_.erase(std::string(inflight[i].key()));  // sent again with the next entry of that key
          if (a) writer_nodes_.is_redirect(a.get());
        }
      }
      Connection* c = route[i];
      ReplyPtr r = c ? c->get_reply() : nullptr;
      bool again = !r;
      if (r && !again) {
        if (retry_rest_of(batch_conns, c)) {
          again = true;  // resent anyway; duplicates are dropped by id
        } else if (auto redirect = parse_redirect(r.get())) {
          if (redirect->moved) {
            writer_nodes_.mark_stale();
            again = true;
          } else {
            // ASK: the slot is moving; this entry goes to the node named,
            // once every reply of this batch is read.
            asks.emplace_back(i, std::move(*redirect));
            continue;
          }
        } else if (is_transient(r.get())) {
          log_limited("xadd-retry", "XADD deferred: " + std::string(as_view(r.get())));
          again = true;
        }
        if (!again && r->type == REDIS_REPLY_ERROR) {
          // The server refused this entry (OOM, wrong type): retrying will not help.
          write_errors_.fetch_add(1, std::memory_order_relaxed);
          log_limited("xadd", "XADD to " + std::string(inflight[i].key()) + " refused: " +
                                  std::string(as_view(r.get())));
        }
      }
      if (again) {
        retry[i] = true;
        ++retries;
        if (c) retry_rest_of(batch_conns, c) = true;
      }
    }
    if (config_.wait_replicas > 0) {
      for (auto& b : batch_conns) {
        ReplyPtr w = b.conn->get_reply();
        if (w && w->type == REDIS_REPLY_INTEGER && w->integer >= config_.wait_replicas) continue;
        log_limited("wait:" + options_.name, "bus '" + options_.name + "': WAIT " + wait_replicas + " on " +
                                                 b.conn->host() + ":" + std::to_string(b.conn->port()) +
                                                 " not met; its entries are sent again");
        for (std::size_t i = 0; i < n; ++i) {
          if (route[i] == b.conn && !retry[i]) {
            retry[i] = true;
            ++retries;
          }
        }
      }
    }
    for (auto& [i, to] : asks) {
      ReplyPtr r = writer_nodes_.ask(to, inflight[i].cmd);
      if (!r || is_transient(r.get()) || parse_redirect(r.get())) {
        retry[i] = true;
        ++retries;
      } else if (r->type == REDIS_REPLY_ERROR) {
        write_errors_.fetch_add(1, std::memory_order_relaxed);
        log_limited("xadd", "XADD to " + std::string(inflight[i].key()) + " refused: " + std::string(as_view(r.get())));
      }
    }
    if (retries > 0) {
      // A node is away (reconnects at ensure()) or not ready (loading its AOF,
      // a slot moving): the unconfirmed entries go back to the front, in
      // order, and are tried again shortly. Their XADDs may have landed; then
      // subscribers drop the duplicate by message id.
      for (Connection* c : route) {
        if (!c || !c->connected()) {
          writer_nodes_.mark_stale();
          break;
        }
      }
      if (retries == n) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard lock(mu_);
    if (retries > 0) {
      for (std::size_t i = n; i-- > 0;) {
        if (!retry[i]) continue;
        bool high = is_high_key(inflight[i].key());
        (high ? high_q_ : normal_q_).push_front(std::move(inflight[i]));
      }
      if (!writer_nodes_.ready()) {
        log_limited("writer:" + options_.name, "bus '" + options_.name + "': connection lost (" +
                                                   writer_nodes_.last_error() + "); " +
                                                   std::to_string(queued_ - (n - retries)) + " messages buffered");
      }
    }
    queued_ -= n - retries;
    confirmed_ += n - retries;
    drain_cv_.notify_all();
    room_cv_.notify_all();
  }
  std::lock_guard lock(mu_);
  if (queued_ > 0) {
    log_limited("writer-drop:" + options_.name,
                "bus '" + options_.name + "' closed with " + std::to_string(queued_) +
                    " messages still buffered (Redis unreachable)");
  }
  confirmed_ = enqueued_;
  drain_cv_.notify_all();
  writer_nodes_.close();
}

}  // namespace nautilus::redis
