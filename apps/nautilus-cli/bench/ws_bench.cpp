// `nautilus bench ws`: many WebSocket clients in this one process (Beast,
// one io_context on one thread) against a nautilusd, which this command
// starts itself (only the websocket engine, rate limits off) or finds at
// --url. Messages are published through the daemon's bus (HTTP batch publish
// on one keep-alive connection, paced to --rate), each carrying its publish
// time; every client subscribes to one topic shared by --fanout clients.
// Reports publish -> client latency (p50/p99/p99.9/max), messages lost (per
// client: published on its topic and not received) and the daemon's CPU use
// from /proc/<pid>/stat when it started the daemon. Goal (issue 21): 1,000
// clients, 50,000 msgs/s in total, nothing lost, p99 <= 10 ms, <= 1 core.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "cli_context.h"
#include "commands.h"
#include "control/socket_io.h"
#include "core/clock.h"
#include "core/histogram.h"

namespace nautilus::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using control::connect_to;
using control::Endpoint;
using control::Fd;
using control::IoResult;
using control::parse_endpoint;
using control::read_some;
using control::write_all;

struct WsBenchArgs {
  std::size_t clients = 1000;
  double rate = 50'000;  // published messages per second, all topics together
  double duration_s = 10;
  std::size_t fanout = 1;  // clients per topic: deliveries per second = rate x fanout
  std::size_t batch_ms = 1;
  std::string daemon;  // the nautilusd to start; default: beside this binary
  std::size_t payload_bytes = 64;
  std::size_t ws_threads = 1;
};

// The nautilusd beside this `nautilus`: the build tree's apps/nautilusd, or
// the same bin directory once installed; else whatever PATH finds.
std::string find_daemon(const std::string& given) {
  if (!given.empty()) return given;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (auto candidate : {self.parent_path().parent_path() / "nautilusd" / "nautilusd", self.parent_path() / "nautilusd"}) {
      if (std::filesystem::is_regular_file(candidate)) return candidate.string();
    }
  }
  return "nautilusd";
}

// utime + stime of `pid` in clock ticks (fields 14 and 15 of /proc/pid/stat).
std::int64_t cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::size_t pos = close + 2;
  std::int64_t ut = 0, st = 0;
  for (int field = 3; field <= 15 && pos < stat.size(); ++field) {
    auto next = stat.find(' ', pos);
    if (field == 14) std::from_chars(stat.data() + pos, stat.data() + next, ut);
    if (field == 15) std::from_chars(stat.data() + pos, stat.data() + next, st);
    pos = next + 1;
  }
  return ut + st;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// The daemon this bench started: its own state directory and config.
struct StartedDaemon {
  pid_t pid = -1;
  std::string state_dir;
  Endpoint endpoint;
  std::string token;
  ~StartedDaemon() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
    if (!state_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(state_dir, ec);
    }
  }
};

