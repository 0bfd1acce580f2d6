// `nautilus bench scale`: aggregate delivered msgs/s with 1, 2, 3 … consumers
// of one kind. Each consumer is a Bus of its own (its own connections and
// delivery thread, as an engine of one kind in another nautilusd would be),
// all subscribed with the same consumer group, so each message goes to one
// of them; the publishers (flat out, or paced to --rate) use another. Per run
// it counts what was published (acknowledged: publish() ok, then confirmed
// by drain()), delivered once, lost (never delivered) and duplicated
// (delivered more than once), each consumer's share, publish -> handler
// latency, this process's and (with --redis-pid) redis-server's CPU and the
// load average, so the table says whether the design or the machine is the
// ceiling. It uses only the Bus interface, so any Redis URL the bus takes
// works (redis://, and a cluster URL once the bus supports one).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_scenarios.h"
#include "bench/proc_usage.h"
#include "cli_context.h"
#include "commands.h"
#include "core/clock.h"
#include "core/message_pool.h"
#include "direct_bus.h"
#include "table.h"

namespace nautilus::cli {
namespace {

struct ScaleArgs {
  std::string backend;
  std::vector<int> consumers{1, 2, 3};
  int runs = 1;
  int publishers = 1;
  std::uint64_t count = 200'000;  // per run, all publishers together
  double rate = 0;                // msgs/s, all publishers together; 0 = flat out
  std::size_t payload_bytes = 100;
  double work_us = 0;             // simulated handler CPU per message (spun)
  double wait_us = 0;             // simulated handler wait per message (slept, as on I/O)
  double drain_timeout_s = 10;    // give up after this long without a new delivery
  pid_t redis_pid = 0;
};

// Topics a publisher cycles through: enough that FNV-1a spreads them over
// every shard of the family, so no one stream is the bottleneck.
constexpr int kTopics = 16;

double cpu_seconds_self() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// A handler's own cost, which is what several consumers of a kind are
// there to share: `work_us` of CPU (spun), then `wait_us` of waiting (slept,
// as on a remote call), which takes no core, so consumers that wait scale
// past the machine's cores and consumers that compute do not.
void simulate_handler(double work_us, double wait_us) {
  if (work_us > 0) {
    const std::int64_t until = monotonic_now_ns() + static_cast<std::int64_t>(work_us * 1000);
    while (monotonic_now_ns() < until) {
    }
  }
  if (wait_us > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(static_cast<std::int64_t>(wait_us * 1000)));
}

struct RunResult {
  int consumers = 0;
  int run = 0;
  std::uint64_t published = 0;  // acknowledged
  std::uint64_t refused = 0;    // publish() said no
  bool confirmed = false;       // drain() saw Redis confirm every publish
  std::uint64_t delivered = 0;  // distinct messages delivered
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;  // deliveries beyond the first of a message
  std::uint64_t malformed = 0;
  std::vector<std::uint64_t> per_consumer;  // deliveries each consumer handled
  double publish_s = 0;
  double seconds = 0;  // first publish -> last delivery
  HistogramSnapshot latency_ns;
  double bench_cores = 0;
  double redis_cores = -1;
  std::string load;

