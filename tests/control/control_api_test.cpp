// The control API against a real socket: routes, token rules, malformed
// requests, bounds, publish -> NDJSON subscribe, the Unix socket, /metrics.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "control/control_client.h"
#include "control/daemon_api.h"
#include "core/codec.h"
#include "support/metrics_check.h"

using namespace nautilus;
using namespace nautilus::control;

namespace {

class EchoEngine final : public Engine {
 public:
  std::string_view kind() const override { return "echo"; }
  std::string_view description() const override { return "answers commands"; }
  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "echo") return {{"args", args}};
    if (cmd == "bad") throw std::invalid_argument("bad arguments");
    return Engine::command(cmd, args);
  }

 protected:
  void on_start(EngineContext&) override {}
  // The shapes /metrics flattens: numbers, bools, nesting, named lists.
  nlohmann::json metrics() const override {
    return {{"hit_rate", 0.5},
            {"ready", true},
            {"cache", {{"entries", 7}}},
            {"sources", {{{"name", "synthetic"}, {"calls", 3}}}},
            {"label", "not a number"}};
  }
};

constexpr const char* kToken = "test-token-0123456789";

struct Api {
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://");
  EngineRegistry registry;
  std::unique_ptr<EngineHost> host;
  std::unique_ptr<ApiContext> ctx;
  std::unique_ptr<ControlServer> server;
  std::string url;
  std::string sock_path;

  explicit Api(ServerOptions so = {}) {
    registry.add({"echo", "answers commands", [] { return std::make_unique<EchoEngine>(); }});
    host = std::make_unique<EngineHost>(*router, live_clock(), registry);
    host->add({"echo", "echo", {}, true});
    host->start_all();
    ctx.reset(new ApiContext{*router, *host, live_clock(), nullptr, {}, false});
    ctx->daemon_info = [] { return nlohmann::json{{"name", "test"}, {"uptime_s", 1.0}}; };
    if (so.token.empty()) so.token = kToken;
    server = std::make_unique<ControlServer>(so);
    auto ep = server->listen(parse_endpoint("127.0.0.1:0"));
    url = "http://" + ep.to_string();
    char tmpl[] = "/tmp/nautilus-api-XXXXXX";
    sock_path = std::string(mkdtemp(tmpl)) + "/ctl.sock";
    server->listen(parse_endpoint("unix:" + sock_path));
    install_api_routes(*server, *ctx);
    add_command_alias(*server, *host, {"POST", "/api/v1/echo/{word}", "echo", "echo", false});
    server->start();
  }
  ~Api() {
    server->stop(std::chrono::milliseconds(2000));
    host->stop_all();
  }
};

