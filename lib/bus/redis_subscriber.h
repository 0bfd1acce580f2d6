// One subscription on the Redis bus: a consumer in its consumer group (the
// engine kind) on every stream its pattern can match, with its own connection
// (one per master on a cluster) and reader thread. It reads the high lanes first (and between batches of
// normal entries), filters by pattern, drops duplicates by message id, calls
// the handler (or queues for poll()), XACKs what was handled, reclaims
// entries other consumers left pending past claim_idle_ms, and dead-letters
// what does not decode or was delivered max_deliveries times. On one server a
// second thread with its own connection blocks on the high lanes alone
// (high_reader), so an urgent entry never waits for the normal lane's read,
// its XACKs or its batch: it is handed to the handler as soon as the handler
// is free (the two threads take turns, high first; a handler is never called
// twice at once). On one server
// one XREADGROUP covers every stream and blocks; on a cluster a call cannot
// span hash slots, so each round pipelines one non-blocking XREADGROUP per
// slot (both lanes of a shard share one) to the slot's node, and an idle
// subscriber backs off up to block_ms between rounds. Private to lib/bus.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bus/bus.h"
#include "bus/delivery_latency.h"
#include "bus/recent_ids.h"
#include "bus/redis_connection.h"
#include "bus/redis_nodes.h"

namespace nautilus::redis {

class BusCore;

// Single-writer counter: the owner thread adds, anyone reads.
struct Counter {
  std::atomic<std::uint64_t> v{0};
  void add(std::uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

struct StreamState {
  std::string key;
  bool high = false;
  std::vector<std::string> acks;  // entry ids handled, not yet XACKed
  // XACKed on `acks_conn`, its reply not read yet: sent again if that
  // connection breaks first (else those entries come back as duplicates).
  std::vector<std::string> acks_in_flight;
  Connection* acks_conn = nullptr;
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
  ConnState state() const {
    ConnState s = nodes_.state();
    if (high_nodes_ && severity(high_nodes_->state()) > severity(s)) s = high_nodes_->state();
    return s;
  }
  std::uint64_t empty_reads() const { return empty_reads_.load(std::memory_order_acquire); }
  // Empty reads of the high-lane reader (the main reader's when there is none).
  std::uint64_t high_empty_reads() const {
    return high_reader_ ? high_empty_reads_.load(std::memory_order_acquire) : empty_reads();
  }
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
  // One XREADGROUP per slot group (high lanes only when `high_only`), after
  // the pending ACKs; a reply per call sent, nullptr where its node broke
  // (groups of a node that is away are not read this round).
  void read_round(bool high_only, std::size_t count, bool block, std::vector<ReplyPtr>& replies);
  void handle_read_error(const redisReply* r);  // an error reply to a read: log, recreate groups or follow MOVED
  // fn(stream, entry) for each entry of an XREADGROUP reply on a stream this
  // subscription reads, in the reply's order; false once fn says stop.
  template <typename Fn>
  bool for_each_entry(const redisReply* reply, Fn&& fn);
  void append_acks();
  // Reads the ACK replies pending on `c` (all connections when null); false
  // when a connection broke.
  bool consume_acks(Connection* c = nullptr);
  // The in-flight ACKs on `c` confirmed, or back to be sent again.
  void settle_acks(Connection* c, bool confirmed);
  // Returns false when the connection broke.
  bool process(std::size_t stream, const redisReply* entry, long long deliveries, bool may_dead_letter = true);
  // process() on the main reader, in turn with the high-lane reader.
  bool process_in_turn(std::size_t stream, const redisReply* entry, long long deliveries);
  void run_high_reader();
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
  NodeSet nodes_;
  std::vector<StreamState> streams_;
  std::unordered_map<std::string, std::size_t> stream_index_;
  // Streams that one XREADGROUP may name together: all of them on one server,
  // those of one hash slot on a cluster.
  std::vector<std::vector<std::size_t>> read_groups_;
  std::unordered_map<int, std::size_t> read_group_of_slot_;
  std::vector<std::pair<Connection*, std::size_t>> pending_acks_;  // XACK replies not yet read, per connection
  std::int64_t idle_sleep_us_ = 0;  // cluster: back-off between empty rounds
  std::unordered_map<std::string, bool> match_cache_;
  redis::RecentIds recent_{1 << 16};
  std::atomic<bool> groups_ready_{false};
  std::int64_t next_discover_ns_ = 0;
  std::int64_t next_claim_ns_ = 0;

  std::atomic<bool> stop_{false};
  std::atomic<bool> in_handler_{false};
  std::atomic<std::uint64_t> empty_reads_{0};
  std::thread thread_;

  // The high-lane reader (one server, threaded delivery): its own connection
  // and thread. deliver_mu_ makes the two readers take turns in process():
  // streams_, stream_index_, the ACK lists, recent_ ids and the counters are
  // touched under it whenever high_reader_ is set.
  const bool high_reader_;
  std::unique_ptr<NodeSet> high_nodes_;
  std::thread high_thread_;
  std::thread::id high_thread_id_;
  std::mutex deliver_mu_;
  std::atomic<bool> high_waiting_{false};  // the high reader wants the turn
  bool main_has_turn_ = false;             // the main reader holds deliver_mu_ (its own thread only)
  std::mutex high_keys_mu_;
  std::vector<std::string> high_keys_;     // guarded by high_keys_mu_
  std::atomic<std::uint64_t> high_empty_reads_{0};

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

}  // namespace nautilus::redis
