#include "control/ws_gateway.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "control/daemon_api.h"
#include "core/codec.h"
#include "core/topic_pattern.h"

namespace nautilus::control {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;

nlohmann::json WsStats::to_json() const {
  return {{"connections", connections},         {"connections_total", connections_total},
          {"subscriptions", subscriptions},     {"bus_subscriptions", bus_subscriptions},
          {"messages_sent", messages_sent},     {"slow_disconnects", slow_disconnects},
          {"conflated", conflated},             {"protocol_errors", protocol_errors},
          {"auth_failures", auth_failures},     {"refused_origin", refused_origin}};
}

namespace {

// "http://host:port" -> "host:port"; "" when it has no scheme.
std::string_view origin_authority(std::string_view origin) {
  auto scheme = origin.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = origin.substr(scheme + 3);
  return rest.substr(0, rest.find('/'));
}

// "host:port" / "[::1]:port" -> "host" / "::1".
std::string_view host_part(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(1, close - 1);
  }
  return authority.substr(0, authority.find(':'));
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  return ::inet_pton(AF_INET, std::string(host).c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

}  // namespace

bool origin_allowed(std::string_view origin, std::string_view host, const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;  // not a browser: the credential decides
  for (const auto& a : allowed) {
    if (a == "*" || a == origin) return true;
  }
  std::string_view authority = origin_authority(origin);
  if (authority.empty()) return false;  // "null" (a sandboxed page, a file)
  if (!host.empty() && authority == host) return true;
  return is_loopback_host(host_part(authority));
}

namespace {

// One frame waiting in a session's send queue. A message frame is written as
// three buffers (the subscription's prefix, the envelope shared by every
// session, "}"), so fanning out does not copy the envelope per client.
struct Outgoing {
  std::shared_ptr<const std::string> prefix;  // null: `body` is the whole frame (ack, error, pong)
  std::shared_ptr<const std::string> body;
  MessagePtr message;  // null for replies
  bool market_data = false;  // from a marketdata-bus subscription: may be conflated
  std::size_t bytes() const { return (prefix ? prefix->size() + 1 : 0) + body->size(); }
};

class Session;

// One bus subscription shared by every session subscribed to (bus, pattern).
struct Fanout {
  BusKind bus = BusKind::kEngine;
  std::string pattern;
  SubscriptionPtr subscription;
  struct Member {
    std::shared_ptr<Session> session;
    std::shared_ptr<const std::string> prefix;  // identifies the client's subscription too
    PrincipalPtr principal;
  };
  std::mutex mu;
  std::vector<Member> members;
};

}  // namespace

struct WsGatewayState {
  Router& router;
  Clock& clock;
  WsOptions options;
  std::shared_ptr<Authenticator> auth;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};

  std::mutex sessions_mu;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

  mutable std::mutex fanout_mu;
  std::map<std::pair<BusKind, std::string>, std::shared_ptr<Fanout>> fanouts;

  std::atomic<std::uint64_t> connections{0}, connections_total{0}, subscriptions{0}, messages_sent{0},
      slow_disconnects{0}, conflated{0}, protocol_errors{0}, auth_failures{0}, refused_origin{0};

  WsGatewayState(Router& r, Clock& c, WsOptions o, std::shared_ptr<Authenticator> a)
      : router(r), clock(c), options(std::move(o)), auth(std::move(a)) {}

