// A control server with the daemon's routes, an Authenticator (admin token +
// JWT key) and a simulated clock, for the auth, rate-limit, lockout and TLS
// tests; plus a raw HTTP exchange that shows status, headers and body.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/daemon_api.h"

namespace nautilus::control::testing {

inline constexpr const char* kAdminToken = "admin-token-0123456789abcdef";
inline constexpr std::string_view kJwtKey = "0123456789abcdef0123456789abcdef";

class QuietEngine final : public Engine {
 public:
  std::string_view kind() const override { return "quiet"; }
  std::string_view description() const override { return "does nothing"; }
  nlohmann::json command(std::string_view cmd, const nlohmann::json& args) override {
    if (cmd == "echo") return {{"args", args}};
    return Engine::command(cmd, args);
  }

 protected:
  void on_start(EngineContext&) override {}
};

// What the server logged: refusal reasons and audit lines.
struct LogCapture {
  std::mutex mu;
  std::vector<std::string> lines;
  LogSink sink() {
    return [this](std::string_view, const std::string& line) {
      std::lock_guard lock(mu);
      lines.push_back(line);
    };
  }
  bool contains(const std::string& needle) {
    std::lock_guard lock(mu);
    for (const auto& l : lines) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mu);
    return lines;
  }
};

struct AuthServer {
  SimulatedClock clock{1'700'000'000'000'000'000};
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://");
  EngineRegistry registry;
  std::unique_ptr<EngineHost> host;
  std::unique_ptr<ApiContext> ctx;
  std::shared_ptr<Authenticator> auth;
  std::unique_ptr<ControlServer> server;
  LogCapture log;
  std::string state_dir;
  std::string url;       // http://127.0.0.1:PORT
  std::string sock_path;

  // `tune` adjusts the server options before the server is made;
  // `before_start` adds routes and engines before the server starts.
  template <class Tune>
  explicit AuthServer(Tune tune, AuthOptions ao = {}, std::function<void(AuthServer&)> before_start = {}) {
    char tmpl[] = "/tmp/nautilus-auth-XXXXXX";
    state_dir = mkdtemp(tmpl);
    registry.add({"quiet", "does nothing", [] { return std::make_unique<QuietEngine>(); }});
    host = std::make_unique<EngineHost>(*router, clock, registry);
    host->add({"quiet", "quiet", {}, true});
    host->start_all();
    ao.admin_token = kAdminToken;
    ao.jwt_key = std::string(kJwtKey);
    ao.state_dir = state_dir;
    auth = std::make_shared<Authenticator>(ao);
    ctx.reset(new ApiContext{*router, *host, clock, nullptr, {}, false});
    ctx->daemon_info = [] { return nlohmann::json{{"name", "test"}, {"uptime_s", 1.0}}; };
    ctx->auth = auth.get();
    ServerOptions so;
    so.auth = auth;
    so.clock = &clock;
    so.log = log.sink();
    tune(so);
    server = std::make_unique<ControlServer>(so);
    url = "http://" + server->listen(parse_endpoint("127.0.0.1:0")).to_string();
    sock_path = state_dir + "/ctl.sock";
    server->listen(parse_endpoint("unix:" + sock_path));
    install_api_routes(*server, *ctx);
    if (before_start) before_start(*this);
    server->start();
  }
  AuthServer() : AuthServer([](ServerOptions&) {}) {}
  ~AuthServer() {
    server->stop(std::chrono::milliseconds(2000));
    host->stop_all();
    std::string cmd = "rm -rf '" + state_dir + "'";
    (void)!std::system(cmd.c_str());
  }

  std::int64_t now_s() const { return clock.now_ns() / 1'000'000'000; }
  // A signed token for `role` from this server's authenticator.
  std::string token(Role role, TokenRequest tr = {}) {
    tr.role = role;
    return auth->issue(tr, now_s())["token"].get<std::string>();
  }
};

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Parses "HTTP/1.1 200 OK\r\nName: value\r\n\r\nbody" (no chunked decoding).
inline RawResponse parse_raw(const std::string& raw) {
  RawResponse r;
  if (raw.size() > 12 && raw.starts_with("HTTP/1.1 ")) r.status = std::atoi(raw.c_str() + 9);
  auto end = raw.find("\r\n\r\n");
  std::string head = raw.substr(0, end);
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    std::size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    pos = next;
  }
  if (end != std::string::npos) r.body = raw.substr(end + 4);
  return r;
}

// One request on a fresh connection (Connection: close), the whole answer.
inline RawResponse raw_request(const std::string& url_or_socket, const std::string& method, const std::string& path,
                               const std::string& authorization = {}, const std::string& body = {}) {
  Endpoint ep = parse_endpoint(url_or_socket.starts_with("http://") ? url_or_socket.substr(7) : url_or_socket);
  Fd fd = connect_to(ep, monotonic_now_ns() + 10'000'000'000);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!authorization.empty()) req += "Authorization: " + authorization + "\r\n";
  req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  if (write_all(fd.get(), req, monotonic_now_ns() + 10'000'000'000) != IoResult::kOk) return {};
  std::string out;
  char buf[4096];
  for (;;) {
    std::size_t n = 0;
    if (read_some(fd.get(), buf, sizeof(buf), n, monotonic_now_ns() + 10'000'000'000) != IoResult::kOk) break;
    out.append(buf, n);
  }
  return parse_raw(out);
}

inline std::string bearer(const std::string& token) { return "Bearer " + token; }

}  // namespace nautilus::control::testing