std::unique_ptr<StartedDaemon> start_daemon(const WsBenchArgs& a) {
  auto d = std::make_unique<StartedDaemon>();
  char tmpl[] = "/tmp/nautilus-bench-ws-XXXXXX";
  if (!::mkdtemp(tmpl)) throw CliError(kExitFailure, "cannot create a state directory");
  d->state_dir = tmpl;
  const std::string config = d->state_dir + "/nautilusd.toml";
  {
    std::ofstream out(config);
    // Only the websocket engine; the bench's publishes and upgrades are its
    // load, not abuse, so the rate limits are off; no history recorded.
    out << "[security]\nrate_publish = 0\nrate_subscribe = 0\n\n[recorder]\nenabled = false\n\n"
        << "[engines.websocket]\nthreads = " << a.ws_threads << "\nmax_connections = " << (a.clients + 100) << "\n";
  }
  const std::string daemon = find_daemon(a.daemon);
  d->pid = ::fork();
  if (d->pid < 0) throw CliError(kExitFailure, "fork failed");
  if (d->pid == 0) {
    std::string log = d->state_dir + "/nautilusd.log";
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    ::dup2(STDOUT_FILENO, STDERR_FILENO);
    ::execl(daemon.c_str(), daemon.c_str(), "--config", config.c_str(), "--listen", "127.0.0.1:0", "--state-dir",
            d->state_dir.c_str(), static_cast<char*>(nullptr));
    ::execlp(daemon.c_str(), daemon.c_str(), "--config", config.c_str(), "--listen", "127.0.0.1:0", "--state-dir",
             d->state_dir.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  const std::string address = d->state_dir + "/address";
  for (int i = 0; i < 300 && !std::filesystem::exists(address); ++i) {
    int status = 0;
    if (::waitpid(d->pid, &status, WNOHANG) == d->pid) {
      d->pid = -1;
      throw CliError(kExitFailure, daemon + " exited at start; see its log in " + d->state_dir);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::ifstream in(address);
  std::string url;
  in >> url;
  if (url.empty()) throw CliError(kExitFailure, daemon + " did not start within 30 s");
  d->endpoint = parse_endpoint(url.substr(url.find("://") + 3));
  std::ifstream tok(d->state_dir + "/token");
  tok >> d->token;
  // The engines start after the address file: wait until /ws answers.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  return d;
}

// A keep-alive HTTP/1.1 connection for the batch publishes.
class Publisher {
 public:
  Publisher(const Endpoint& ep, std::string token) : ep_(ep), token_(std::move(token)) {
    fd_ = connect_to(ep_, monotonic_now_ns() + 5'000'000'000);
    if (!fd_) throw CliError(kExitUnreachable, "cannot connect to " + ep_.to_string());
  }
  // POSTs one batch; false when the daemon refused it.
  bool post(const std::string& body) {
    std::string req = "POST /api/v1/bus/engine/publish HTTP/1.1\r\nHost: " + ep_.to_string() +
                      "\r\nContent-Type: application/json\r\nAuthorization: Bearer " + token_ +
                      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    if (write_all(fd_.get(), req, monotonic_now_ns() + 5'000'000'000) != IoResult::kOk) return false;
    // Read the head, then Content-Length bytes.
    for (;;) {
      auto end = in_.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto cl = in_.find("Content-Length: ");
        std::size_t length = cl == std::string::npos ? 0 : std::strtoul(in_.c_str() + cl + 16, nullptr, 10);
        if (in_.size() >= end + 4 + length) {
          bool ok = in_.compare(0, 12, "HTTP/1.1 200") == 0;
          if (!ok) last_error_ = in_.substr(0, end + 4 + length);
          in_.erase(0, end + 4 + length);
          return ok;
        }
      }
      char buf[8192];
      std::size_t n = 0;
      if (read_some(fd_.get(), buf, sizeof(buf), n, monotonic_now_ns() + 5'000'000'000) != IoResult::kOk) return false;
      in_.append(buf, n);
    }
  }
  const std::string& last_error() const { return last_error_; }

 private:
  Endpoint ep_;
  std::string token_;
  Fd fd_;
  std::string in_;
  std::string last_error_;
};

// One client: connect, upgrade, subscribe to its topic, read forever.
struct Client : std::enable_shared_from_this<Client> {
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buf;
  std::string topic;
  HistogramSnapshot& latency;  // shared: one io thread records
  std::uint64_t received = 0;
  bool acked = false;
  std::atomic<bool> failed{false};  // read by the main thread while it waits
  std::string error;
  std::atomic<std::size_t>& ready;
  std::function<void()> next;  // starts the next client's connect (on the io thread)

  Client(asio::io_context& ioc, std::string t, HistogramSnapshot& h, std::atomic<std::size_t>& r)
      : ws(ioc), topic(std::move(t)), latency(h), ready(r) {}

  void start(const tcp::endpoint& to, const std::string& host, const std::string& token) {
    beast::get_lowest_layer(ws).async_connect(to, [self = shared_from_this(), host, token](beast::error_code ec) {
      if (ec) return self->fail("connect: " + ec.message());
      beast::get_lowest_layer(self->ws).socket().set_option(tcp::no_delay(true));
      self->ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
        req.set(beast::http::field::authorization, "Bearer " + token);
      }));
      self->ws.async_handshake(host, "/ws", [self](beast::error_code e) {
        if (e) return self->fail("handshake: " + e.message());
        auto sub = std::make_shared<std::string>(R"({"op":"subscribe","id":1,"bus":"engine","pattern":")" + self->topic + "\"}");
        self->ws.async_write(asio::buffer(*sub), [self, sub](beast::error_code w, std::size_t) {
          if (w) return self->fail("subscribe: " + w.message());
          self->read();
        });
      });
    });
  }
  void read() {
    ws.async_read(buf, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->fail("read: " + ec.message());
      self->on_frame(std::string_view(static_cast<const char*>(self->buf.data().data()), self->buf.size()));
      self->buf.consume(self->buf.size());
      self->read();
    });
  }
  void on_frame(std::string_view f) {
    const std::int64_t now = monotonic_now_ns();
    if (!acked) {
      if (f.find("\"ack\"") == std::string_view::npos) return fail("subscribe refused: " + std::string(f));
      acked = true;
      ++ready;
      if (next) std::exchange(next, nullptr)();
      return;
    }
    // The payload is {"t":<publish ns>,...}: found without a JSON parse, so
    // the client costs little beside the daemon.
    auto t = f.find("\"t\":");
    if (t == std::string_view::npos) return;
    std::int64_t sent = 0;
    std::from_chars(f.data() + t + 4, f.data() + f.size(), sent);
    ++received;
    latency.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - sent)));
  }
  void fail(std::string why) {
    if (!failed && !stopping) {
      failed = true;
      error = std::move(why);
    }
  }
  bool stopping = false;
};

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

