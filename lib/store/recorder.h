// The recorder: keeps chosen bus topics in the history store. Its handlers
// run on the bus's subscriber threads and only hand the shared message to a
// bounded RecordQueue (never blocking a bus thread, no allocation per
// message); one writer thread takes batches off it and writes each in one
// transaction, when `batch_size` messages are waiting or `flush_interval`
// has passed, whichever is first. So a killed daemon loses at most what was
// queued since the last flush, and a stored batch is whole or absent.
//
// When the store fails (PostgreSQL down, disk full) the writer keeps the
// failed batch and retries it, the queue goes on buffering up to its
// capacity and then drops the lowest priorities first (counted per
// priority); the first success after the outage resumes normal flushing.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/router.h"
#include "store/record_queue.h"
#include "store/store.h"

namespace nautilus::store {

struct TopicSelection {
  BusKind bus = BusKind::kEngine;
  std::string pattern;
  bool operator==(const TopicSelection&) const = default;
};

// The default selection: bars, fills, orders, risk decisions, alerts and
// state, VPIN warnings, engine status and performance metrics. Trades and
// quotes are opt-in (they are most of the traffic).
std::vector<TopicSelection> default_recorded_topics();
// "engine:risk.*" or "marketdata:marketdata.real_time.bar.*"; a pattern
// without a bus goes on the bus its topic family uses ("marketdata.*" on the
// marketdata bus, everything else on the engine bus). Throws
// std::invalid_argument for an unknown bus or an invalid pattern.
TopicSelection parse_topic_selection(std::string_view text);
std::string to_string(const TopicSelection& t);

struct RecorderConfig {
  std::vector<TopicSelection> topics = default_recorded_topics();
  std::size_t batch_size = 1000;
  std::chrono::milliseconds flush_interval{200};
  std::size_t queue_capacity = 200'000;  // messages buffered before drops
  int retention_days = 0;                // 0: keep everything
  std::chrono::milliseconds retry_interval{500};  // between writes while the store fails
  bool operator==(const RecorderConfig&) const = default;
};

struct RecorderStats {
  std::uint64_t received = 0;    // messages handed to the recorder
  std::uint64_t written = 0;     // rows committed
  std::uint64_t batches = 0;     // transactions committed
  std::uint64_t write_errors = 0;
  std::uint64_t outages = 0;     // times the store went from working to failing
  std::array<std::uint64_t, kPriorityCount> dropped{};
  std::uint64_t dropped_total = 0;
  std::uint64_t queued = 0;      // waiting, the retried batch included
  bool failing = false;
  std::string last_error;
  std::uint64_t retention_removed = 0;
};

class Recorder {
 public:
  using LogSink = std::function<void(std::string_view level, const std::string& line)>;

  Recorder(Store& store, RecorderConfig config, LogSink log = {});
  ~Recorder();  // stop()
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Subscribes the topics and starts the writer. Throws on a bad pattern.
  void start(Router& router);
  // Cancels the subscriptions, writes what is queued (waiting at most
  // `timeout` for a failing store), stops the writer.
  void stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Waits until everything handed over so far is written (true), or the
  // timeout passes (false). Wakes the writer at once rather than at its interval.
  bool flush(std::chrono::milliseconds timeout);

  // The handlers' entry point (public so a test or bench can feed it directly).
  void offer(const MessagePtr& m);

  RecorderStats stats() const;
  const RecorderConfig& config() const { return config_; }

 private:
  void writer_loop();
  bool write_pending();  // false when the store failed
  void log(std::string_view level, const std::string& line) const;

  Store& store_;
  RecorderConfig config_;
  LogSink log_;
  RecordQueue queue_;
  std::vector<SubscriptionPtr> subscriptions_;
  // Per subscription: the earlier selections on the same bus, so a message
  // two overlapping patterns match is recorded once (by the first).
  std::vector<std::vector<std::string>> earlier_patterns_;

  std::thread writer_;
  mutable std::mutex mu_;
  std::condition_variable wake_, written_cv_;
  bool stopping_ = false;
  bool flush_requested_ = false;
  std::vector<MessagePtr> pending_;  // the batch being written / retried (writer thread)
  std::vector<Record> records_;
  std::atomic<std::uint64_t> received_{0}, written_{0}, batches_{0}, write_errors_{0}, outages_{0},
      retention_removed_{0}, pending_size_{0};
  std::atomic<bool> failing_{false};
  std::atomic<bool> wake_pending_{false};
  std::string last_error_;  // under mu_
};

nlohmann::json to_json(const RecorderStats& s);

}  // namespace nautilus::store
