// Peer harness: a plain hiredis producer and consumer-group consumer on one
// stream, written the way a careful user would without nautilus: pipelined XADD
// batches, XREADGROUP COUNT 1000, one XACK per batch pipelined with the next
// read. It measures what `nautilus bench throughput|latency --backend redis://`
// measures, on the same server, so docs/benchmarks.md can put them side by side.
//   peer_redis_streams PORT throughput COUNT [PAYLOAD_BYTES]
//   peer_redis_streams PORT latency RATE SECONDS [PAYLOAD_BYTES]
// Prints one JSON object.
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/histogram.h"

using namespace nautilus;

namespace {

constexpr std::size_t kBatch = 1000;

redisContext* connect_or_die(int port) {
  redisContext* c = redisConnect("127.0.0.1", port);
  if (!c || c->err) {
    std::fprintf(stderr, "peer: cannot connect to 127.0.0.1:%d: %s\n", port, c ? c->errstr : "oom");
    std::exit(1);
  }
  return c;
}

void expect_ok(redisContext* c, void* reply, const char* what) {
  if (!reply) {
    std::fprintf(stderr, "peer: %s: %s\n", what, c->errstr);
    std::exit(1);
  }
  freeReplyObject(reply);
}

// The payload carries its send time (wall clock, ns) in the first 19 digits,
// padded with 'x' to the requested size, like the bench's padded JSON.
void fill_payload(std::string& out, std::int64_t ts, std::size_t size) {
  char buf[32];
  char* p = std::to_chars(buf, buf + sizeof buf, ts).ptr;
  out.assign(buf, p);
  if (size > out.size()) out.append(size - out.size(), 'x');
}

struct Consumer {
  redisContext* c;
  std::string key;
  std::uint64_t expected;
  std::uint64_t received = 0;
  std::int64_t last_ns = 0;
  HistogramSnapshot latency;

  void run() {
    std::vector<std::string> ack_ids;
    std::size_t pending_acks = 0;
    while (received < expected) {
      if (!ack_ids.empty()) {
        std::vector<const char*> argv = {"XACK", key.c_str(), "g"};
        std::vector<std::size_t> lens = {4, key.size(), 1};
        for (auto& id : ack_ids) {
          argv.push_back(id.c_str());
          lens.push_back(id.size());
        }
        redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
        ++pending_acks;
        ack_ids.clear();
      }
      redisAppendCommand(c, "XREADGROUP GROUP g peer COUNT %d BLOCK 1000 STREAMS %s >", static_cast<int>(kBatch),
                         key.c_str());
      for (; pending_acks > 0; --pending_acks) {
        void* r = nullptr;
        if (redisGetReply(c, &r) != REDIS_OK) std::exit(1);
        freeReplyObject(r);
      }
      void* rv = nullptr;
      if (redisGetReply(c, &rv) != REDIS_OK) {
        std::fprintf(stderr, "peer: XREADGROUP: %s\n", c->errstr);
        std::exit(1);
      }
      auto* r = static_cast<redisReply*>(rv);
      std::int64_t now = wall_now_ns();
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply* entries = r->element[0]->element[1];
        for (std::size_t i = 0; i < entries->elements; ++i) {
          redisReply* e = entries->element[i];
          ack_ids.emplace_back(e->element[0]->str, e->element[0]->len);
          redisReply* f = e->element[1];
          std::int64_t ts = 0;
          if (f->elements >= 2) std::from_chars(f->element[1]->str, f->element[1]->str + f->element[1]->len, ts);
          latency.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - ts)));
          ++received;
        }
        last_ns = monotonic_now_ns();
      }
      freeReplyObject(r);
    }
    for (auto& id : ack_ids) expect_ok(c, redisCommand(c, "XACK %s g %s", key.c_str(), id.c_str()), "XACK");
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s PORT throughput COUNT [SIZE] | PORT latency RATE SECONDS [SIZE]\n", argv[0]);
    return 2;
  }
  int port = std::atoi(argv[1]);
  std::string mode = argv[2];
  bool paced = mode == "latency";
  double rate = 0;
  std::uint64_t count = 0;
  std::size_t size = 100;
  if (paced) {
    if (argc < 5) return 2;
    rate = std::atof(argv[3]);
    count = static_cast<std::uint64_t>(rate * std::atof(argv[4]));
    if (argc > 5) size = static_cast<std::size_t>(std::atoi(argv[5]));
  } else {
    count = std::strtoull(argv[3], nullptr, 10);
    if (argc > 4) size = static_cast<std::size_t>(std::atoi(argv[4]));
  }
  if (count == 0 || port <= 0) return 2;

  std::string key = "peer:" + std::to_string(getpid());
  redisContext* prod = connect_or_die(port);
  redisContext* cons = connect_or_die(port);
  expect_ok(prod, redisCommand(prod, "XGROUP CREATE %s g $ MKSTREAM", key.c_str()), "XGROUP CREATE");

  Consumer consumer{cons, key, count};
  std::thread consumer_thread([&] { consumer.run(); });

  std::string payload;
  std::int64_t start = monotonic_now_ns();
  std::uint64_t sent = 0;
  double interval_ns = paced ? 1e9 / rate : 0;
  while (sent < count) {
    std::size_t n = 0;
    if (paced) {
      // Send what is due (at least one), pipelined; then collect the replies.
      std::int64_t due_at = start + static_cast<std::int64_t>(interval_ns * static_cast<double>(sent));
      while (monotonic_now_ns() < due_at) {
      }
      std::int64_t now = monotonic_now_ns();
      while (sent + n < count && n < kBatch &&
             start + static_cast<std::int64_t>(interval_ns * static_cast<double>(sent + n)) <= now) {
        fill_payload(payload, wall_now_ns(), size);
        redisAppendCommand(prod, "XADD %s * d %b", key.c_str(), payload.data(), payload.size());
        ++n;
      }
    } else {
      for (; n < kBatch && sent + n < count; ++n) {
        fill_payload(payload, wall_now_ns(), size);
        redisAppendCommand(prod, "XADD %s * d %b", key.c_str(), payload.data(), payload.size());
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      void* r = nullptr;
      if (redisGetReply(prod, &r) != REDIS_OK) {
        std::fprintf(stderr, "peer: XADD: %s\n", prod->errstr);
        return 1;
      }
      freeReplyObject(r);
    }
    sent += n;
  }
  consumer_thread.join();
  double secs = static_cast<double>(consumer.last_ns - start) / 1e9;
  expect_ok(prod, redisCommand(prod, "DEL %s", key.c_str()), "DEL");
  const HistogramSnapshot& h = consumer.latency;
  std::printf(
      "{\"peer\":\"hiredis XADD/XREADGROUP pair\",\"scenario\":\"%s\",\"messages\":%llu,\"payload_bytes\":%zu,"
      "\"duration_s\":%.6f,\"throughput_msgs_per_s\":%.0f,\"target_rate\":%.0f,"
      "\"latency_us\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f}}\n",
      paced ? "latency" : "throughput", static_cast<unsigned long long>(consumer.received), size, secs,
      static_cast<double>(consumer.received) / secs, rate, static_cast<double>(h.percentile(0.5)) / 1e3,
      static_cast<double>(h.percentile(0.9)) / 1e3, static_cast<double>(h.percentile(0.99)) / 1e3,
      static_cast<double>(h.percentile(0.999)) / 1e3, static_cast<double>(h.max()) / 1e3);
  redisFree(prod);
  redisFree(cons);
  return 0;
}
