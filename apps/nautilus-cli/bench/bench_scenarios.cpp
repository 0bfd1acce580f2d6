#include "bench/bench_scenarios.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <charconv>
#include <cmath>
#include <memory>
#include <numeric>
#include <optional>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "cli_context.h"
#include "core/clock.h"
#include "core/message_pool.h"

namespace nautilus::cli {
namespace {

constexpr std::size_t kPoolSlots = 1 << 18;  // a publisher's MessagePool

struct Run {
  const BenchConfig& cfg;
  Bus& bus;
  PriorityCycle cycle;
  std::uint64_t per_publisher_cap;
  std::vector<std::unique_ptr<Tracker>> trackers;
  std::vector<SubscriptionPtr> subs;
  std::vector<std::uint64_t> published;  // per publisher
  // What each publisher has sent so far, for the progress line only: stored
  // (relaxed, every kProgressEvery messages) in a cache line of its own so
  // publishers do not share one.
  struct alignas(64) Sent {
    std::atomic<std::uint64_t> n{0};
  };
  std::unique_ptr<Sent[]> sent_so_far;
  std::atomic<std::uint64_t> publish_errors{0};
  std::string first_error;
  std::mutex error_mu;

  Run(Bus& b, const BenchConfig& c, std::uint64_t cap)
      : cfg(c), bus(b), cycle(c.mix), per_publisher_cap(cap),
        published(static_cast<std::size_t>(c.publishers), 0),
        sent_so_far(std::make_unique<Sent[]>(static_cast<std::size_t>(c.publishers))) {}

  static constexpr std::uint64_t kProgressEvery = 1024;
  void count_sent(int publisher, std::uint64_t n) {
    if ((n & (kProgressEvery - 1)) == 0) sent_so_far[static_cast<std::size_t>(publisher)].n.store(n, std::memory_order_relaxed);
  }
  std::uint64_t sent_total() const {
    std::uint64_t total = 0;
    for (int p = 0; p < cfg.publishers; ++p) total += sent_so_far[static_cast<std::size_t>(p)].n.load(std::memory_order_relaxed);
    return total;
  }
  std::uint64_t delivered_total() const {
    std::uint64_t total = 0;
    for (const auto& t : trackers) total += t->unique.load(std::memory_order_relaxed);
    return total;
  }

  void subscribe() {
    std::string group_base = "bench-" + std::to_string(getpid()) + "-";
    for (int i = 0; i < cfg.subscribers; ++i) {
      trackers.push_back(std::make_unique<Tracker>(cfg.publishers, per_publisher_cap));
      Tracker* t = trackers.back().get();
      SubscribeOptions o;
      o.name = "bench-sub-" + std::to_string(i);
      o.group = group_base + std::to_string(i);
      o.queue_capacity = cfg.queue_capacity;
      o.overflow = OverflowPolicy::kBlock;
      Clock& clock = bus.clock();
      subs.push_back(bus.subscribe(
          "bench.*",
          [t, &clock](const MessagePtr& m) {
            std::int64_t now = current_delivery_ns();
            t->on_message(*m, now != 0 ? now : clock.now_ns());
          },
          o));
    }
  }

  // Publishes message `seq` of `publisher`; false if the bus refused it.
  bool publish_one(MessagePool& pool, int publisher, std::uint64_t seq, const std::string& topic) {
    auto m = pool.acquire();
    m->topic = topic;
    m->type = MessageType::kTick;
    m->priority = cycle.at(seq);
    m->source = "bench";
    build_payload(m->payload, publisher, seq, cfg.payload_bytes);
    Status s = bus.publish(std::move(m));
    if (!s) {
      if (publish_errors.fetch_add(1) == 0) {
        std::lock_guard lock(error_mu);
        first_error = s.to_string();
      }
      return false;
    }
    return true;
  }

