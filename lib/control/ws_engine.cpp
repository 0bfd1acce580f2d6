#include "control/ws_engine.h"

namespace nautilus::control {

void WsLink::set_auth(std::shared_ptr<Authenticator> auth) {
  std::lock_guard lock(mu_);
  auth_ = std::move(auth);
}

std::shared_ptr<Authenticator> WsLink::auth() const {
  std::lock_guard lock(mu_);
  return auth_;
}

void WsLink::set_gateway(std::shared_ptr<WsGateway> gateway) {
  std::lock_guard lock(mu_);
  gateway_ = std::move(gateway);
}

std::shared_ptr<WsGateway> WsLink::gateway() const {
  std::lock_guard lock(mu_);
  return gateway_;
}

WsOptions read_ws_options(ConfigReader& r) {
  WsOptions o;
  auto count = [&](const char* key, std::size_t fallback, std::int64_t min, std::int64_t max) {
    return static_cast<std::size_t>(r.integer(key, static_cast<std::int64_t>(fallback), min, max));
  };
  o.threads = count("threads", o.threads, 1, 16);
  o.max_connections = count("max_connections", o.max_connections, 1, 1'000'000);
  o.max_subscriptions = count("max_subscriptions", o.max_subscriptions, 1, 100'000);
  o.max_message_bytes = count("max_message_bytes", o.max_message_bytes, 256, 16 << 20);
  o.send_queue_messages = count("send_queue_messages", o.send_queue_messages, 1, 10'000'000);
  o.send_queue_bytes = count("send_queue_bytes", o.send_queue_bytes, 1024, std::int64_t{1} << 32);
  o.socket_send_buffer = count("socket_send_buffer", o.socket_send_buffer, 0, 64 << 20);
  o.conflate_marketdata = r.boolean("conflate_marketdata", o.conflate_marketdata);
  o.allowed_origins = r.strings("allowed_origins", o.allowed_origins);
  o.auth_timeout = std::chrono::milliseconds(
      r.duration_ns("auth_timeout", o.auth_timeout.count() * 1'000'000, 100'000'000, 3'600'000'000'000) / 1'000'000);
  r.finish();
  return o;
}

namespace {

class WebSocketEngine final : public Engine {
 public:
  explicit WebSocketEngine(std::shared_ptr<WsLink> link) : link_(std::move(link)) {}
  std::string_view kind() const override { return "websocket"; }
  std::string_view description() const override {
    return "bus topics to WebSocket clients on the listener (GET /ws): shared bus subscriptions, bounded send queues";
  }
  std::vector<ConfigProblem> config_problems(const nlohmann::json& config) const override {
    ConfigReader r(config);
    read_ws_options(r);
    return r.problems();
  }

 protected:
  void on_start(EngineContext& ctx) override {
    ConfigReader r(ctx.config);
    WsOptions options = read_ws_options(r);
    r.throw_if_problems();
    if (link_->gateway()) throw std::runtime_error("another websocket engine is running (one per daemon)");
    gateway_ = std::make_shared<WsGateway>(ctx.router, ctx.clock, std::move(options), link_->auth());
    link_->set_gateway(gateway_);
  }
  void on_stop() override {
    if (!gateway_) return;
    if (link_->gateway() == gateway_) link_->set_gateway(nullptr);
    gateway_->stop();
    last_ = gateway_->stats();
    gateway_.reset();
  }
  nlohmann::json metrics() const override {
    std::lock_guard lock(mu_);
    return gateway_ ? gateway_->stats().to_json() : last_.to_json();
  }

 private:
  std::shared_ptr<WsLink> link_;
  std::shared_ptr<WsGateway> gateway_;  // set in on_start, reset in on_stop (the host serialises both)
  WsStats last_;
  mutable std::mutex mu_;
};

// The bearer token of an "Authorization: Bearer <token>" header.
std::string bearer_token(std::string_view authorization) {
  auto space = authorization.find(' ');
  if (space == std::string_view::npos) return {};
  std::string_view token = authorization.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return std::string(token);
}

}  // namespace

void register_websocket_engine(EngineRegistry& registry, std::shared_ptr<WsLink> link) {
  registry.add({"websocket",
                "bus topics to WebSocket clients on the listener (GET /ws): shared bus subscriptions, bounded send "
                "queues, slow clients cut",
                [link] { return std::make_unique<WebSocketEngine>(link); }});
}

void install_websocket_routes(ControlServer& server, std::shared_ptr<WsLink> link,
                              std::shared_ptr<Authenticator> auth) {
  link->set_auth(std::move(auth));
  RouteOptions upgrade_options;
  upgrade_options.route_class = RouteClass::kSubscribe;
  upgrade_options.browser_credentials = true;
  server.add_upgrade_route("/ws", [link](HttpRequest& req, Fd& socket) {
    auto gateway = link->gateway();
    if (!gateway) return HttpResponse::error(503, "not_running", "the websocket engine is not running");
    return gateway->adopt(req, socket);
  }, upgrade_options);

  RouteOptions read;
  read.route_class = RouteClass::kRead;
  server.add_route("POST", "/api/v1/session", [](const HttpRequest& req) {
    if (!req.principal || !req.principal->authenticated) {
      throw HttpError(400, "no_credential", "send 'Authorization: Bearer <token>' to open a session");
    }
    std::string token = bearer_token(req.authorization);
    if (token.empty()) throw HttpError(400, "no_credential", "a session is opened with a bearer token");
    HttpResponse res = HttpResponse::json(
        {{"principal", req.principal->name}, {"role", std::string(to_string(req.principal->role))}});
    // HttpOnly: page scripts never see it; SameSite=Strict: other sites'
    // pages cannot make the browser send it. No Max-Age: it ends with the
    // browser session, and a JWT's own expiry still applies.
    res.headers.emplace_back("Set-Cookie",
                             std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict");
    return res;
  }, read);
  RouteOptions open;
  open.public_route = true;
  server.add_route("DELETE", "/api/v1/session", [](const HttpRequest&) {
    HttpResponse res = HttpResponse::json({{"session", "closed"}});
    res.headers.emplace_back("Set-Cookie",
                             std::string(kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    return res;
  }, open);
}

}  // namespace nautilus::control