  // Adds a member to the (bus, pattern) fan-out, subscribing on the bus when
  // it is the first. Throws std::invalid_argument for a pattern the bus refuses.
  std::shared_ptr<Fanout> join(BusKind bus, const std::string& pattern, Fanout::Member member);
  void leave(const std::shared_ptr<Fanout>& fanout, const std::shared_ptr<const std::string>& prefix);
};

namespace {

std::shared_ptr<const std::string> frame(const nlohmann::json& j) {
  return std::make_shared<const std::string>(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(WsGatewayState& gw, tcp::socket socket, PrincipalPtr principal, bool loopback)
      : gw_(gw), ws_(std::move(socket)), auth_timer_(ws_.get_executor()), cut_timer_(ws_.get_executor()),
        principal_(std::move(principal)), loopback_(loopback) {}

  void start(http::request<http::empty_body> upgrade) {
    websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.handshake_timeout = std::chrono::seconds(5);  // also the close handshake
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "nautilusd"); }));
    ws_.read_message_max(gw_.options.max_message_bytes);
    ws_.auto_fragment(false);
    ws_.text(true);
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
    if (gw_.options.socket_send_buffer > 0) {
      beast::get_lowest_layer(ws_).socket().set_option(
          asio::socket_base::send_buffer_size(static_cast<int>(gw_.options.socket_send_buffer)), ec);
    }
    upgrade_ = std::move(upgrade);
    ws_.async_accept(upgrade_, [self = shared_from_this()](beast::error_code e) { self->on_accept(e); });
  }

  // From a bus thread: queue a message frame for the client's subscription
  // `prefix`. Never blocks; a full queue conflates or cuts the client.
  void deliver(const std::shared_ptr<const std::string>& prefix, const MessagePtr& m,
               const std::shared_ptr<const std::string>& body, bool market_data) {
    enqueue(Outgoing{prefix, body, m, market_data});
  }

  // From any thread: close with `code` (after what is being written).
  void close(std::uint16_t code, std::string reason) {
    asio::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
      self->cut(code, std::move(reason));
    });
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return finish();
    if (!principal_) {
      auth_timer_.expires_after(gw_.options.auth_timeout);
      auth_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (e || self->principal_) return;
        ++self->gw_.auth_failures;
        self->reply_error("unauthorized", nullptr, "no auth frame in time");
        self->cut(websocket::close_code::policy_error, "authentication required");
      });
    }
    read_next();
  }

  void read_next() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      // Beast has already answered a protocol violation with its RFC 6455
      // close code (1002, 1007, 1009); a clean close or a hang-up is no error.
      if (ec != websocket::error::closed && ec != asio::error::eof && ec != asio::error::operation_aborted &&
          ec != asio::error::connection_reset && ec != beast::error::timeout && !closing_) {
        ++gw_.protocol_errors;
      }
      return finish();
    }
    if (!ws_.got_text()) {
      ++gw_.protocol_errors;
      in_.consume(in_.size());
      cut(websocket::close_code::unknown_data, "binary frames are not supported");
      return;
    }
    std::string_view text(static_cast<const char*>(in_.data().data()), in_.size());
    handle(text);
    in_.consume(in_.size());
    if (!closing_) read_next();
  }

  void handle(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return reply_error("bad_json", nullptr, "the frame is not valid JSON");
    if (!j.is_object()) return reply_error("bad_request", nullptr, "a frame is a JSON object with \"op\"");
    const nlohmann::json id = j.contains("id") ? j["id"] : nlohmann::json();
    auto op_it = j.find("op");
    if (op_it == j.end() || !op_it->is_string()) return reply_error("bad_request", id, "missing \"op\"");
    const std::string& op = op_it->get_ref<const std::string&>();
    if (op == "ping") return reply(frame({{"op", "pong"}}));
    if (op == "auth") return on_auth(j, id);
    if (op != "subscribe" && op != "unsubscribe") {
      return reply_error("unknown_op", id, "unknown op '" + op + "' (subscribe, unsubscribe, ping, auth)");
    }
    if (!principal_) return reply_error("unauthorized", id, "send {\"op\":\"auth\",\"token\":...} first");
    if (!id.is_string() && !id.is_number_integer()) {
      return reply_error("bad_request", id, op + " needs an \"id\" (a string or an integer)");
    }
    if (op == "subscribe") return on_subscribe(j, id);
    auto it = subs_.find(id.dump());
    if (it == subs_.end()) return reply_error("unknown_id", id, "no subscription with this id");
    gw_.leave(it->second.fanout, it->second.prefix);
    subs_.erase(it);
    --gw_.subscriptions;
    reply(frame({{"op", "ack"}, {"id", id}}));
  }

  void on_auth(const nlohmann::json& j, const nlohmann::json& id) {
    auto token = j.find("token");
    if (token == j.end() || !token->is_string() || token->get_ref<const std::string&>().empty()) {
      return reply_error("bad_request", id, "auth needs a \"token\"");
    }
    if (!gw_.auth) {  // no checks configured (tests): everything is allowed already
      return reply(frame({{"op", "ack"}, {"id", id}}));
    }
    AuthResult r = gw_.auth->authenticate("Bearer " + token->get<std::string>(), loopback_,
                                          gw_.clock.now_ns() / 1'000'000'000);
    if (!r.principal || !r.principal->may(RouteClass::kSubscribe)) {
      ++gw_.auth_failures;
      reply_error("unauthorized", id, r.principal ? "this credential may not subscribe" : "credential refused");
      return cut(websocket::close_code::policy_error, "authentication failed");
    }
    principal_ = std::move(r.principal);
    auth_timer_.cancel();
    reply(frame({{"op", "ack"}, {"id", id}}));
  }

  void on_subscribe(const nlohmann::json& j, const nlohmann::json& id) {
    if (!principal_->may(RouteClass::kSubscribe)) {
      return reply_error("forbidden", id, "role " + std::string(to_string(principal_->role)) + " may not subscribe");
    }
    auto bus_it = j.find("bus");
    std::string bus_name = bus_it != j.end() && bus_it->is_string() ? bus_it->get<std::string>() : "";
    if (bus_name != "engine" && bus_name != "marketdata") {
      return reply_error("bad_bus", id, "\"bus\" must be \"engine\" or \"marketdata\"");
    }
    auto pat_it = j.find("pattern");
    std::string pattern = pat_it != j.end() && pat_it->is_string() ? pat_it->get<std::string>() : "";
    if (pattern.empty()) return reply_error("bad_pattern", id, "subscribe needs a \"pattern\"");
    if (Status st = validate_pattern(pattern); !st) return reply_error("bad_pattern", id, st.message());
    try {
      check_subscribe_permission(principal_, pattern);
    } catch (const HttpError& e) {
      return reply_error("topic_forbidden", id, e.what());
    }
    std::string key = id.dump();
    if (subs_.count(key)) return reply_error("duplicate_id", id, "a subscription with this id is open");
    if (subs_.size() >= gw_.options.max_subscriptions) {
      return reply_error("too_many_subscriptions", id,
                         "at most " + std::to_string(gw_.options.max_subscriptions) + " per connection");
    }
    auto prefix = std::make_shared<const std::string>("{\"op\":\"message\",\"id\":" + key + ",\"message\":");
    BusKind bus = bus_name == "engine" ? BusKind::kEngine : BusKind::kMarketData;
    std::shared_ptr<Fanout> fanout;
    try {
      fanout = gw_.join(bus, pattern, {shared_from_this(), prefix, principal_});
    } catch (const std::exception& e) {
      return reply_error("bad_pattern", id, e.what());
    }
    subs_.emplace(std::move(key), Sub{fanout, prefix});
    ++gw_.subscriptions;
    // The ack follows the bus subscription: every message published after
    // the client reads it reaches the client.
    reply(frame({{"op", "ack"}, {"id", id}}));
  }

  void reply(std::shared_ptr<const std::string> body) { enqueue(Outgoing{nullptr, std::move(body), nullptr, false}); }

  void reply_error(std::string_view code, const nlohmann::json& id, const std::string& message) {
    ++gw_.protocol_errors;
    reply(frame({{"op", "error"}, {"code", code}, {"id", id}, {"message", message}}));
  }

  void enqueue(Outgoing out) {
    bool cut_now = false;
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      const std::size_t bytes = out.bytes();
      if (queue_.size() >= gw_.options.send_queue_messages || queued_bytes_ + bytes > gw_.options.send_queue_bytes) {
        if (conflate_locked(out)) return;
        closed_ = true;  // nothing more is queued for a client that is cut
        queue_.clear();
        queued_bytes_ = 0;
        cut_now = true;
      } else {
        queued_bytes_ += bytes;
        queue_.push_back(std::move(out));
        if (!writing_) {
          writing_ = true;
          asio::post(ws_.get_executor(), [self = shared_from_this()] { self->write_next(); });
        }
      }
    }
    if (cut_now) {
      ++gw_.slow_disconnects;
      close(kSlowConsumerClose, "slow consumer");
    }
  }

  // A full queue and a market-data message below `high`: replace the waiting
  // message of the same subscription and topic, if there is one.
  bool conflate_locked(Outgoing& out) {
    if (!gw_.options.conflate_marketdata || !out.market_data || is_protected(out.message->priority)) {
      return false;
    }
    for (auto it = queue_.rbegin(); it != queue_.rend(); ++it) {
      if (it->prefix == out.prefix && it->message && it->message->topic == out.message->topic) {
        queued_bytes_ = queued_bytes_ - it->bytes() + out.bytes();
        *it = std::move(out);
        ++gw_.conflated;
        return true;
      }
    }
    return false;
  }

  void write_next() {
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) {
        if (closing_ && !close_sent_) {
          close_sent_ = true;  // writing_ stays set: nothing follows the close frame
          return send_close();
        }
        writing_ = false;
        return;
      }
      in_flight_ = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= in_flight_.bytes();
    }
    static constexpr char kClose = '}';
    std::array<asio::const_buffer, 3> buffers;
    std::size_t n = 0;
    if (in_flight_.prefix) buffers[n++] = asio::buffer(*in_flight_.prefix);
    buffers[n++] = asio::buffer(*in_flight_.body);
    if (in_flight_.prefix) buffers[n++] = asio::const_buffer(&kClose, 1);
    auto done = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (self->in_flight_.message) ++self->gw_.messages_sent;
      self->in_flight_ = {};
      if (ec) return self->finish();
      self->write_next();
    };
    if (n == 1) ws_.async_write(std::array<asio::const_buffer, 1>{buffers[0]}, std::move(done));
    else ws_.async_write(buffers, std::move(done));
  }

  // On the strand: what is queued (the error frame that explains the close)
  // goes out, then the close frame; a timer bounds both for a client that
  // reads nothing (its close frame could never go out).
  void cut(std::uint16_t code, std::string reason) {
    if (closing_) return;
    closing_ = true;
    close_why_.code = code;
    close_why_.reason = reason.substr(0, close_why_.reason.max_size());
    bool idle = false;
    {
      std::lock_guard lock(mu_);
      closed_ = true;  // nothing more is queued
      idle = !writing_;
      writing_ = true;
    }
    auth_timer_.cancel();
    cut_timer_.expires_after(std::chrono::seconds(2));
    cut_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (e) return;
      self->finish();  // closes the socket: what is pending ends with an error
    });
    if (idle) write_next();
  }

  void send_close() {
    ws_.async_close(close_why_, [self = shared_from_this()](beast::error_code) { self->finish(); });
  }

  // On the strand, once: the read loop or the close ended the session.
  void finish() {
    if (finished_) return;
    finished_ = true;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      queue_.clear();
    }
    auth_timer_.cancel();
    cut_timer_.cancel();
    for (auto& [key, sub] : subs_) {
      gw_.leave(sub.fanout, sub.prefix);
      --gw_.subscriptions;
    }
    subs_.clear();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    {
      std::lock_guard lock(gw_.sessions_mu);
      gw_.sessions.erase(this);
    }
    --gw_.connections;
  }

  struct Sub {
    std::shared_ptr<Fanout> fanout;
    std::shared_ptr<const std::string> prefix;
  };

  WsGatewayState& gw_;
  websocket::stream<beast::tcp_stream> ws_;
  asio::steady_timer auth_timer_;
  asio::steady_timer cut_timer_;
  http::request<http::empty_body> upgrade_;
  beast::flat_buffer in_;
  PrincipalPtr principal_;  // null until an auth frame succeeds
  const bool loopback_;
  std::map<std::string, Sub> subs_;  // by the client's id (as JSON text); strand only
  bool closing_ = false;             // strand only
  bool close_sent_ = false;          // under mu_
  websocket::close_reason close_why_;  // strand only
  bool finished_ = false;            // strand only

  std::mutex mu_;  // the send queue, shared with the bus threads
  std::deque<Outgoing> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;  // a write_next is posted or in flight
  bool closed_ = false;   // nothing more is queued
  Outgoing in_flight_;    // strand only
};

}  // namespace

