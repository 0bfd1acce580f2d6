// Peer harness: NATS (Debian nats-server + libnats, the C client) doing what
// `nautilus bench throughput|latency` does: one publisher, one subscriber on
// its own connection, N messages of S bytes, or paced at R msgs/s, latency from
// a wall-clock stamp in the payload to the subscriber's handler.
//   core:      plain subject publish / async subscribe (at-most-once)
//   jetstream: a FILE-storage stream, js_PublishAsync, a durable push consumer
//              with explicit ACK, each message acked after handling
//              (at-least-once: the peer of Redis consumer groups)
// Both connections use send-asap: the client otherwise buffers publishes for up
// to 1 ms, which would be measured as latency.
//   peer_nats [OPTIONS] MODE throughput COUNT [SIZE]
//   peer_nats [OPTIONS] MODE latency RATE SECONDS [SIZE]
// OPTIONS: --url nats://HOST:PORT, --no-send-asap, --drain-timeout SECONDS
// (default 30, as `nautilus bench`: how long to wait for stragglers).
// Without --url it starts its own nats-server (-js, store in a temporary
// directory) on a free loopback port and stops it at the end. Prints one JSON
// object with the field names of `nautilus --json bench`. Exit 0 when every
// message arrived, 1 when some were lost or a publish failed, 2 usage, 3 no server.
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/histogram.h"

using namespace nautilus;

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;
constexpr int kWindow = 65536;          // in-flight limit, as the bench's queue capacity

[[noreturn]] void die(int code, const std::string& what) {
  std::fprintf(stderr, "peer_nats: %s\n", what.c_str());
  std::exit(code);
}