// Sends raw bytes and returns the raw answer (until the server closes).
std::string raw_exchange(const std::string& url, const std::string& bytes) {
  Endpoint ep = parse_endpoint(url.substr(7));
  Fd fd = connect_to(ep, 0);
  REQUIRE(write_all(fd.get(), bytes, 0) == IoResult::kOk);
  std::string out;
  char buf[4096];
  for (;;) {
    std::size_t n = 0;
    if (read_some(fd.get(), buf, sizeof(buf), n, monotonic_now_ns() + 10'000'000'000) != IoResult::kOk) break;
    out.append(buf, n);
  }
  return out;
}

}  // namespace

TEST_CASE("control API: read routes, engine routes and JSON errors") {
  Api api;
  ControlClient c(api.url, kToken);
  CHECK(c.get("/health").body["status"] == "ok");
  auto engines = c.get("/api/v1/engines").body["engines"];
  REQUIRE(engines.size() == 1);
  CHECK(engines[0]["state"] == "RUNNING");
  CHECK(c.get("/api/v1/engines/echo").body["kind"] == "echo");
  CHECK_THROWS_AS(c.get("/api/v1/engines/nope"), NotFound);
  CHECK_THROWS_AS(c.get("/api/v1/nothing/here"), NotFound);

  auto r = c.request("GET", "/api/v1/engines/nope", nullptr);
  CHECK(r.status == 404);
  CHECK(r.body["error"]["code"] == "engine_not_found");
  CHECK_FALSE(r.body["error"]["message"].get<std::string>().empty());

  CHECK(c.post("/api/v1/engines/echo/stop").body["state"] == "STOPPED");
  auto conflict = c.request("POST", "/api/v1/engines/echo/command/echo", nullptr);
  CHECK(conflict.status == 409);
  CHECK(c.post("/api/v1/engines/echo/start").body["state"] == "RUNNING");
  CHECK(c.post("/api/v1/engines/echo/command/echo", {{"x", 1}}).body["args"]["x"] == 1);
  CHECK_THROWS_AS(c.post("/api/v1/engines/echo/command/bad"), BadRequest);
  CHECK_THROWS_AS(c.post("/api/v1/engines/echo/command/unknown"), NotFound);
  // An alias maps a friendly route onto an engine command; captures become arguments.
  CHECK(c.post("/api/v1/echo/hello", {{"n", 2}}).body["args"] == nlohmann::json{{"n", 2}, {"word", "hello"}});
  CHECK(c.request("DELETE", "/api/v1/engines", nullptr).status == 405);
}

TEST_CASE("control API: the token guards mutating routes") {
  Api api;
  ControlClient none(api.url, "");
  ControlClient wrong(api.url, "not-the-token");
  CHECK(none.get("/api/v1/engines").status == 200);  // reads on loopback need no token
  try {
    none.post("/api/v1/engines/echo/stop");
    FAIL("no token accepted");
  } catch (const Unauthorized& e) {
    CHECK(e.http_status() == 401);
  }
  try {
    wrong.post("/api/v1/engines/echo/stop");
    FAIL("wrong token accepted");
  } catch (const Unauthorized& e) {
    CHECK(e.http_status() == 401);  // refused as no token is; why is in the log
  }
  CHECK_THROWS_AS(wrong.post("/api/v1/bus/engine/publish", {{"topic", "a.b"}}), Unauthorized);
  CHECK(api.host->info("echo").health.state == EngineState::kRunning);
}

TEST_CASE("control API: malformed and oversized requests get 4xx and the server carries on") {
  ServerOptions so;
  so.max_body_bytes = 1024;
  Api api(so);
  CHECK_THAT(raw_exchange(api.url, "THIS IS NOT HTTP\r\n\r\n"), Catch::StartsWith("HTTP/1.1 400"));
  CHECK_THAT(raw_exchange(api.url, "GET / HTTP/1.1\r\nContent-Length: zz\r\n\r\n"), Catch::StartsWith("HTTP/1.1 400"));
  std::string big(4096, 'x');
  CHECK_THAT(raw_exchange(api.url, "POST /api/v1/bus/engine/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n" + big),
             Catch::StartsWith("HTTP/1.1 413"));
  ControlClient c(api.url, kToken);
  auto bad_json = raw_exchange(api.url,
      std::string("POST /api/v1/bus/engine/publish HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ") +
      kToken + "\r\nContent-Length: 5\r\n\r\n{nope");
  CHECK_THAT(bad_json, Catch::StartsWith("HTTP/1.1 400") && Catch::Contains("\"code\":\"bad_json\""));
  auto r = c.request("POST", "/api/v1/bus/engine/publish", nullptr);
  CHECK(r.status == 400);  // no topic
  nlohmann::json bad_priority = {{"topic", "a.b"}, {"priority", "huge"}};
  CHECK(c.request("POST", "/api/v1/bus/engine/publish", &bad_priority).status == 400);
  CHECK(c.get("/health").status == 200);
}

TEST_CASE("control API: publish -> subscribe round trip as NDJSON, on both buses, with patterns") {
  Api api;
  for (std::string bus : {"marketdata", "engine"}) {
    std::vector<std::string> lines;
    std::atomic<bool> open{false};
    // Catch2 assertions stay on the main thread: the reader only records.
    ControlClient::StreamEnd end{};
    std::thread reader([&] {
      ControlClient c(api.url, "");
      end = c.stream("/api/v1/bus/" + bus + "/subscribe?pattern=" + url_encode("rt.*.keep") + "&count=3",
                          [&](std::string_view l) {
                            lines.emplace_back(l);
                            return true;
                          },
                          std::chrono::seconds(20), [&] { open = true; });
    });
    REQUIRE([&] {
      for (int i = 0; i < 20000 && !open; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return open.load();
    }());
    ControlClient pub(api.url, kToken);
    nlohmann::json msgs = nlohmann::json::array();
    for (int i = 0; i < 3; ++i) {
      msgs.push_back({{"topic", "rt.x.drop"}, {"payload", {{"i", i}}}});
      msgs.push_back({{"topic", "rt." + std::to_string(i) + ".keep"}, {"priority", "high"}, {"payload", {{"i", i}}}});
    }
    auto r = pub.post("/api/v1/bus/" + bus + "/publish", {{"messages", msgs}});
    CHECK(r.body["published"] == 6);
    reader.join();
    CHECK(end == ControlClient::StreamEnd::kEnded);
    REQUIRE(lines.size() == 3);
    for (int i = 0; i < 3; ++i) {
      Message m;
      REQUIRE(decode_json(lines[static_cast<std::size_t>(i)], m).is_ok());
      CHECK(m.topic == "rt." + std::to_string(i) + ".keep");
      CHECK(m.priority == Priority::kHigh);
      CHECK(nlohmann::json::parse(m.payload)["i"] == i);
    }
  }
  ControlClient c(api.url, "");
  CHECK_THROWS_AS(c.stream("/api/v1/bus/nobus/subscribe?pattern=a", [](std::string_view) { return true; }), NotFound);
  CHECK_THROWS_AS(c.stream("/api/v1/bus/engine/subscribe", [](std::string_view) { return true; }), BadRequest);
}

TEST_CASE("control API: the Unix socket is 0600 and serves the same routes") {
  Api api;
  struct stat st{};
  REQUIRE(::stat(api.sock_path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
  ControlClient c("unix:" + api.sock_path, kToken);
  CHECK(c.get("/api/v1/engines/echo").body["state"] == "RUNNING");
}

TEST_CASE("control API: /metrics is Prometheus text with well-formed histograms") {
  Api api;
  ControlClient c(api.url, kToken);
  auto sub = api.router->subscribe(BusKind::kEngine, "m.*", [](const MessagePtr&) {});
  nlohmann::json msgs = nlohmann::json::array();
  for (int i = 0; i < 50; ++i) msgs.push_back({{"topic", "m.x"}, {"priority", i % 2 ? "high" : "low"}});
  c.post("/api/v1/bus/engine/publish", {{"messages", msgs}});
  REQUIRE(api.router->drain(std::chrono::seconds(10)));
  auto r = c.request("GET", "/metrics", nullptr);
  REQUIRE(r.status == 200);
  std::string text = r.body.is_object() && r.body.contains("text") ? r.body["text"].get<std::string>() : r.body.dump();
  // 50 published + 2 engine_status events (echo: STOPPED>STARTING>RUNNING).
  CHECK_THAT(text, Catch::Contains("nautilus_bus_published_total{bus=\"engine\"} 52"));
  CHECK_THAT(text, Catch::Contains("nautilus_engine_state{engine=\"echo\",state=\"RUNNING\"} 1"));
  auto h = nautilus::test::check_histograms(text);
  // 2 buses x 5 priorities, the one topic family seen ("m.x"), the one engine.
  CHECK(h.histograms == 12);
  CHECK(h.problems.empty());
  for (const auto& p : h.problems) INFO(p);
  CHECK_THAT(text, Catch::Contains("nautilus_bus_delivery_latency_seconds_count{bus=\"engine\",priority=\"high\"} 25"));
  CHECK_THAT(text, Catch::Contains("nautilus_bus_family_latency_seconds_count{bus=\"engine\",family=\"m.x\"} 50"));
  CHECK_THAT(text, Catch::Contains("nautilus_bus_family_delivered_total{bus=\"engine\",family=\"m.x\"} 50"));
  CHECK_THAT(text, Catch::Contains("nautilus_engine_delivery_latency_seconds_count{engine=\"echo\"}"));
  CHECK_THAT(text, Catch::Contains("nautilus_engine_metric{engine=\"echo\",metric=\"hit_rate\"} 0.5\n"));
  CHECK_THAT(text, Catch::Contains("nautilus_engine_metric{engine=\"echo\",metric=\"ready\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("nautilus_engine_metric{engine=\"echo\",metric=\"cache_entries\"} 7\n"));
  CHECK_THAT(text, Catch::Contains("nautilus_engine_metric{engine=\"echo\",metric=\"sources_synthetic_calls\"} 3\n"));
  CHECK_THAT(text, !Catch::Contains("metric=\"label\""));

  // The same figures as JSON on /api/v1/stats.
  auto stats = c.get("/api/v1/stats").body;
  const auto& engine_bus = stats["buses"][1];
  CHECK(engine_bus["name"] == "engine");
  REQUIRE(engine_bus["families"].size() == 1);
  CHECK(engine_bus["families"][0]["family"] == "m.x");
  CHECK(engine_bus["families"][0]["delivered"] == 50);
  CHECK(engine_bus["families"][0]["latency"]["count"] == 50);
  CHECK(engine_bus["latency"]["high"]["count"] == 25);
  CHECK(engine_bus["latency_all"]["count"] == 50);
  for (const char* k : {"p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "mean_ns"}) CHECK(engine_bus["latency_all"].contains(k));
  CHECK(stats["time_ns"].get<std::int64_t>() > 0);
}

TEST_CASE("the histogram check catches broken histograms") {
  std::string bad =
      "x_bucket{le=\"1\"} 5\nx_bucket{le=\"0.5\"} 4\nx_bucket{le=\"+Inf\"} 3\nx_count 4\n";
  auto h = nautilus::test::check_histograms(bad);
  CHECK(h.histograms == 1);
  CHECK(h.problems.size() == 4);  // unsorted, not cumulative twice, +Inf != count
}

TEST_CASE("control client: a dead address is DaemonUnreachable; bad URLs are rejected") {
  ControlClient c("http://127.0.0.1:1", "");
  CHECK_THROWS_AS(c.get("/health"), DaemonUnreachable);
  CHECK_THROWS_AS(ControlClient("http://nope", ""), std::invalid_argument);
  CHECK_THROWS_AS(ControlClient("unix:/tmp/nautilus-no-such.sock").get("/health"), DaemonUnreachable);
}

TEST_CASE("control server: connections beyond the limit get 503") {
  ServerOptions so;
  so.max_connections = 1;
  Api api(so);
  Endpoint ep = parse_endpoint(api.url.substr(7));
  Fd held = connect_to(ep, 0);  // an idle connection takes the only slot
  REQUIRE(write_all(held.get(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 0) == IoResult::kOk);
  char buf[1024];
  std::size_t n = 0;
  REQUIRE(read_some(held.get(), buf, sizeof(buf), n, monotonic_now_ns() + 10'000'000'000) == IoResult::kOk);
  CHECK_THAT(raw_exchange(api.url, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), Catch::StartsWith("HTTP/1.1 503"));
  held.reset();
}