std::shared_ptr<Fanout> WsGatewayState::join(BusKind bus, const std::string& pattern, Fanout::Member member) {
  std::lock_guard lock(fanout_mu);
  auto& slot = fanouts[{bus, pattern}];
  if (!slot) {
    auto fanout = std::make_shared<Fanout>();
    fanout->bus = bus;
    fanout->pattern = pattern;
    SubscribeOptions opts;
    opts.name = "ws:" + pattern;
    // The handler only queues (a full client queue cuts that client), so
    // waiting for room loses nothing and cannot stall for long.
    opts.overflow = OverflowPolicy::kBlock;
    Fanout* raw = fanout.get();
    try {
      const bool market_data = bus == BusKind::kMarketData;
      fanout->subscription = router.subscribe(bus, pattern, [raw, market_data](const MessagePtr& m) {
        // Encoded once for every session; each adds its own prefix.
        auto body = std::make_shared<std::string>();
        encode_json(*m, *body);
        std::shared_ptr<const std::string> shared = std::move(body);
        std::lock_guard members_lock(raw->mu);
        for (const auto& mem : raw->members) {
          if (may_receive(mem.principal, m->topic)) mem.session->deliver(mem.prefix, m, shared, market_data);
        }
      }, opts);
    } catch (...) {
      fanouts.erase({bus, pattern});
      throw;
    }
    slot = std::move(fanout);
  }
  std::lock_guard members_lock(slot->mu);
  slot->members.push_back(std::move(member));
  return slot;
}