  // Waits until every subscriber has seen every published message once, or
  // the drain timeout passes. Returns the monotonic time of the last delivery.
  std::int64_t wait_for_delivery() {
    std::uint64_t expected = std::accumulate(published.begin(), published.end(), std::uint64_t{0});
    auto deadline = monotonic_now_ns() + static_cast<std::int64_t>(cfg.drain_timeout_s * 1e9);
    for (;;) {
      bool all = true;
      for (auto& t : trackers) {
        if (t->unique.load(std::memory_order_acquire) < expected) all = false;
      }
      if (all) return monotonic_now_ns();
      if (monotonic_now_ns() > deadline) break;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    std::int64_t last = 0;
    for (auto& t : trackers) last = std::max(last, t->last_ns.load(std::memory_order_acquire));
    return last;
  }

  BenchReport report(std::string scenario, double duration_s) {
    for (auto& s : subs) s->cancel();  // joins delivery threads: trackers are now ours
    BenchReport r;
    r.scenario = std::move(scenario);
    r.backend = cfg.backend;
    r.publishers = cfg.publishers;
    r.subscribers = cfg.subscribers;
    r.payload_bytes = cfg.payload_bytes;
    r.target_rate = cfg.rate;
    r.duration_s = duration_s;
    count_published(r, cycle, published);
    for (auto& t : trackers) {
      count_delivered(r, *t, cycle, published);
      if (t->malformed) r.notes.push_back(std::to_string(t->malformed) + " malformed deliveries");
    }
    if (publish_errors.load()) {
      r.notes.push_back(std::to_string(publish_errors.load()) + " publishes refused; first: " + first_error);
    }
    return r;
  }
};

// While alive (and only when asked: a terminal on stderr, no -q), redraws one
// line on stderr four times a second: messages published and delivered so far
// and the elapsed time. Erased when done, so the report follows on a clean line.
class ProgressLine {
 public:
  ProgressLine(const Run& run, bool enabled) : run_(run) {
    if (!enabled) return;
    thread_ = std::thread([this] {
      auto start = std::chrono::steady_clock::now();
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return done_; })) {
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::fprintf(stderr, "\r\033[Kbench: %.1f s  published %llu  delivered %llu", secs,
                     static_cast<unsigned long long>(run_.sent_total()),
                     static_cast<unsigned long long>(run_.delivered_total()));
        std::fflush(stderr);
      }
      std::fputs("\r\033[K", stderr);
      std::fflush(stderr);
    });
  }
  ~ProgressLine() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  const Run& run_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

}  // namespace

// Every slot allocated and its payload grown before the clock starts: a cold
// pool allocates twice per message for its first kPoolSlots messages, which
// made a short --count run (2 M: an eighth of it warm-up) report well below a
// --duration run of the same bus.
void warm_up(MessagePool& pool, std::size_t payload_bytes, std::uint64_t slots) {
  for (std::uint64_t i = 0; i < std::min<std::uint64_t>(slots, kPoolSlots); ++i) pool.acquire()->payload.reserve(payload_bytes + 32);
}

namespace {

std::uint64_t per_publisher(std::uint64_t total, int publishers, int index) {
  auto n = static_cast<std::uint64_t>(publishers);
  return total / n + (static_cast<std::uint64_t>(index) < total % n ? 1 : 0);
}

}  // namespace

PriorityCycle::PriorityCycle(const std::array<unsigned, kPriorityCount>& mix) {
  for (Priority p : kAllPriorities) {
    for (unsigned i = 0; i < mix[lane_of(p)]; ++i) cycle_.push_back(p);
  }
  if (cycle_.empty()) cycle_.push_back(Priority::kNormal);
}

void build_payload(std::string& out, int publisher, std::uint64_t seq, std::size_t size) {
  char buf[64];
  char* p = buf;
  auto put = [&](std::string_view s) {
    for (char c : s) *p++ = c;
  };
  put("{\"p\":");
  p = std::to_chars(p, buf + sizeof buf, publisher).ptr;
  put(",\"s\":");
  p = std::to_chars(p, buf + sizeof buf, seq).ptr;
  put(",\"pad\":\"");
  auto head = static_cast<std::size_t>(p - buf);
  std::size_t pad = size > head + 2 ? size - head - 2 : 0;
  out.reserve(head + pad + 2);
  out.assign(buf, head);
  out.append(pad, 'x');
  out += "\"}";
}