  double msgs_per_s() const { return seconds > 0 ? static_cast<double>(delivered) / seconds : 0; }
  nlohmann::json to_json() const {
    return {{"consumers", consumers},
            {"run", run},
            {"published", published},
            {"refused", refused},
            {"confirmed", confirmed},
            {"delivered", delivered},
            {"lost", lost},
            {"duplicated", duplicated},
            {"malformed", malformed},
            {"per_consumer", per_consumer},
            {"publish_s", publish_s},
            {"seconds", seconds},
            {"msgs_per_s", msgs_per_s()},
            {"latency_ms",
             {{"p50", static_cast<double>(latency_ns.percentile(0.50)) / 1e6},
              {"p99", static_cast<double>(latency_ns.percentile(0.99)) / 1e6},
              {"max", static_cast<double>(latency_ns.max()) / 1e6}}},
            {"bench_cpu_cores", bench_cores},
            {"redis_cpu_cores", redis_cores},
            {"load_average", load}};
  }
};

// One consumer of the group: its own bus, subscription and tracker.
struct Consumer {
  std::unique_ptr<Bus> bus;
  std::unique_ptr<Tracker> tracker;
  SubscriptionPtr sub;
};

RunResult run_once(const ScaleArgs& a, int consumers, int run) {
  RunResult r;
  r.consumers = consumers;
  r.run = run;
  const std::uint64_t per_publisher = (a.count + static_cast<std::uint64_t>(a.publishers) - 1) / static_cast<std::uint64_t>(a.publishers);
  // A group of this run alone, starting now: nothing an earlier run left in
  // the streams reaches it.
  const std::string group = "bench-scale-" + std::to_string(::getpid()) + "-" + std::to_string(consumers) + "-" + std::to_string(run);

  std::vector<Consumer> group_members(static_cast<std::size_t>(consumers));
  for (int i = 0; i < consumers; ++i) {
    auto& c = group_members[static_cast<std::size_t>(i)];
    c.bus = open_direct_bus(a.backend, "bench");
    c.tracker = std::make_unique<Tracker>(a.publishers, per_publisher);
    SubscribeOptions o;
    o.name = "scale-consumer-" + std::to_string(i);
    o.group = group;
    o.overflow = OverflowPolicy::kBlock;
    Tracker* t = c.tracker.get();
    Clock* clock = &c.bus->clock();
    const double work = a.work_us, wait = a.wait_us;
    c.sub = c.bus->subscribe("bench.scale.*", [t, clock, work, wait](const MessagePtr& m) {
      const std::int64_t now = current_delivery_ns();
      t->on_message(*m, now != 0 ? now : clock->now_ns());
      simulate_handler(work, wait);
    }, o);
  }
  std::unique_ptr<Bus> pub_bus = open_direct_bus(a.backend, "bench");

  std::vector<std::uint64_t> published(static_cast<std::size_t>(a.publishers), 0);
  std::atomic<std::uint64_t> refused{0};
  std::vector<std::unique_ptr<MessagePool>> pools;
  for (int p = 0; p < a.publishers; ++p) {
    pools.push_back(std::make_unique<MessagePool>(1 << 16));
    warm_up(*pools.back(), a.payload_bytes, 1 << 16);
  }
  std::vector<std::string> topics;
  for (int k = 0; k < kTopics; ++k) topics.push_back("bench.scale." + std::to_string(k));

  const double cpu0 = cpu_seconds_self();
  const double redis0 = a.redis_pid > 0 ? process_cpu_seconds(a.redis_pid) : -1;
  const std::int64_t start = monotonic_now_ns();
  {
    std::vector<std::thread> threads;
    for (int p = 0; p < a.publishers; ++p) {
      threads.emplace_back([&, p] {
        const std::uint64_t first = static_cast<std::uint64_t>(p) * per_publisher;
        const std::uint64_t n = std::min(per_publisher, a.count > first ? a.count - first : 0);
        const double interval_ns = a.rate > 0 ? 1e9 * a.publishers / a.rate : 0;
        std::uint64_t ok = 0;
        for (std::uint64_t seq = 0; seq < n; ++seq) {
          if (interval_ns > 0) wait_until(start + static_cast<std::int64_t>(static_cast<double>(seq) * interval_ns));
          auto m = pools[static_cast<std::size_t>(p)]->acquire();
          m->topic = topics[seq % kTopics];
          m->type = MessageType::kTick;
          m->priority = Priority::kNormal;
          m->source = "bench-scale";
          build_payload(m->payload, p, seq, a.payload_bytes);
          if (pub_bus->publish(std::move(m))) ++ok;
          else refused.fetch_add(1, std::memory_order_relaxed);
        }
        published[static_cast<std::size_t>(p)] = ok;
      });
    }
    for (auto& t : threads) t.join();
  }
  r.publish_s = static_cast<double>(monotonic_now_ns() - start) / 1e9;
  r.refused = refused.load();
  r.published = std::accumulate(published.begin(), published.end(), std::uint64_t{0});
  r.confirmed = pub_bus->drain(std::chrono::milliseconds(static_cast<std::int64_t>(a.drain_timeout_s * 1000)));

  // Wait for the deliveries: done when the consumers have that many distinct
  // messages between them, given up after drain_timeout_s without progress.
  const auto delivered_so_far = [&] {
    std::uint64_t n = 0;
    for (const auto& c : group_members) n += c.tracker->unique.load(std::memory_order_acquire);
    return n;
  };
  std::int64_t end = monotonic_now_ns();
  std::uint64_t last = delivered_so_far();
  std::int64_t last_progress = end;
  for (;;) {
    const std::uint64_t now_delivered = delivered_so_far();
    end = monotonic_now_ns();
    if (now_delivered >= r.published) break;
    if (now_delivered != last) {
      last = now_delivered;
      last_progress = end;
    } else if (end - last_progress > static_cast<std::int64_t>(a.drain_timeout_s * 1e9)) {
      end = last_progress;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  r.seconds = static_cast<double>(end - start) / 1e9;
  r.bench_cores = (cpu_seconds_self() - cpu0) / r.seconds;
  if (redis0 >= 0) r.redis_cores = (process_cpu_seconds(a.redis_pid) - redis0) / r.seconds;
  r.load = load_average();

  // Cancelled (delivery threads joined): the trackers are ours to merge.
  for (auto& c : group_members) c.sub->cancel();
  for (auto& c : group_members) {
    r.per_consumer.push_back(c.tracker->total);
    r.malformed += c.tracker->malformed;
    for (const auto& lane : c.tracker->latency) r.latency_ns.merge(lane);
  }
  for (std::size_t p = 0; p < published.size(); ++p) {
    for (std::uint64_t seq = 0; seq < published[p]; ++seq) {
      unsigned seen = 0;
      for (const auto& c : group_members) seen += c.tracker->seen[p][seq];
      if (seen == 0) ++r.lost;
      else r.duplicated += seen - 1;
    }
  }
  r.delivered = r.published - r.lost;
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string share_text(const RunResult& r) {
  std::uint64_t total = std::accumulate(r.per_consumer.begin(), r.per_consumer.end(), std::uint64_t{0});
  std::string out;
  for (std::uint64_t n : r.per_consumer) {
    if (!out.empty()) out += "/";
    out += format_fixed(total ? 100.0 * static_cast<double>(n) / static_cast<double>(total) : 0.0, 0);
  }
  return out + "%";
}

void run_scale_bench(const GlobalOptions& g, const ScaleArgs& a) {
  if (a.backend.rfind("redis", 0) != 0) {
    throw CliError(kExitUsage, "bench scale measures consumers sharing one Redis consumer group: give --backend "
                               "redis://host:port (inproc:// has no groups: every subscriber gets every message)");
  }
  std::vector<RunResult> results;
  for (int consumers : a.consumers) {
    for (int run = 1; run <= a.runs; ++run) {
      results.push_back(run_once(a, consumers, run));
      const auto& r = results.back();
      if (!g.json && !g.quiet) {
        note(g, std::to_string(consumers) + " consumer(s), run " + std::to_string(run) + ": " +
                    format_count(r.msgs_per_s()) + " msgs/s");
      }
    }
  }
  nlohmann::json summary = nlohmann::json::array();
  for (int consumers : a.consumers) {
    std::vector<double> rates;
    for (const auto& r : results) {
      if (r.consumers == consumers) rates.push_back(r.msgs_per_s());
    }
    summary.push_back({{"consumers", consumers}, {"runs", rates.size()}, {"median_msgs_per_s", median(rates)},
                       {"min_msgs_per_s", *std::min_element(rates.begin(), rates.end())},
                       {"max_msgs_per_s", *std::max_element(rates.begin(), rates.end())}});
  }
  std::uint64_t lost = 0;
  for (const auto& r : results) lost += r.lost;

  if (g.json) {
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : results) runs.push_back(r.to_json());
    std::cout << nlohmann::json{{"scenario", "scale"},
                                {"backend", a.backend},
                                {"publishers", a.publishers},
                                {"count", a.count},
                                {"rate_target", a.rate},
                                {"payload_bytes", a.payload_bytes},
                                {"work_us", a.work_us},
                                {"wait_us", a.wait_us},
                                {"cpus", std::thread::hardware_concurrency()},
                                {"runs", runs},
                                {"summary", summary}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "bench scale: " << a.backend << ", " << a.publishers << " publisher(s), "
              << format_count(static_cast<double>(a.count)) << " msgs a run "
              << (a.rate > 0 ? "at " + format_count(a.rate) + " msgs/s" : std::string("flat out")) << ", "
              << a.payload_bytes << " B, handler work " << format_fixed(a.work_us, 1) << " us + wait "
              << format_fixed(a.wait_us, 1) << " us, "
              << std::thread::hardware_concurrency() << " CPUs\n";
    Table t({"CONSUMERS", "RUN", "PUBLISHED", "DELIVERED", "LOST", "DUP", "MSGS/S", "SHARE", "P50 MS", "P99 MS",
             "BENCH CPU", "REDIS CPU", "LOAD"});
    for (const auto& r : results) {
      t.add_row({std::to_string(r.consumers), std::to_string(r.run), format_count(static_cast<double>(r.published)),
                 format_count(static_cast<double>(r.delivered)), format_count(static_cast<double>(r.lost)),
                 format_count(static_cast<double>(r.duplicated)), format_count(r.msgs_per_s()), share_text(r),
                 format_fixed(static_cast<double>(r.latency_ns.percentile(0.50)) / 1e6, 2),
                 format_fixed(static_cast<double>(r.latency_ns.percentile(0.99)) / 1e6, 2), format_fixed(r.bench_cores, 2),
                 r.redis_cores >= 0 ? format_fixed(r.redis_cores, 2) : "-", r.load});
    }
    t.print(std::cout, g.color());
    std::cout << "median msgs/s:";
    for (const auto& s : summary) {
      std::cout << "  " << s["consumers"].get<int>() << " -> " << format_count(s["median_msgs_per_s"].get<double>());
    }
    std::cout << "\n";
  }
  if (lost > 0) throw CliError(kExitFailure, std::to_string(lost) + " acknowledged messages never delivered");
}

}  // namespace

void add_scale_bench_command(CLI::App& bench, GlobalOptions& global) {
  auto a = std::make_shared<ScaleArgs>();
  auto* cmd = bench.add_subcommand("scale", "Consumers of one kind sharing a Redis consumer group: aggregate "
                                            "delivered msgs/s with 1, 2, 3 ... consumers, lost and duplicated counted");
  cmd->add_option("--backend", a->backend, "Redis URL of the bus (redis://host:port)")->required();
  cmd->add_option("--consumers", a->consumers, "Consumer counts to run, comma-separated")
      ->delimiter(',')->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--runs", a->runs, "Runs of each consumer count")->check(CLI::Range(1, 100))->capture_default_str();
  cmd->add_option("--publishers", a->publishers, "Publisher threads")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--count", a->count, "Messages a run (all publishers together)")->check(CLI::Range(1.0, 1e9))
      ->capture_default_str();
  cmd->add_option("--rate", a->rate, "Messages per second, all publishers together (default: flat out)")
      ->check(CLI::Range(1.0, 1e8));
  cmd->add_option("--size", a->payload_bytes, "Payload size in bytes")->check(CLI::Range(16, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--work-us", a->work_us, "Handler work per message, microseconds (spun, as a real handler's CPU)")
      ->check(CLI::Range(0.0, 1e6))->capture_default_str();
  cmd->add_option("--wait-us", a->wait_us, "Handler wait per message, microseconds (slept, as on I/O: takes no core)")
      ->check(CLI::Range(0.0, 1e6))->capture_default_str();
  cmd->add_option("--drain-timeout", a->drain_timeout_s, "Seconds without a new delivery before the rest count as lost")
      ->check(CLI::Range(0.1, 3600.0))->capture_default_str();
  cmd->add_option("--redis-pid", a->redis_pid, "redis-server's pid, to report its CPU (a local server)")
      ->check(CLI::Range(1, 1 << 22));
  cmd->callback([&global, a] { run_scale_bench(global, *a); });
}

}  // namespace nautilus::cli