void WsGatewayState::leave(const std::shared_ptr<Fanout>& fanout, const std::shared_ptr<const std::string>& prefix) {
  SubscriptionPtr last;
  {
    std::lock_guard lock(fanout_mu);
    {
      std::lock_guard members_lock(fanout->mu);
      auto& m = fanout->members;
      m.erase(std::remove_if(m.begin(), m.end(), [&](const Fanout::Member& x) { return x.prefix == prefix; }), m.end());
      if (!m.empty()) return;
    }
    auto it = fanouts.find({fanout->bus, fanout->pattern});
    if (it != fanouts.end() && it->second == fanout) fanouts.erase(it);
    last = std::move(fanout->subscription);
  }
  // Outside the locks: cancel waits for a handler that may be delivering.
  if (last) last->cancel();
}

WsGateway::WsGateway(Router& router, Clock& clock, WsOptions options, std::shared_ptr<Authenticator> auth)
    : impl_(std::make_shared<WsGatewayState>(router, clock, std::move(options), std::move(auth))) {
  if (impl_->options.threads == 0) impl_->options.threads = 1;
  for (std::size_t i = 0; i < impl_->options.threads; ++i) {
    impl_->threads.emplace_back([state = impl_.get()] { state->ioc.run(); });
  }
}

WsGateway::~WsGateway() { stop(std::chrono::milliseconds(0)); }

