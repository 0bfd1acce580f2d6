// nautilus bus publish | subscribe: through nautilusd's control API, or with
// --backend straight to a bus (make_bus), e.g. a Redis shared by several daemons.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "bus/bus.h"
#include "commands.h"
#include "direct_bus.h"
#include "control/control_client.h"
#include "core/codec.h"
#include "core/message.h"
#include "daemon_connection.h"

namespace nautilus::cli {
namespace {

struct PublishArgs {
  std::string bus, topic, payload = "{}";
  std::string priority = "normal", type, source = "cli", backend;
  std::uint64_t count = 1;
  double rate = 0;
};

struct SubscribeArgs {
  std::string bus, pattern, group, backend;
  std::uint64_t count = 0;
  double timeout_s = 0;
};

BusKind parse_bus(const std::string& b) {
  auto k = parse_bus_kind(b);
  if (!k) throw CliError(kExitUsage, "unknown bus '" + b + "' (marketdata or engine)");
  return *k;
}

// The payloads to send: the argument, or one JSON object per stdin line for "-".
std::vector<std::string> read_payloads(const std::string& arg) {
  std::vector<std::string> out;
  auto check = [](const std::string& text, const std::string& where) {
    Status st = validate_payload(text);
    if (!st) throw CliError(kExitUsage, where + ": " + st.message() + " (a payload is a JSON object)");
  };
  if (arg != "-") {
    check(arg, "payload");
    out.push_back(arg);
    return out;
  }
  std::string line;
  std::size_t n = 0;
  while (std::getline(std::cin, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    check(line, "stdin line " + std::to_string(n));
    out.push_back(line);
  }
  return out;
}

std::string human_line(const Message& m) {
  std::time_t secs = static_cast<std::time_t>(m.timestamp_ns / 1'000'000'000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char ts[32];
  std::strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
  char ms[8];
  std::snprintf(ms, sizeof(ms), ".%03d", static_cast<int>((m.timestamp_ns / 1'000'000) % 1000));
  return std::string(ts) + ms + "  " + std::string(to_string(m.priority)) + "  " + m.topic + "  " +
         std::string(to_string(m.type)) + "  " + m.payload;
}

void pace(std::chrono::steady_clock::time_point start, std::uint64_t i, double rate) {
  if (rate <= 0) return;
  auto due = start + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / rate));
  std::this_thread::sleep_until(due);
}

void run_publish(const GlobalOptions& g, const PublishArgs& a) {
  BusKind bus = parse_bus(a.bus);
  if (Status st = validate_topic(a.topic); !st) throw CliError(kExitUsage, "topic: " + st.message());
  auto prio = parse_priority(a.priority);
  if (!prio) throw CliError(kExitUsage, "unknown priority '" + a.priority + "'");
  std::string type = !a.type.empty() ? a.type : bus == BusKind::kMarketData ? "market_data" : "system_health";
  auto t = parse_message_type(type);
  if (!t) throw CliError(kExitUsage, "unknown message type '" + type + "'");
  std::vector<std::string> payloads = read_payloads(a.payload);
  std::uint64_t total = payloads.size() * a.count;
  std::uint64_t published = 0;
  auto start = std::chrono::steady_clock::now();

  if (!a.backend.empty()) {
    std::unique_ptr<Bus> b = open_direct_bus(a.backend, a.bus);
    for (const auto& p : payloads) {
      for (std::uint64_t i = 0; i < a.count; ++i) {
        pace(start, published, a.rate);
        auto m = make_message(a.topic, *t, p, *prio, a.source);
        Status st = b->publish(m);
        if (!st) throw CliError(kExitFailure, "published " + std::to_string(published) + " of " + std::to_string(total) + ": " + st.to_string());
        ++published;
      }
    }
    b->drain(std::chrono::seconds(5));
  } else {
    with_daemon([&] {
      auto client = connect_daemon(g);
      // Unpaced: batches of up to 1000 per request; paced: one per request.
      std::size_t batch = a.rate > 0 ? 1 : 1000;
      nlohmann::json msgs = nlohmann::json::array();
      auto flush = [&] {
        if (msgs.empty()) return;
        auto r = client.post("/api/v1/bus/" + a.bus + "/publish", {{"messages", msgs}});
        published += r.body.value("published", 0ull);
        msgs = nlohmann::json::array();
      };
      for (const auto& p : payloads) {
        nlohmann::json payload = nlohmann::json::parse(p);
        for (std::uint64_t i = 0; i < a.count; ++i) {
          pace(start, published + msgs.size(), a.rate);
          msgs.push_back({{"topic", a.topic}, {"type", type}, {"priority", a.priority}, {"source", a.source}, {"payload", payload}});
          if (msgs.size() >= batch) flush();
        }
      }
      flush();
    });
  }
  if (g.json) std::cout << nlohmann::json{{"published", published}, {"bus", a.bus}, {"topic", a.topic}}.dump() << "\n";
  else if (!g.quiet) std::cerr << "nautilus: published " << published << " message" << (published == 1 ? "" : "s") << " on " << a.bus << " bus\n";
}

void run_subscribe(const GlobalOptions& g, const SubscribeArgs& a) {
  BusKind bus = parse_bus(a.bus);
  std::uint64_t received = 0;
  auto emit = [&](std::string_view line) {
    if (g.json) {
      std::cout << line << "\n";
    } else {
      Message m;
      if (decode_json(line, m)) std::cout << human_line(m) << "\n";
      else std::cout << line << "\n";
    }
    std::cout.flush();
    ++received;
    return a.count == 0 || received < a.count;
  };
  auto deadline = std::chrono::milliseconds(static_cast<std::int64_t>(a.timeout_s * 1000));
  bool timed_out = false;
  if (!a.backend.empty()) {
    std::unique_ptr<Bus> b = open_direct_bus(a.backend, a.bus);
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    SubscribeOptions so;
    so.group = a.group;
    so.name = "cli:" + a.pattern;
    SubscriptionPtr sub;
    try {
      sub = b->subscribe(a.pattern, [&](const MessagePtr& m) {
        std::lock_guard lock(mu);
        if (done) return;
        if (!emit(encode_json(*m))) {
          done = true;
          cv.notify_all();
        }
      }, so);
    } catch (const std::invalid_argument& e) {
      throw CliError(kExitUsage, e.what());
    }
    (void)bus;
    if (!g.quiet) std::cerr << "nautilus: subscribed to " << a.bus << ":" << a.pattern << "\n";
    std::unique_lock lock(mu);
    if (deadline.count() > 0) timed_out = !cv.wait_for(lock, deadline, [&] { return done; });
    else cv.wait(lock, [&] { return done; });
    done = true;
    lock.unlock();
    sub->cancel();
  } else {
    std::string path = "/api/v1/bus/" + a.bus + "/subscribe?pattern=" + control::url_encode(a.pattern);
    if (!a.group.empty()) path += "&group=" + control::url_encode(a.group);
    if (a.count) path += "&count=" + std::to_string(a.count);
    with_daemon([&] {
      auto end = connect_daemon(g).stream(path, emit, deadline, [&] {
        if (!g.quiet) std::cerr << "nautilus: subscribed to " << a.bus << ":" << a.pattern << "\n";
      });
      timed_out = end == control::ControlClient::StreamEnd::kDeadline;
      if (end == control::ControlClient::StreamEnd::kEnded && a.count && received < a.count) {
        throw CliError(kExitUnreachable, "nautilusd ended the stream after " + std::to_string(received) + " message(s)");
      }
    });
  }
  if (timed_out && a.count && received < a.count) {
    throw CliError(kExitTimeout, "timed out after " + std::to_string(received) + " of " + std::to_string(a.count) + " message(s)");
  }
}

}  // namespace

void add_bus_commands(CLI::App& app, GlobalOptions& g) {
  auto* bus = app.add_subcommand("bus", "Publish to and subscribe on the marketdata and engine buses");
  bus->require_subcommand(1);

  auto pa = std::make_shared<PublishArgs>();
  auto* pub = bus->add_subcommand("publish", "Publish messages (payload from the argument or stdin, one per line)");
  pub->add_option("BUS", pa->bus, "marketdata or engine")->required()->check(CLI::IsMember({"marketdata", "engine"}));
  pub->add_option("TOPIC", pa->topic, "Dot-separated topic, e.g. risk.alert.test")->required();
  pub->add_option("JSON", pa->payload, "Payload JSON object, or - for stdin (one per line)")->capture_default_str();
  pub->add_option("--priority", pa->priority, "flash_crash, urgent (critical), high, normal, low")->capture_default_str();
  pub->add_option("--type", pa->type, "Message type (default: market_data / system_health by bus)");
  pub->add_option("--source", pa->source, "Source name in the envelope")->capture_default_str();
  pub->add_option("--count", pa->count, "Publish each payload N times")->check(CLI::Range(1ull, 100'000'000ull))->capture_default_str();
  pub->add_option("--rate", pa->rate, "Messages per second (default: as fast as possible)")->check(CLI::Range(0.001, 1e7));
  pub->add_option("--backend", pa->backend, "Talk to a bus directly (inproc://, redis://host:port), not the daemon");
  pub->callback([&g, pa] { run_publish(g, *pa); });

  auto sa = std::make_shared<SubscribeArgs>();
  auto* sub = bus->add_subcommand("subscribe", "Print messages matching a glob pattern (NDJSON with --json)");
  sub->add_option("BUS", sa->bus, "marketdata or engine")->required()->check(CLI::IsMember({"marketdata", "engine"}));
  sub->add_option("PATTERN", sa->pattern, "Glob pattern: * any run of characters, ? one")->required();
  sub->add_option("--count", sa->count, "Stop after N messages")->check(CLI::PositiveNumber);
  sub->add_option("--timeout", sa->timeout_s, "Stop after S seconds (exit 5 if --count was not reached)")->check(CLI::Range(0.001, 1e7));
  sub->add_option("--group", sa->group, "Consumer group (Redis: instances of a group share messages)");
  sub->add_option("--backend", sa->backend, "Talk to a bus directly (inproc://, redis://host:port), not the daemon");
  sub->callback([&g, sa] { run_subscribe(g, *sa); });
}

}  // namespace nautilus::cli
