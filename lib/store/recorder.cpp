#include "store/recorder.h"

#include <stdexcept>

#include "core/clock.h"
#include "core/topic_pattern.h"

namespace nautilus::store {
namespace {

constexpr auto kRetentionEvery = std::chrono::hours(1);

}  // namespace

std::vector<TopicSelection> default_recorded_topics() {
  return {
      {BusKind::kMarketData, "marketdata.real_time.bar.*"},
      {BusKind::kEngine, "portfolio.fill.*"},
      {BusKind::kEngine, "execution.fill.*"},
      {BusKind::kEngine, "strategy.order.*"},
      {BusKind::kEngine, "risk.decision.*"},
      {BusKind::kEngine, "risk.alert.*"},
      {BusKind::kEngine, "risk.state"},
      {BusKind::kEngine, "vpin.alert.*"},
      {BusKind::kEngine, "engine.status.*"},
      {BusKind::kEngine, "strategy.state.*"},
      {BusKind::kEngine, "analytics.*"},
  };
}

TopicSelection parse_topic_selection(std::string_view text) {
  TopicSelection t;
  auto colon = text.find(':');
  if (colon != std::string_view::npos) {
    auto bus = parse_bus_kind(text.substr(0, colon));
    if (!bus) {
      throw std::invalid_argument("unknown bus '" + std::string(text.substr(0, colon)) + "' in '" + std::string(text) +
                                  "' (marketdata or engine)");
    }
    t.bus = *bus;
    t.pattern = std::string(text.substr(colon + 1));
  } else {
    t.pattern = std::string(text);
    t.bus = t.pattern.starts_with("marketdata.") ? BusKind::kMarketData : BusKind::kEngine;
  }
  if (Status st = validate_pattern(t.pattern); !st) {
    throw std::invalid_argument("bad topic pattern '" + t.pattern + "': " + st.message());
  }
  return t;
}

std::string to_string(const TopicSelection& t) { return std::string(to_string(t.bus)) + ":" + t.pattern; }

Recorder::Recorder(Store& store, RecorderConfig config, LogSink log)
    : store_(store), config_(std::move(config)), log_(std::move(log)), queue_(config_.queue_capacity) {
  if (config_.batch_size == 0) config_.batch_size = 1;
  pending_.reserve(config_.batch_size);
  records_.resize(config_.batch_size);
}

Recorder::~Recorder() { stop(); }

void Recorder::log(std::string_view level, const std::string& line) const {
  if (log_) log_(level, line);
}

void Recorder::offer(const MessagePtr& m) {
  received_.fetch_add(1, std::memory_order_relaxed);
  queue_.push(m);
  // Once per batch, under the writer's mutex so the wake-up cannot fall
  // between its check and its wait; the other messages take no lock here.
  if (queue_.size() >= config_.batch_size && !wake_pending_.exchange(true)) {
    std::lock_guard lock(mu_);
    wake_.notify_one();
  }
}

void Recorder::start(Router& router) {
  for (std::size_t k = 0; k < config_.topics.size(); ++k) {
    std::vector<std::string> earlier;
    for (std::size_t j = 0; j < k; ++j) {
      if (config_.topics[j].bus == config_.topics[k].bus) earlier.push_back(config_.topics[j].pattern);
    }
    earlier_patterns_.push_back(std::move(earlier));
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  writer_ = std::thread([this] { writer_loop(); });
  for (std::size_t k = 0; k < config_.topics.size(); ++k) {
    const TopicSelection& t = config_.topics[k];
    SubscribeOptions opts;
    opts.name = "recorder:" + t.pattern;
    // A group per selection: on Redis a group's consumer acknowledges the
    // entries its pattern does not match, so selections sharing a group (and a
    // stream: risk.state and risk.alert.* both live in the risk stream) would
    // take each other's messages away. Named by the pattern, so a restart with
    // the same config resumes the same groups.
    opts.group = "recorder:" + t.pattern;
    opts.queue_capacity = 65'536;  // the handler only enqueues; this absorbs bursts
    const std::vector<std::string>* earlier = &earlier_patterns_[k];
    subscriptions_.push_back(router.subscribe(t.bus, t.pattern, [this, earlier](const MessagePtr& m) {
      for (const auto& p : *earlier) {
        if (glob_match(p, m->topic)) return;  // an earlier selection records it
      }
      offer(m);
    }, opts));
  }
}

bool Recorder::write_pending() {
  std::size_t n = pending_.size();
  for (std::size_t i = 0; i < n; ++i) to_record(*pending_[i], records_[i]);
  Status st = store_.write(std::span<const Record>(records_.data(), n));
  if (!st) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    bool was_failing = failing_.exchange(true);
    {
      std::lock_guard lock(mu_);
      last_error_ = st.message();
    }
    if (!was_failing) {
      outages_.fetch_add(1);
      log("error", "recorder: writing to the history store failed (" + st.message() + "); buffering up to " +
                       std::to_string(config_.queue_capacity) + " messages, then dropping the lowest priorities");
    }
    return false;
  }
  if (failing_.exchange(false)) {
    log("info", "recorder: history store is back (" + store_.describe() + "); " +
                    std::to_string(queue_.dropped_total()) + " message(s) dropped so far");
  }
  written_.fetch_add(n, std::memory_order_relaxed);
  batches_.fetch_add(1, std::memory_order_relaxed);
  pending_.clear();
  pending_size_.store(0);
  return true;
}

void Recorder::writer_loop() {
  using steady = std::chrono::steady_clock;
  auto next_flush = steady::now() + config_.flush_interval;
  auto next_retention = steady::now();
  auto stop_deadline = steady::time_point::max();
  for (;;) {
    bool stop = false, forced = false;
    {
      std::unique_lock lock(mu_);
      // The flag is cleared under the lock before each check: a producer that
      // raised it while the writer was busy must not keep the next one from
      // waking it (a lost wake-up left a full batch waiting for the interval).
      wake_.wait_until(lock, next_flush, [&] {
        wake_pending_.store(false);
        return stopping_ || flush_requested_ || (!failing_.load() && queue_.size() >= config_.batch_size);
      });
      stop = stopping_;
      forced = stop || flush_requested_ || steady::now() >= next_flush;
      if (stop && stop_deadline == steady::time_point::max()) stop_deadline = steady::now() + config_.retry_interval * 4;
    }
    bool ok = true;
    for (;;) {
      if (pending_.empty()) {
        queue_.pop(pending_, config_.batch_size);
        pending_size_.store(pending_.size());
      }
      if (pending_.empty()) break;
      if (!(ok = write_pending())) break;
      // On a size trigger, write whole batches only; the interval writes the rest.
      if (!forced && queue_.size() < config_.batch_size) break;
    }
    if (ok && config_.retention_days > 0 && steady::now() >= next_retention) {
      next_retention = steady::now() + kRetentionEvery;
      try {
        std::uint64_t removed = store_.apply_retention(wall_now_ns(), config_.retention_days);
        retention_removed_.fetch_add(removed);
        if (removed) log("info", "recorder: retention removed " + std::to_string(removed) + " (older than " +
                                     std::to_string(config_.retention_days) + " days)");
      } catch (const std::exception& e) {
        log("warn", std::string("recorder: retention failed: ") + e.what());
      }
    }
    next_flush = steady::now() + (ok ? config_.flush_interval : config_.retry_interval);
    bool empty = pending_.empty() && queue_.size() == 0;
    {
      std::lock_guard lock(mu_);
      if (empty) flush_requested_ = false;
    }
    written_cv_.notify_all();
    if (stop && (empty || steady::now() >= stop_deadline)) return;
  }
}

bool Recorder::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  // Every message offered is eventually written or dropped (counted), so
  // this is exact even while the writer moves a batch between queue and store.
  const std::uint64_t target = received_.load();
  auto done = [&] { return written_.load() + queue_.dropped_total() >= target; };
  if (!writer_.joinable()) return done();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    flush_requested_ = true;
    wake_.notify_one();
    if (written_cv_.wait_until(lock, deadline) == std::cv_status::timeout) return done();
  }
  return true;
}