bool parse_payload(const std::string& s, int& publisher, std::uint64_t& seq) {
  if (s.size() < 12 || s.compare(0, 5, "{\"p\":") != 0) return false;
  const char* b = s.data() + 5;
  const char* e = s.data() + s.size();
  auto r1 = std::from_chars(b, e, publisher);
  if (r1.ec != std::errc() || e - r1.ptr < 6) return false;
  auto r2 = std::from_chars(r1.ptr + 5, e, seq);
  return r2.ec == std::errc();
}

void Tracker::on_message(const Message& m, std::int64_t now_wall) {
  int p = 0;
  std::uint64_t s = 0;
  if (!parse_payload(m.payload, p, s) || p < 0 || static_cast<std::size_t>(p) >= seen.size() ||
      s >= seen[static_cast<std::size_t>(p)].size()) {
    ++malformed;
    return;
  }
  auto& slot = seen[static_cast<std::size_t>(p)][s];
  if (slot < 255) ++slot;
  ++total;
  latency[lane_of(m.priority)].add(
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_wall - m.timestamp_ns)));
  if (slot == 1) {
    std::uint64_t u = unique.load(std::memory_order_relaxed) + 1;
    unique.store(u, std::memory_order_release);
    // The completion time is read by the waiting thread; a clock read per
    // message would cost more than the bus hop being measured.
    if ((u & 1023) == 0) last_ns.store(monotonic_now_ns(), std::memory_order_release);
  }
}

void count_published(BenchReport& r, const PriorityCycle& cycle, const std::vector<std::uint64_t>& published) {
  for (std::uint64_t n : published) {
    for (std::uint64_t s = 0; s < n; ++s) r.by_priority[lane_of(cycle.at(s))].messages++;
    r.messages += n;
  }
}

void count_delivered(BenchReport& r, const Tracker& t, const PriorityCycle& cycle,
                     const std::vector<std::uint64_t>& published) {
  for (std::size_t p = 0; p < published.size() && p < t.seen.size(); ++p) {
    const auto& seen = t.seen[p];
    for (std::uint64_t s = 0; s < published[p] && s < seen.size(); ++s) {
      auto& pr = r.by_priority[lane_of(cycle.at(s))];
      if (seen[s] == 0) {
        pr.lost++;
        r.lost++;
      } else if (seen[s] > 1) {
        pr.duplicated += seen[s] - 1u;
        r.duplicated += seen[s] - 1u;
      }
    }
  }
  for (std::size_t i = 0; i < kPriorityCount; ++i) {
    r.by_priority[i].latency_ns.merge(t.latency[i]);
    r.by_priority[i].delivered += t.latency[i].count();
    r.latency_ns.merge(t.latency[i]);
  }
  r.delivered += t.total;
}

void wait_until(std::int64_t t) {
  for (;;) {
    std::int64_t now = monotonic_now_ns();
    if (now >= t) return;
    if (t - now > 200'000) std::this_thread::sleep_for(std::chrono::nanoseconds(t - now - 150'000));
  }
}


std::array<unsigned, kPriorityCount> parse_priority_mix(const std::string& text) {
  std::array<unsigned, kPriorityCount> mix{};
  std::stringstream ss(text);
  std::string item;
  bool any = false;
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    std::string name = item.substr(0, eq);
    // Priorities are case-insensitive on the command line (--priority HIGH).
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    unsigned weight = 1;
    if (eq != std::string::npos) {
      std::string w = item.substr(eq + 1);
      auto [ptr, ec] = std::from_chars(w.data(), w.data() + w.size(), weight);
      if (ec != std::errc() || ptr != w.data() + w.size() || weight > 1000000) {
        throw CliError(kExitUsage, "bad weight '" + w + "' in priority mix '" + text + "'");
      }
    }
    auto p = parse_priority(name);
    if (!p) {
      throw CliError(kExitUsage, "unknown priority '" + name +
                                     "' (expected flash_crash, urgent, critical, high, normal or low)");
    }
    mix[lane_of(*p)] += weight;
    any = any || weight > 0;
  }
  if (!any) throw CliError(kExitUsage, "empty priority mix '" + text + "'");
  return mix;
}