HttpResponse WsGateway::adopt(HttpRequest& req, Fd& socket) {
  auto& g = *impl_;
  if (g.stopped) return HttpResponse::error(503, "stopping", "the websocket engine is stopping");
  if (!origin_allowed(req.header("origin"), req.header("host"), g.options.allowed_origins)) {
    ++g.refused_origin;
    return HttpResponse::error(403, "origin_refused", "Origin " + req.header("origin") + " is not allowed");
  }
  if (g.connections.load() >= g.options.max_connections) {
    return HttpResponse::error(503, "too_many_connections", "websocket connection limit reached");
  }
  http::request<http::empty_body> upgrade;
  upgrade.method(http::verb::get);
  upgrade.target(req.target);
  upgrade.version(11);
  for (const auto& [name, value] : req.headers) upgrade.insert(name, value);
  if (!websocket::is_upgrade(upgrade)) {
    return HttpResponse::error(400, "not_websocket", "GET /ws needs 'Upgrade: websocket' and 'Connection: Upgrade'");
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  tcp::socket sock(asio::make_strand(g.ioc));
  beast::error_code ec;
  sock.assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), socket.get(), ec);
  if (ec) return HttpResponse::error(500, "internal", "cannot adopt the socket: " + ec.message());
  (void)socket.release();  // the asio socket owns it now
  auto session = std::make_shared<Session>(g, std::move(sock), req.principal, req.loopback);
  {
    std::lock_guard lock(g.sessions_mu);
    g.sessions.emplace(session.get(), session);
  }
  ++g.connections;
  ++g.connections_total;
  session->start(std::move(upgrade));
  return {};
}

void WsGateway::stop(std::chrono::milliseconds grace) {
  auto& g = *impl_;
  if (g.stopped.exchange(true)) return;
  {
    std::lock_guard lock(g.sessions_mu);
    for (auto& [raw, weak] : g.sessions) {
      if (auto s = weak.lock()) s->close(websocket::close_code::going_away, "nautilusd is stopping");
    }
  }
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (g.connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  g.work.reset();
  g.ioc.stop();
  for (auto& t : g.threads) t.join();
  g.threads.clear();
  // Sessions left behind still hold their fan-out memberships: the bus
  // subscriptions go first, then what the io_context still holds.
  std::map<std::pair<BusKind, std::string>, std::shared_ptr<Fanout>> left;
  {
    std::lock_guard lock(g.fanout_mu);
    left.swap(g.fanouts);
  }
  for (auto& [key, f] : left) {
    if (f->subscription) f->subscription->cancel();
    std::lock_guard members_lock(f->mu);
    f->members.clear();
  }
}

WsStats WsGateway::stats() const {
  const auto& g = *impl_;
  WsStats s;
  s.connections = g.connections.load();
  s.connections_total = g.connections_total.load();
  s.subscriptions = g.subscriptions.load();
  {
    std::lock_guard lock(g.fanout_mu);
    s.bus_subscriptions = g.fanouts.size();
  }
  s.messages_sent = g.messages_sent.load();
  s.slow_disconnects = g.slow_disconnects.load();
  s.conflated = g.conflated.load();
  s.protocol_errors = g.protocol_errors.load();
  s.auth_failures = g.auth_failures.load();
  s.refused_origin = g.refused_origin.load();
  return s;
}

}  // namespace nautilus::control