void run_ws_bench(const GlobalOptions& g, const WsBenchArgs& a) {
  if (a.fanout == 0 || a.clients % a.fanout != 0) throw CliError(kExitUsage, "--clients must be a multiple of --fanout");
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < a.clients + 256) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, a.clients + 256);
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  std::unique_ptr<StartedDaemon> started;
  Endpoint ep;
  std::string token = g.token;
  if (g.url.empty()) {
    started = start_daemon(a);
    ep = started->endpoint;
    token = started->token;
  } else {
    ep = parse_endpoint(g.url.starts_with("http://") ? g.url.substr(7) : g.url);
  }
  const std::size_t topics = a.clients / a.fanout;

  asio::io_context ioc;
  HistogramSnapshot latency;
  std::atomic<std::size_t> ready{0};
  std::vector<std::shared_ptr<Client>> clients;
  tcp::endpoint to(asio::ip::make_address(ep.host == "localhost" ? "127.0.0.1" : ep.host), ep.port);
  for (std::size_t i = 0; i < a.clients; ++i) {
    clients.push_back(std::make_shared<Client>(ioc, "bench.ws." + std::to_string(i % topics), latency, ready));
  }
  // A few handshakes in flight at a time: the control server keeps one peer
  // to 16 connections whose headers are still coming (no lockout), and every
  // client here is the same peer.
  constexpr std::size_t kInFlight = 8;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (i + kInFlight < clients.size()) {
      clients[i]->next = [&clients, to, host = ep.to_string(), token, k = i + kInFlight] {
        clients[k]->start(to, host, token);
      };
    }
  }
  for (std::size_t i = 0; i < std::min(kInFlight, clients.size()); ++i) clients[i]->start(to, ep.to_string(), token);
  auto work = asio::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  struct Stop {
    asio::io_context& ioc;
    std::thread& io;
    ~Stop() {
      ioc.stop();
      if (io.joinable()) io.join();
    }
  } stop{ioc, io};

  const std::int64_t setup_deadline = monotonic_now_ns() + 60'000'000'000;
  while (ready.load() < a.clients && monotonic_now_ns() < setup_deadline) {
    bool failed = false;
    for (auto& c : clients) failed = failed || c->failed.load();
    if (failed) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (ready.load() < a.clients) {
    std::string why;
    for (auto& c : clients) {
      if (c->failed) {
        why = c->error;
        break;
      }
    }
    throw CliError(kExitFailure, std::to_string(ready.load()) + " of " + std::to_string(a.clients) +
                                     " clients subscribed" + (why.empty() ? "" : ": " + why));
  }

  // Publishing: a batch every batch_ms, sized so the total keeps to --rate;
  // topics in turn, so every client gets rate / topics messages per second.
  Publisher pub(ep, token);
  std::vector<std::uint64_t> published(topics, 0);
  const std::string pad(a.payload_bytes > 40 ? a.payload_bytes - 40 : 0, 'x');
  const std::int64_t start = monotonic_now_ns();
  const std::int64_t end = start + static_cast<std::int64_t>(a.duration_s * 1e9);
  const std::int64_t ticks0 = started ? cpu_ticks(started->pid) : -1;
  std::uint64_t sent = 0;
  std::size_t next_topic = 0;
  std::string body;
  for (std::int64_t tick = start; tick < end; tick += static_cast<std::int64_t>(a.batch_ms) * 1'000'000) {
    while (monotonic_now_ns() < tick) std::this_thread::sleep_for(std::chrono::microseconds(100));
    const double elapsed = static_cast<double>(monotonic_now_ns() - start) / 1e9;
    const auto due = static_cast<std::uint64_t>(elapsed * a.rate);
    if (due <= sent) continue;
    body = "{\"messages\":[";
    const std::int64_t now = monotonic_now_ns();
    for (std::uint64_t k = 0; sent + k < due && k < 10'000; ++k) {
      if (k) body += ',';
      body += R"({"topic":"bench.ws.)" + std::to_string(next_topic) + R"(","type":"trading_signal","payload":{"t":)" +
              std::to_string(now) + R"(,"p":")" + pad + "\"}}";
      ++published[next_topic];
      next_topic = (next_topic + 1) % topics;
    }
    body += "]}";
    const std::uint64_t n = std::min<std::uint64_t>(due - sent, 10'000);
    if (!pub.post(body)) throw CliError(kExitFailure, "publish refused: " + pub.last_error());
    sent += n;
  }
  const double publish_s = static_cast<double>(monotonic_now_ns() - start) / 1e9;
  const std::int64_t ticks1 = started ? cpu_ticks(started->pid) : -1;

  // Deliveries still on their way: wait until every client has its share,
  // or 5 s without progress.
  auto total_received = [&] {
    std::uint64_t r = 0;
    std::promise<void> done;
    asio::post(ioc, [&] {
      for (auto& c : clients) r += c->received;
      done.set_value();
    });
    done.get_future().wait();
    return r;
  };
  const std::uint64_t expected = sent * a.fanout;
  std::uint64_t got = total_received(), last = got;
  std::int64_t last_progress = monotonic_now_ns();
  while (got < expected && monotonic_now_ns() - last_progress < 5'000'000'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    got = total_received();
    if (got != last) {
      last = got;
      last_progress = monotonic_now_ns();
    }
  }
  HistogramSnapshot lat;
  std::size_t failed_clients = 0;
  {
    std::promise<void> done;
    asio::post(ioc, [&] {
      lat = latency;
      for (auto& c : clients) {
        failed_clients += c->failed ? 1 : 0;
        c->stopping = true;
      }
      done.set_value();
    });
    done.get_future().wait();
  }
  const double clk = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double daemon_cores = started && ticks0 >= 0 ? static_cast<double>(ticks1 - ticks0) / clk / publish_s : -1;
  nlohmann::json r = {{"clients", a.clients},
                      {"fanout", a.fanout},
                      {"topics", topics},
                      {"rate_target", a.rate},
                      {"published", sent},
                      {"publish_rate", static_cast<double>(sent) / publish_s},
                      {"deliveries_per_s", static_cast<double>(sent * a.fanout) / publish_s},
                      {"duration_s", publish_s},
                      {"expected", expected},
                      {"received", got},
                      {"lost", expected - std::min(expected, got)},
                      {"failed_clients", failed_clients},
                      {"latency_ms",
                       {{"p50", ms(lat.percentile(0.50))},
                        {"p99", ms(lat.percentile(0.99))},
                        {"p999", ms(lat.percentile(0.999))},
                        {"max", ms(lat.max())}}},
                      {"daemon_cores", daemon_cores},
                      {"load_average", load_average()},
                      {"cpus", std::thread::hardware_concurrency()}};
  if (g.json) {
    std::cout << r.dump() << std::endl;
  } else {
    std::cout << "clients " << a.clients << " (" << topics << " topics x " << a.fanout << "), published "
              << sent << " in " << publish_s << " s (" << r["publish_rate"].get<double>() << " msgs/s), deliveries "
              << r["deliveries_per_s"].get<double>() << "/s\n"
              << "received " << got << " of " << expected << " (lost " << r["lost"] << ", failed clients "
              << failed_clients << ")\n"
              << "publish -> client latency ms: p50 " << r["latency_ms"]["p50"] << "  p99 " << r["latency_ms"]["p99"]
              << "  p99.9 " << r["latency_ms"]["p999"] << "  max " << r["latency_ms"]["max"] << "\n"
              << "daemon CPU: "
              << (daemon_cores >= 0 ? std::to_string(daemon_cores) + " cores" : std::string("not measured (--url)"))
              << "; load average " << load_average() << " on " << std::thread::hardware_concurrency() << " CPUs\n";
  }
  if (expected > got) throw CliError(kExitFailure, std::to_string(expected - got) + " messages lost");
}

}  // namespace