void check(natsStatus s, const char* what) {
  if (s != NATS_OK) die(kExitFailure, std::string(what) + ": " + natsStatus_GetText(s) + " " + nats_GetLastError(nullptr));
}

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = std::string(path ? path : "") + ":/usr/sbin:/usr/bin:/usr/local/bin";
  std::size_t pos = 0;
  while (pos <= dirs.size()) {
    std::size_t end = dirs.find(':', pos);
    if (end == std::string::npos) end = dirs.size();
    std::string p = dirs.substr(pos, end - pos) + "/" + name;
    if (end > pos && ::access(p.c_str(), X_OK) == 0) return p;
    pos = end + 1;
  }
  return {};
}

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    die(kExitFailure, "cannot bind a loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A nats-server of our own, for runs without --url (the ctest): JetStream on,
// store in a temporary directory, killed with us (PDEATHSIG) if we crash.
class OwnServer {
 public:
  OwnServer() {
    std::string exe = find_program("nats-server");
    if (exe.empty()) die(kExitUnreachable, "nats-server not found (scripts/install-deps.sh installs it)");
    char tmpl[] = "/tmp/peer-nats.XXXXXX";
    if (!::mkdtemp(tmpl)) die(kExitFailure, "mkdtemp failed");
    dir_ = tmpl;
    port_ = free_loopback_port();
    std::string port = std::to_string(port_), log = dir_ + "/nats.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execl(exe.c_str(), exe.c_str(), "-a", "127.0.0.1", "-p", port.c_str(), "-js", "-sd", dir_.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid_ < 0) die(kExitFailure, "fork failed");
  }
  ~OwnServer() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  OwnServer(const OwnServer&) = delete;
  OwnServer& operator=(const OwnServer&) = delete;
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Retries for a few seconds: a server we just started may not listen yet.
natsConnection* connect(const std::string& url, bool send_asap, natsErrHandler on_error, void* closure) {
  natsOptions* opts = nullptr;
  check(natsOptions_Create(&opts), "options");
  natsOptions_SetURL(opts, url.c_str());
  natsOptions_SetSendAsap(opts, send_asap);
  natsOptions_SetErrorHandler(opts, on_error, closure);
  natsConnection* nc = nullptr;
  natsStatus s = NATS_OK;
  for (int attempt = 0; attempt < 100; ++attempt) {
    s = natsConnection_Connect(&nc, opts);
    if (s == NATS_OK) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  natsOptions_Destroy(opts);
  if (s != NATS_OK) die(kExitUnreachable, "cannot connect to " + url + ": " + natsStatus_GetText(s));
  return nc;
}

// {"t":<wall ns>,"s":<seq>,"pad":"xxx…"} padded to `size`, like the bench's
// padded JSON; the stamp travels in the payload because NATS has no envelope.
void build_payload(std::string& out, std::int64_t t, std::uint64_t seq, std::size_t size) {
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "{\"t\":%lld,\"s\":%llu,\"pad\":\"", static_cast<long long>(t),
                        static_cast<unsigned long long>(seq));
  auto head = static_cast<std::size_t>(n);
  out.assign(buf, head);
  if (size > head + 2) out.append(size - head - 2, 'x');
  out += "\"}";
}

bool parse_payload(const char* b, std::size_t len, std::int64_t& t, std::uint64_t& seq) {
  const char* e = b + len;
  if (len < 12 || std::string_view(b, 5) != "{\"t\":") return false;
  auto r1 = std::from_chars(b + 5, e, t);
  if (r1.ec != std::errc() || e - r1.ptr < 6) return false;
  return std::from_chars(r1.ptr + 5, e, seq).ec == std::errc();
}

// Everything the subscriber saw; written only by its delivery thread.
struct Tracker {
  std::vector<std::uint8_t> seen;  // [seq] -> times seen
  HistogramSnapshot latency;
  std::atomic<std::uint64_t> unique{0};
  std::uint64_t total = 0, malformed = 0;
  std::atomic<std::int64_t> last_ns{0};
  bool ack = false;
  std::atomic<std::uint64_t> ack_errors{0}, async_errors{0};

  explicit Tracker(std::uint64_t count) : seen(count, 0) {}
};

void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  std::int64_t now = wall_now_ns();
  auto* t = static_cast<Tracker*>(closure);
  std::int64_t stamp = 0;
  std::uint64_t seq = 0;
  if (!parse_payload(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)), stamp, seq) ||
      seq >= t->seen.size()) {
    ++t->malformed;
  } else {
    auto& slot = t->seen[seq];
    if (slot < 255) ++slot;
    ++t->total;
    t->latency.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - stamp)));
    if (slot == 1) {
      std::uint64_t u = t->unique.load(std::memory_order_relaxed) + 1;
      t->unique.store(u, std::memory_order_release);
      if ((u & 1023) == 0) t->last_ns.store(monotonic_now_ns(), std::memory_order_release);
    }
  }
  // Handled: acknowledge it (a plain publish to the reply subject, no wait).
  if (t->ack && natsMsg_Ack(msg, nullptr) != NATS_OK) t->ack_errors.fetch_add(1, std::memory_order_relaxed);
  natsMsg_Destroy(msg);
}

void on_async_error(natsConnection*, natsSubscription*, natsStatus, void* closure) {
  static_cast<Tracker*>(closure)->async_errors.fetch_add(1, std::memory_order_relaxed);
}

std::atomic<std::uint64_t> g_publish_errors{0};
void on_pub_ack_error(jsCtx*, jsPubAckErr*, void*) { g_publish_errors.fetch_add(1, std::memory_order_relaxed); }

// As `nautilus bench`: sleep while far ahead, spin for the last 200 µs.
void wait_until(std::int64_t t) {
  for (;;) {
    std::int64_t now = monotonic_now_ns();
    if (now >= t) return;
    if (t - now > 200'000) std::this_thread::sleep_for(std::chrono::nanoseconds(t - now - 150'000));
  }
}

