// The token rule for a listener that is not on loopback (nautilusd(8)): every
// route but /health needs the token there, reads included, while the same
// routes on a loopback listener of the same server stay open for reads.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "control/control_client.h"
#include "control/daemon_api.h"

using namespace nautilus;
using namespace nautilus::control;

namespace {

constexpr const char* kToken = "remote-token-0123456789";

class QuietEngine final : public Engine {
 public:
  std::string_view kind() const override { return "quiet"; }
  std::string_view description() const override { return "does nothing"; }

 protected:
  void on_start(EngineContext&) override {}
};

// The HTTP status of a call; the client throws Unauthorized for 401/403.
int status_of(const std::function<ControlResponse()>& call) {
  try {
    return call().status;
  } catch (const Unauthorized& e) {
    return e.http_status();
  }
}

}  // namespace

TEST_CASE("control API: on a non-loopback listener every route but /health needs the token") {
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://");
  EngineRegistry registry;
  registry.add({"quiet", "does nothing", [] { return std::make_unique<QuietEngine>(); }});
  EngineHost host(*router, live_clock(), registry);
  host.add({"quiet", "quiet", {}, true});
  host.start_all();
  ApiContext ctx{*router, host, live_clock(), nullptr, {}, false};
  ctx.daemon_info = [] { return nlohmann::json{{"name", "test"}, {"uptime_s", 1.0}}; };
  ServerOptions so;
  so.token = kToken;
  so.allow_insecure_listen = true;  // plain HTTP off loopback: what --insecure-listen allows
  ControlServer server(so);
  // The wildcard address is not loopback, though the test reaches it over 127.0.0.1.
  Endpoint remote = server.listen(parse_endpoint("0.0.0.0:0"));
  Endpoint local = server.listen(parse_endpoint("127.0.0.1:0"));
  REQUIRE_FALSE(remote.is_loopback());
  REQUIRE(local.is_loopback());
  install_api_routes(server, ctx);
  server.start();
  const std::string remote_url = "http://127.0.0.1:" + remote.to_string().substr(remote.to_string().rfind(':') + 1);
  const std::string local_url = "http://" + local.to_string();

  struct Case {
    const char* path;
    int without_token_remote;
    int without_token_local;
  };
  const Case cases[] = {
      {"/health", 200, 200},          // public everywhere
      {"/api/v1/engines", 401, 200},  // a read: open on loopback only
      {"/api/v1/stats", 401, 200},
      {"/api/v1/daemon", 401, 200},
  };
  ControlClient remote_none(remote_url, "");
  ControlClient remote_wrong(remote_url, "not-the-token");
  ControlClient remote_ok(remote_url, kToken);
  ControlClient local_none(local_url, "");
  for (const Case& c : cases) {
    INFO(c.path);
    CHECK(status_of([&] { return remote_none.get(c.path); }) == c.without_token_remote);
    CHECK(status_of([&] { return local_none.get(c.path); }) == c.without_token_local);
    CHECK(status_of([&] { return remote_ok.get(c.path); }) == 200);
    // A wrong token is refused as no token is: 401, the reason only in the log.
    if (c.without_token_remote == 401) CHECK(status_of([&] { return remote_wrong.get(c.path); }) == 401);
  }
  // Mutating routes need it on both.
  CHECK(status_of([&] { return remote_none.post("/api/v1/engines/quiet/stop"); }) == 401);
  CHECK(status_of([&] { return local_none.post("/api/v1/engines/quiet/stop"); }) == 401);
  CHECK(host.info("quiet").health.state == EngineState::kRunning);
  CHECK(status_of([&] { return remote_ok.post("/api/v1/engines/quiet/stop"); }) == 200);
  CHECK(host.info("quiet").health.state == EngineState::kStopped);

  server.stop(std::chrono::milliseconds(2000));
  host.stop_all();
}