void Recorder::stop(std::chrono::milliseconds timeout) {
  for (auto& s : subscriptions_) s->cancel();
  subscriptions_.clear();
  if (!writer_.joinable()) return;
  flush(timeout);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
  std::uint64_t lost = queue_.size() + pending_.size();
  if (lost) log("warn", "recorder: stopped with " + std::to_string(lost) + " message(s) not written (" +
                            store_.describe() + " failing: " + stats().last_error + ")");
}

RecorderStats Recorder::stats() const {
  RecorderStats s;
  s.received = received_.load();
  s.written = written_.load();
  s.batches = batches_.load();
  s.write_errors = write_errors_.load();
  s.outages = outages_.load();
  s.dropped = queue_.dropped();
  for (auto d : s.dropped) s.dropped_total += d;
  s.queued = queue_.size() + pending_size_.load();
  s.failing = failing_.load();
  s.retention_removed = retention_removed_.load();
  std::lock_guard lock(mu_);
  s.last_error = last_error_;
  return s;
}

nlohmann::json to_json(const RecorderStats& s) {
  nlohmann::json dropped = nlohmann::json::object();
  for (Priority p : kAllPriorities) dropped[std::string(to_string(p))] = s.dropped[lane_of(p)];
  return {{"received", s.received},
          {"written", s.written},
          {"batches", s.batches},
          {"write_errors", s.write_errors},
          {"outages", s.outages},
          {"dropped", dropped},
          {"dropped_total", s.dropped_total},
          {"queued", s.queued},
          {"failing", s.failing},
          {"last_error", s.last_error},
          {"retention_removed", s.retention_removed}};
}

}  // namespace nautilus::store