void add_ws_bench_command(CLI::App& bench, GlobalOptions& global) {
  auto a = std::make_shared<WsBenchArgs>();
  auto* cmd = bench.add_subcommand("ws", "WebSocket fan-out: many clients of one nautilusd (started here, or --url); "
                                         "publish -> client latency, losses, daemon CPU");
  cmd->add_option("--clients", a->clients, "WebSocket connections")->check(CLI::Range(1, 100'000))->capture_default_str();
  cmd->add_option("--rate", a->rate, "Messages published per second (all topics)")->check(CLI::Range(1.0, 1e7))
      ->capture_default_str();
  cmd->add_option("--duration", a->duration_s, "Seconds to publish for")->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd->add_option("--fanout", a->fanout, "Clients per topic (each message reaches that many)")
      ->check(CLI::Range(1, 100'000))->capture_default_str();
  cmd->add_option("--size", a->payload_bytes, "Approximate payload bytes")->check(CLI::Range(16, 65536))
      ->capture_default_str();
  cmd->add_option("--ws-threads", a->ws_threads, "The started daemon's websocket threads")->check(CLI::Range(1, 16))
      ->capture_default_str();
  cmd->add_option("--daemon", a->daemon, "nautilusd to start (default: beside this binary, else PATH)");
  cmd->callback([&global, a] { run_ws_bench(global, *a); });
}

}  // namespace nautilus::cli