nlohmann::ordered_json latency_json(const HistogramSnapshot& h) {
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  return {{"p50", us(h.percentile(0.50))}, {"p90", us(h.percentile(0.90))},  {"p99", us(h.percentile(0.99))},
          {"p999", us(h.percentile(0.999))}, {"max", us(h.max())},          {"mean", h.mean() / 1000.0},
          {"samples", h.count()}};
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "peer_nats: %s\nusage: peer_nats [--url nats://HOST:PORT] [--no-send-asap] [--drain-timeout S] "
               "core|jetstream throughput COUNT [SIZE] | ... core|jetstream latency RATE SECONDS [SIZE]\n",
               why.c_str());
  std::exit(kExitUsage);
}

double number(const char* s, const char* what) {
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end == s || *end != '\0' || !(v > 0)) usage(std::string("bad ") + what + " '" + s + "'");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  bool send_asap = true;
  double drain_timeout_s = 30;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--url" && i + 1 < argc) {
      url = argv[++i];
    } else if (a == "--drain-timeout" && i + 1 < argc) {
      drain_timeout_s = number(argv[++i], "drain timeout");
    } else if (a == "--no-send-asap") {
      send_asap = false;
    } else if (a == "-h" || a == "--help") {
      usage("help");
    } else if (a.rfind("--", 0) == 0) {
      usage("unknown option " + a);
    } else {
      args.push_back(a);
    }
  }
  if (args.size() < 3) usage("missing arguments");
  const std::string mode = args[0], scenario = args[1];
  if (mode != "core" && mode != "jetstream") usage("mode must be core or jetstream, not '" + mode + "'");
  const bool paced = scenario == "latency";
  if (!paced && scenario != "throughput") usage("scenario must be throughput or latency");
  double rate = 0;
  std::uint64_t count = 0;
  std::size_t size = 100;
  if (paced) {
    if (args.size() < 4) usage("latency needs RATE SECONDS");
    rate = number(args[2].c_str(), "rate");
    count = static_cast<std::uint64_t>(rate * number(args[3].c_str(), "seconds"));
    if (args.size() > 4) size = static_cast<std::size_t>(number(args[4].c_str(), "size"));
  } else {
    count = static_cast<std::uint64_t>(number(args[2].c_str(), "count"));
    if (args.size() > 3) size = static_cast<std::size_t>(number(args[3].c_str(), "size"));
  }
  if (count == 0 || count > 100'000'000) usage("count out of range");

  std::unique_ptr<OwnServer> own;
  if (url.empty()) {
    own = std::make_unique<OwnServer>();
    url = own->url();
  }
  const bool jetstream = mode == "jetstream";
  const std::string tag = std::to_string(::getpid());
  const std::string subject = "peer." + tag + "." + mode;
  const std::string stream = "PEER_" + tag;

  auto tracker = std::make_unique<Tracker>(count);
  tracker->ack = jetstream;
  natsConnection* pub_nc = connect(url, send_asap, on_async_error, tracker.get());
  natsConnection* sub_nc = connect(url, send_asap, on_async_error, tracker.get());
  natsSubscription* sub = nullptr;
  jsCtx* pub_js = nullptr;
  jsCtx* sub_js = nullptr;

  if (jetstream) {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = kWindow;
    jo.PublishAsync.ErrHandler = on_pub_ack_error;
    jo.PublishAsync.StallWait = 10'000;  // a full window waits for acks rather than failing
    check(natsConnection_JetStream(&pub_js, pub_nc, &jo), "JetStream context");
    check(natsConnection_JetStream(&sub_js, sub_nc, nullptr), "JetStream context");

    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = stream.c_str();
    const char* subjects[] = {subject.c_str()};
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    jsStreamInfo* si = nullptr;
    check(js_AddStream(&si, pub_js, &sc, nullptr, &jerr), "add stream");
    jsStreamInfo_Destroy(si);

    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.ManualAck = true;  // ack in the handler, after the message was handled
    so.Config.Durable = "peer";
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.MaxAckPending = kWindow;  // the server default (1,000) would throttle the pipe
    check(js_Subscribe(&sub, sub_js, subject.c_str(), on_message, tracker.get(), nullptr, &so, &jerr),
          "JetStream subscribe");
  } else {
    check(natsConnection_Subscribe(&sub, sub_nc, subject.c_str(), on_message, tracker.get()), "subscribe");
  }
  // No client-side drops: a slow subscriber queues (the bench's kBlock is the
  // closest a push protocol gets); the server may still cut a slow consumer.
  check(natsSubscription_SetPendingLimits(sub, -1, -1), "pending limits");
  check(natsConnection_Flush(sub_nc), "flush subscription");

  std::string payload;
  std::uint64_t refused = 0;
  auto publish = [&](std::uint64_t seq) {
    build_payload(payload, wall_now_ns(), seq, size);
    natsStatus s = jetstream ? js_PublishAsync(pub_js, subject.c_str(), payload.data(), static_cast<int>(payload.size()), nullptr)
                             : natsConnection_Publish(pub_nc, subject.c_str(), payload.data(), static_cast<int>(payload.size()));
    if (s != NATS_OK) ++refused;
  };
  std::int64_t start = 0;
  if (paced) {
    start = monotonic_now_ns() + 1'000'000;
    double interval_ns = 1e9 / rate;
    for (std::uint64_t i = 0; i < count; ++i) {
      wait_until(start + static_cast<std::int64_t>(interval_ns * static_cast<double>(i)));
      publish(i);
    }
  } else {
    start = monotonic_now_ns();
    for (std::uint64_t i = 0; i < count; ++i) publish(i);
  }
  natsConnection_Flush(pub_nc);

  // Wait for every message once, as the bench does (poll every 50 µs).
  std::int64_t last = 0;
  auto deadline = monotonic_now_ns() + static_cast<std::int64_t>(drain_timeout_s * 1e9);
  for (;;) {
    if (tracker->unique.load(std::memory_order_acquire) >= count) {
      last = monotonic_now_ns();
      break;
    }
    if (monotonic_now_ns() > deadline) {
      last = tracker->last_ns.load(std::memory_order_acquire);
      if (last <= start) last = monotonic_now_ns();  // fewer than 1,024 arrived
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  if (jetstream) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 10'000;
    if (js_PublishAsyncComplete(pub_js, &po) != NATS_OK) ++refused;
  }
  std::int64_t dropped = 0;
  natsSubscription_GetDropped(sub, &dropped);
  // Stops the delivery thread; the tracker is ours from here on.
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  if (jetstream) {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    js_DeleteStream(pub_js, stream.c_str(), nullptr, &jerr);
    jsCtx_Destroy(pub_js);
    jsCtx_Destroy(sub_js);
  }
  natsConnection_Destroy(pub_nc);
  natsConnection_Destroy(sub_nc);
  nats_CloseAndWait(5000);

  std::uint64_t lost = 0, duplicated = 0;
  for (std::uint8_t n : tracker->seen) {
    if (n == 0) ++lost;
    if (n > 1) duplicated += n - 1u;
  }
  double secs = static_cast<double>(std::max(last, start + 1) - start) / 1e9;
  refused += g_publish_errors.load();
  nlohmann::ordered_json j = {
      {"peer", jetstream ? "NATS JetStream (file storage, durable push consumer, explicit ack)" : "NATS core"},
      {"scenario", paced ? "latency" : "throughput"},
      {"backend", url},
      {"publishers", 1},
      {"subscribers", 1},
      {"payload_bytes", size},
      {"target_rate", rate},
      {"messages", count},
      {"delivered", tracker->total},
      {"duration_s", secs},
      {"throughput_msgs_per_s", static_cast<double>(count) / secs},
      {"latency_us", latency_json(tracker->latency)},
      {"lost", lost},
      {"duplicated", duplicated},
      {"send_asap", send_asap},
      {"publish_errors", refused},
      {"client_dropped", dropped},
      {"async_errors", tracker->async_errors.load()},
      {"ack_errors", tracker->ack_errors.load()},
  };
  if (tracker->malformed) j["malformed"] = tracker->malformed;
  std::printf("%s\n", j.dump().c_str());
  return lost == 0 && refused == 0 ? 0 : kExitFailure;
}
