// nautilus bus publish | subscribe: through nautilusd's control API, or with
// --backend straight to a bus (make_bus), e.g. a Redis shared by several daemons.
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
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
#include "option_checks.h"

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
  bool raw = false;  // payloads only
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

BusKind parse_bus(const std::string& b) {
  auto k = parse_bus_kind(b);
  if (!k) throw CliError(kExitUsage, "unknown bus '" + b + "' (marketdata or engine)");
  return *k;
}

// Hands each complete stdin line to `on_line(line, number)` as soon as it has
// arrived (read(2), not a buffered stream that waits for more), and calls
// `on_idle()` whenever no complete line is left in what has been read, so a
// caller can send what it has batched before blocking for more input. A last
// line without a newline counts too.
template <class OnLine, class OnIdle>
void for_each_stdin_line(OnLine on_line, OnIdle on_idle) {
  std::string pending;
  std::size_t number = 0;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw CliError(kExitFailure, std::string("reading stdin: ") + std::strerror(errno));
    if (n == 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t from = 0;
    for (auto nl = pending.find('\n', from); nl != std::string::npos; nl = pending.find('\n', from)) {
      on_line(std::string_view(pending).substr(from, nl - from), ++number);
      from = nl + 1;
    }
    pending.erase(0, from);
    on_idle();
  }
  if (!pending.empty()) on_line(std::string_view(pending), ++number);
  on_idle();
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// Says which stdin line was refused and why; the line is skipped.
void report_refused_line(const GlobalOptions& g, std::size_t line, const std::string& why) {
  std::string text = "line " + std::to_string(line) + ": " + why + " (skipped)";
  if (g.json) std::cerr << nlohmann::json{{"error", text}, {"line", line}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  else std::cerr << "nautilus: " << text << std::endl;
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

// Where published messages go: the daemon's publish route in batches, or a
// bus opened directly. `add` takes one payload (a JSON object's text) and the
// stdin line it came from (0 for the argument); `flush` sends what is batched.
class PublishSink {
 public:
  virtual ~PublishSink() = default;
  virtual void add(const std::string& payload, std::size_t line) = 0;
  virtual void flush() = 0;
  std::uint64_t published = 0;
  std::uint64_t refused_lines = 0;
};

class DaemonSink : public PublishSink {
 public:
  DaemonSink(const GlobalOptions& g, const PublishArgs& a, std::string type, std::size_t batch)
      : g_(g), a_(a), type_(std::move(type)), batch_(batch), client_(connect_daemon(g)),
        path_("/api/v1/bus/" + a.bus + "/publish") {}

  void add(const std::string& payload, std::size_t line) override {
    nlohmann::json body = nlohmann::json::parse(payload, nullptr, false);
    if (body.is_discarded()) {  // validate_payload passed, so this is rare
      refuse(line, "not valid JSON");
      return;
    }
    msgs_.push_back({{"topic", a_.topic}, {"type", type_}, {"priority", a_.priority}, {"source", a_.source},
                     {"payload", std::move(body)}});
    lines_.push_back(line);
    if (msgs_.size() >= batch_) flush();
  }

  void flush() override {
    if (msgs_.empty()) return;
    try {
      send(msgs_);
    } catch (const control::BadRequest& e) {
      // The daemon refuses a whole request for one bad message; find which by
      // sending them one at a time, so every good line still goes out.
      if (msgs_.size() == 1) {
        refuse(lines_.front(), e.what());
      } else {
        for (std::size_t i = 0; i < msgs_.size(); ++i) {
          try {
            send(nlohmann::json::array({msgs_[i]}));
          } catch (const control::BadRequest& one) {
            refuse(lines_[i], one.what());
          }
        }
      }
    }
    msgs_ = nlohmann::json::array();
    lines_.clear();
  }

 private:
  void send(const nlohmann::json& msgs) {
    auto r = client_.post(path_, {{"messages", msgs}});
    published += r.body.value("published", 0ull);
  }
  void refuse(std::size_t line, const std::string& why) {
    if (line == 0) throw CliError(kExitUsage, "payload: " + why);
    ++refused_lines;
    report_refused_line(g_, line, why);
  }

  const GlobalOptions& g_;
  const PublishArgs& a_;
  std::string type_;
  std::size_t batch_;
  control::ControlClient client_;
  std::string path_;
  nlohmann::json msgs_ = nlohmann::json::array();
  std::vector<std::size_t> lines_;
};

class DirectSink : public PublishSink {
 public:
  DirectSink(const PublishArgs& a, MessageType type, Priority prio)
      : a_(a), type_(type), prio_(prio), bus_(open_direct_bus(a.backend, a.bus)) {}
  ~DirectSink() override { bus_->drain(std::chrono::seconds(5)); }

  void add(const std::string& payload, std::size_t) override {
    Status st = bus_->publish(make_message(a_.topic, type_, payload, prio_, a_.source));
    // A refusal here is the bus's (closed, full), not the line's: stop.
    if (!st) throw CliError(kExitFailure, "published " + std::to_string(published) + ": " + st.to_string());
    ++published;
  }
  void flush() override {}

 private:
  const PublishArgs& a_;
  MessageType type_;
  Priority prio_;
  std::unique_ptr<Bus> bus_;
};

void run_publish(const GlobalOptions& g, PublishArgs a) {
  BusKind bus = parse_bus(a.bus);
  if (Status st = validate_topic(a.topic); !st) throw CliError(kExitUsage, "topic: " + st.message());
  a.priority = lower(a.priority);
  auto prio = parse_priority(a.priority);
  if (!prio) {
    throw CliError(kExitUsage, "unknown priority '" + a.priority + "' (flash_crash, urgent, critical, high, normal or low)");
  }
  std::string type = !a.type.empty() ? lower(a.type) : bus == BusKind::kMarketData ? "market_data" : "system_health";
  auto t = parse_message_type(type);
  if (!t) throw CliError(kExitUsage, "unknown message type '" + type + "'");
  const bool from_stdin = a.payload == "-";
  if (!from_stdin) {
    Status st = validate_payload(a.payload);
    if (!st) throw CliError(kExitUsage, "payload: " + st.message() + " (a payload is a JSON object)");
  }

  std::uint64_t lines = 0;
  std::uint64_t sent = 0;  // handed to the sink, for pacing
  auto start = std::chrono::steady_clock::now();
  auto publish_all = [&](PublishSink& sink) {
    auto send_copies = [&](const std::string& payload, std::size_t line) {
      for (std::uint64_t i = 0; i < a.count; ++i) {
        pace(start, sent++, a.rate);
        sink.add(payload, line);
      }
    };
    if (!from_stdin) {
      send_copies(a.payload, 0);
    } else {
      std::string payload;
      for_each_stdin_line(
          [&](std::string_view line, std::size_t number) {
            if (blank(line)) return;
            ++lines;
            Status st = validate_payload(line);
            if (!st) {
              ++sink.refused_lines;
              report_refused_line(g, number, st.message() + " (a payload is a JSON object)");
              return;
            }
            payload.assign(line);
            send_copies(payload, number);
          },
          [&] { sink.flush(); });
    }
    sink.flush();
    return std::pair{sink.published, sink.refused_lines};
  };

  std::pair<std::uint64_t, std::uint64_t> outcome;
  if (!a.backend.empty()) {
    DirectSink sink(a, *t, *prio);
    outcome = publish_all(sink);
  } else {
    with_daemon([&] {
      // Unpaced: batches of up to 1000 per request, sent whenever stdin has
      // no complete line waiting; paced: one per request.
      DaemonSink sink(g, a, type, a.rate > 0 ? 1 : 1000);
      outcome = publish_all(sink);
    });
  }
  auto [published, refused] = outcome;
  if (g.json) {
    nlohmann::json out = {{"published", published}, {"bus", a.bus}, {"topic", a.topic}};
    if (from_stdin) out["refused_lines"] = refused;
    std::cout << out.dump() << std::endl;
  } else {
    note(g, "published " + std::to_string(published) + " message" + (published == 1 ? "" : "s") + " on " + a.bus + " bus");
  }
  if (refused > 0) {
    throw CliError(kExitFailure, std::to_string(refused) + " of " + std::to_string(lines) +
                                     " stdin line(s) refused; every other line was published");
  }
}

void run_subscribe(const GlobalOptions& g, const SubscribeArgs& a) {
  BusKind bus = parse_bus(a.bus);
  std::uint64_t received = 0;
  // `line`: the message as the daemon's NDJSON (encode_json); `m` when it is
  // already decoded (a direct bus), else it is decoded here when needed.
  auto emit = [&](std::string_view line, const Message* decoded) {
    if (g.json && !a.raw) {
      std::cout << line << "\n";
    } else {
      Message local;
      const Message* m = decoded;
      if (!m && decode_json(line, local)) m = &local;
      if (!m) std::cout << line << "\n";
      else if (a.raw) std::cout << m->payload << "\n";
      else std::cout << human_line(*m) << "\n";
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
        if (!emit(g.json && !a.raw ? encode_json(*m) : std::string(), m.get())) {
          done = true;
          cv.notify_all();
        }
      }, so);
    } catch (const std::invalid_argument& e) {
      throw CliError(kExitUsage, e.what());
    }
    (void)bus;
    note(g, "subscribed to " + a.bus + ":" + a.pattern);
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
      bool live = false;
      control::ControlClient::StreamEnd end;
      try {
        end = connect_daemon(g).stream(
            path, [&](std::string_view line) { return emit(line, nullptr); }, deadline, [&] {
              live = true;
              note(g, "subscribed to " + a.bus + ":" + a.pattern);
            });
      } catch (const control::ControlError& e) {
        // Once the stream is live, any way it breaks (SIGKILL: a reset or a
        // truncated chunk) means the daemon went away: exit 3, as for SIGTERM.
        if (!live) throw;
        throw CliError(kExitUnreachable, "lost nautilusd after " + std::to_string(received) + " message(s): " + e.what());
      }
      timed_out = end == control::ControlClient::StreamEnd::kDeadline;
      if (end == control::ControlClient::StreamEnd::kEnded) {
        // The daemon ends a stream only when it stops (SIGTERM) or restarts.
        throw CliError(kExitUnreachable, "nautilusd ended the stream after " + std::to_string(received) +
                                             " message(s) (it stopped or restarted)");
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
  auto* pub = bus->add_subcommand("publish", "Publish messages (payload from the argument, or stdin: each line sent as it arrives)");
  pub->add_option("BUS", pa->bus, "marketdata or engine")->required()->check(CLI::IsMember({"marketdata", "engine"}));
  pub->add_option("TOPIC", pa->topic, "Dot-separated topic, e.g. risk.alert.test")->required();
  pub->add_option("JSON", pa->payload, "Payload JSON object, or - for stdin (one per line)")->capture_default_str();
  pub->add_option("--priority", pa->priority, "flash_crash, urgent (critical), high, normal, low (any case)")->capture_default_str();
  pub->add_option("--type", pa->type, "Message type (default: market_data / system_health by bus)");
  pub->add_option("--source", pa->source, "Source name in the envelope")->capture_default_str();
  pub->add_option("--count", pa->count, "Publish each payload N times")->check(whole_number_in(1, 1e8))->capture_default_str();
  pub->add_option("--rate", pa->rate, "Messages per second (default: as fast as possible)")->check(number_in(0.001, 1e7));
  pub->add_option("--backend", pa->backend, "Talk to a bus directly (inproc://, redis://host:port), not the daemon");
  pub->callback([&g, pa] { run_publish(g, *pa); });

  auto sa = std::make_shared<SubscribeArgs>();
  auto* sub = bus->add_subcommand("subscribe", "Print messages matching a glob pattern (NDJSON with --json)");
  sub->add_option("BUS", sa->bus, "marketdata or engine")->required()->check(CLI::IsMember({"marketdata", "engine"}));
  sub->add_option("PATTERN", sa->pattern, "Glob pattern: * any run of characters, ? one")->required();
  sub->add_option("--count", sa->count, "Stop after N messages")->check(whole_number_in(1, 1e15));
  sub->add_option("--timeout", sa->timeout_s, "Stop after S seconds (exit 5 if --count was not reached)")->check(number_in(0.001, 1e7));
  sub->add_option("--group", sa->group, "Consumer group (Redis: instances of a group share messages)");
  sub->add_option("--backend", sa->backend, "Talk to a bus directly (inproc://, redis://host:port), not the daemon");
  sub->add_flag("--raw", sa->raw, "Print each message's payload only (one JSON object per line)");
  sub->callback([&g, sa] { run_subscribe(g, *sa); });
}

}  // namespace nautilus::cli