BenchReport run_throughput(Bus& bus, const BenchConfig& cfg) {
  bool by_count = cfg.count > 0 || cfg.duration_s <= 0;
  std::uint64_t total = cfg.count > 0 ? cfg.count : 1'000'000;
  // In duration mode we cannot know the count in advance; size for 12M/s.
  std::uint64_t cap = by_count ? per_publisher(total, cfg.publishers, 0)
                               : static_cast<std::uint64_t>(cfg.duration_s * 12e6 / cfg.publishers) + 1;
  Run run(bus, cfg, cap);
  run.subscribe();
  std::optional<ProgressLine> progress;
  progress.emplace(run, cfg.progress);

  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  std::int64_t start = 0;
  for (int p = 0; p < cfg.publishers; ++p) {
    threads.emplace_back([&, p] {
      std::string topic = "bench." + std::to_string(p) + ".tick";
      MessagePool pool(kPoolSlots);
      // A short run needs no more warm slots than messages.
      warm_up(pool, cfg.payload_bytes, by_count ? per_publisher(total, cfg.publishers, p) : kPoolSlots);
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      std::uint64_t n = 0;
      if (by_count) {
        std::uint64_t mine = per_publisher(total, cfg.publishers, p);
        for (; n < mine; ++n) {
          run.publish_one(pool, p, n, topic);
          run.count_sent(p, n);
        }
      } else {
        std::int64_t end = start + static_cast<std::int64_t>(cfg.duration_s * 1e9);
        while (n < cap && (n & 255 || monotonic_now_ns() < end)) {
          run.publish_one(pool, p, n, topic);
          run.count_sent(p, n++);
        }
      }
      run.published[static_cast<std::size_t>(p)] = n;
    });
  }
  while (ready.load() < cfg.publishers) std::this_thread::yield();
  start = monotonic_now_ns();
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  std::int64_t publish_end = monotonic_now_ns();
  std::int64_t last = run.wait_for_delivery();
  progress.reset();
  double secs = static_cast<double>(std::max(last, start + 1) - start) / 1e9;
  BenchReport r = run.report("throughput", secs);
  r.publish_s = static_cast<double>(std::max(publish_end, start + 1) - start) / 1e9;
  return r;
}

BenchReport run_latency(Bus& bus, const BenchConfig& cfg) {
  double rate = cfg.rate > 0 ? cfg.rate : 100'000;
  double duration = cfg.duration_s > 0 ? cfg.duration_s : 5.0;
  std::uint64_t total = cfg.count > 0 ? cfg.count : static_cast<std::uint64_t>(rate * duration);
  BenchConfig c = cfg;
  c.rate = rate;
  Run run(bus, c, per_publisher(total, cfg.publishers, 0));
  run.subscribe();
  std::optional<ProgressLine> progress;
  progress.emplace(run, cfg.progress);

  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::int64_t start = 0;
  double per_pub_interval_ns = 1e9 / (rate / cfg.publishers);
  for (int p = 0; p < cfg.publishers; ++p) {
    threads.emplace_back([&, p] {
      std::string topic = "bench." + std::to_string(p) + ".tick";
      MessagePool pool(1 << 18);
      std::uint64_t mine = per_publisher(total, cfg.publishers, p);
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      // Offset publishers evenly inside one interval so they do not collide.
      double offset = per_pub_interval_ns * p / cfg.publishers;
      std::uint64_t n = 0;
      for (; n < mine; ++n) {
        wait_until(start + static_cast<std::int64_t>(offset + per_pub_interval_ns * static_cast<double>(n)));
        run.publish_one(pool, p, n, topic);
        run.count_sent(p, n);
      }
      run.published[static_cast<std::size_t>(p)] = n;
    });
  }
  while (ready.load() < cfg.publishers) std::this_thread::yield();
  start = monotonic_now_ns() + 1'000'000;
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  std::int64_t publish_end = monotonic_now_ns();
  std::int64_t last = run.wait_for_delivery();
  progress.reset();
  double secs = static_cast<double>(std::max(last, start + 1) - start) / 1e9;
  BenchReport r = run.report("latency", secs);
  r.publish_s = static_cast<double>(std::max(publish_end, start + 1) - start) / 1e9;
  return r;
}

}  // namespace nautilus::cli
