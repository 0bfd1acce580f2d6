#include "control/daemon_api.h"

#include <array>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <sstream>

#include "core/codec.h"
#include "core/histogram_json.h"
#include "core/message.h"

namespace nautilus::control {
namespace {

// Friendly routes onto engine commands. The market data hub and the risk
// engine answer these through Engine::command; nothing here knows what they do.
constexpr std::array kAliases = {
    CommandAlias{"GET", "/api/v1/marketdata/get", "marketdata", "get", false},
    CommandAlias{"POST", "/api/v1/marketdata/get", "marketdata", "get", false},
    CommandAlias{"GET", "/api/v1/marketdata/sources", "marketdata", "sources", false},
    CommandAlias{"GET", "/api/v1/marketdata/stats", "marketdata", "stats", false},
    CommandAlias{"POST", "/api/v1/risk/check", "risk", "check", false},
    CommandAlias{"GET", "/api/v1/risk/state", "risk", "state", false},
};

BusKind bus_param(const HttpRequest& req) {
  auto b = parse_bus_kind(req.params.at("bus"));
  if (!b) throw HttpError(404, "unknown_bus", "no bus '" + req.params.at("bus") + "' (marketdata or engine)");
  return *b;
}

// Runs a host operation, mapping its exceptions onto HTTP errors.
template <class F>
auto engine_call(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const EngineNotFound& e) {
    throw HttpError(404, "engine_not_found", e.what());
  } catch (const IllegalTransition& e) {
    throw HttpError(409, "engine_state", e.what());
  } catch (const std::invalid_argument& e) {
    throw HttpError(400, "bad_request", e.what());
  } catch (const std::out_of_range& e) {
    throw HttpError(404, "unknown_command", e.what());
  } catch (const HttpError&) {
    throw;
  } catch (const std::exception& e) {
    throw HttpError(500, "engine_failed", e.what());
  }
}

int status_of(StatusCode c) {
  switch (c) {
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kTimeout: return 504;
    default: return 503;
  }
}

// One message of a publish request: {"topic", "type"?, "priority"?, "payload"?,
// "source"?, "correlation_id"?, "origin_ns"?}.
std::shared_ptr<Message> message_from_json(const nlohmann::json& j, BusKind bus) {
  if (!j.is_object()) throw HttpError(400, "bad_message", "a message must be a JSON object");
  auto msg = std::make_shared<Message>();
  if (!j.contains("topic") || !j["topic"].is_string()) throw HttpError(400, "bad_message", "missing \"topic\"");
  msg->topic = j["topic"].get<std::string>();
  if (Status st = validate_topic(msg->topic); !st) throw HttpError(400, "bad_topic", st.message());
  std::string type = j.value("type", bus == BusKind::kMarketData ? "market_data" : "system_health");
  auto t = parse_message_type(type);
  if (!t) throw HttpError(400, "bad_type", "unknown message type '" + type + "'");
  msg->type = *t;
  std::string prio = j.value("priority", "normal");
  auto p = parse_priority(prio);
  if (!p) throw HttpError(400, "bad_priority", "unknown priority '" + prio + "'");
  msg->priority = *p;
  msg->source = j.value("source", "api");
  msg->correlation_id = j.value("correlation_id", "");
  if (j.contains("origin_ns") && j["origin_ns"].is_number_integer()) msg->origin_ns = j["origin_ns"].get<std::int64_t>();
  if (j.contains("payload")) {
    if (!j["payload"].is_object()) throw HttpError(400, "bad_payload", "\"payload\" must be a JSON object");
    msg->payload = j["payload"].dump();
  }
  if (Status st = validate_payload(msg->payload); !st) throw HttpError(400, "bad_payload", st.message());
  return msg;
}

HttpResponse handle_publish(ApiContext& ctx, const HttpRequest& req) {
  BusKind bus = bus_param(req);
  nlohmann::json body = req.json();
  std::vector<std::shared_ptr<Message>> msgs;
  if (body.is_object() && body.contains("messages")) {
    if (!body["messages"].is_array()) throw HttpError(400, "bad_request", "\"messages\" must be an array");
    if (body["messages"].size() > 10'000) throw HttpError(413, "too_many", "at most 10000 messages per request");
    for (const auto& m : body["messages"]) msgs.push_back(message_from_json(m, bus));
  } else {
    msgs.push_back(message_from_json(body, bus));
  }
  // Every message's topic against the principal's publish rules, before any
  // is published: a batch goes in whole or not at all.
  for (const auto& m : msgs) {
    if (req.principal && !req.principal->publish.permits_topic(m->topic)) {
      throw HttpError(403, "topic_forbidden", "publishing to '" + m->topic + "' is not allowed for " + req.principal->name);
    }
  }
  nlohmann::json ids = nlohmann::json::array();
  std::shared_lock gate(ctx.publish_gate);
  if (ctx.draining) throw HttpError(503, "draining", "nautilusd is shutting down; publish refused");
  for (auto& m : msgs) {
    Message* raw = m.get();
    Status st = ctx.router.publish(bus, m);
    if (!st) {
      throw HttpError(status_of(st.code()), std::string(to_string(st.code())),
                      "published " + std::to_string(ids.size()) + " of " + std::to_string(msgs.size()) + ": " +
                          st.message());
    }
    ids.push_back(raw->id.to_string());
  }
  return HttpResponse::json({{"published", ids.size()}, {"ids", ids}});
}

void handle_subscribe(ApiContext& ctx, const HttpRequest& req, StreamWriter& out) {
  BusKind bus = bus_param(req);
  std::string pattern = req.query_or("pattern");
  if (pattern.empty()) throw HttpError(400, "bad_request", "missing ?pattern=");
  check_subscribe_permission(req.principal, pattern);
  const PrincipalPtr principal = req.principal;
  std::uint64_t max = 0;
  if (std::string c = req.query_or("count"); !c.empty()) {
    auto [p, ec] = std::from_chars(c.data(), c.data() + c.size(), max);
    if (ec != std::errc() || p != c.data() + c.size()) throw HttpError(400, "bad_request", "bad ?count=");
  }
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::uint64_t sent = 0;
    bool done = false;
  } sh;
  SubscribeOptions opts;
  opts.name = "api:" + pattern;
  opts.group = req.query_or("group");
  SubscriptionPtr sub;
  try {
    // The handler writes straight to the socket on the subscription's own
    // thread, so the bus's bounded priority lanes do the queueing.
    sub = ctx.router.subscribe(bus, pattern, [&](const MessagePtr& m) {
      // Deny rules that overlap the pattern only in part filter per message.
      if (!may_receive(principal, m->topic)) return;
      std::string line = encode_json(*m);
      line += '\n';
      std::lock_guard lock(sh.mu);
      if (sh.done) return;
      if (!out.write(line)) sh.done = true;
      if (max && ++sh.sent >= max) sh.done = true;
      if (sh.done) sh.cv.notify_all();
    }, opts);
  } catch (const std::invalid_argument& e) {
    throw HttpError(400, "bad_pattern", e.what());
  }
  out.write("");  // the head now: the client knows the subscription is live
  std::unique_lock lock(sh.mu);
  while (!sh.done) {
    sh.cv.wait_for(lock, std::chrono::milliseconds(100));
    if (sh.done) break;
    // At shutdown the daemon drains the buses before stopping the server, so
    // every accepted message has been written by the time this is true.
    if (out.server_stopping() || out.client_gone()) break;
  }
  sh.done = true;
  lock.unlock();
  sub->cancel();
}

// Redis consumer groups (lag -1: Redis cannot tell, shown as null).
nlohmann::json groups_json(const std::vector<GroupStats>& groups) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : groups) {
    out.push_back({{"group", g.group},
                   {"streams", g.streams},
                   {"consumers", g.consumers},
                   {"pending", g.pending},
                   {"lag", g.lag < 0 ? nlohmann::json(nullptr) : nlohmann::json(g.lag)},
                   {"lost", g.lost}});
  }
  return out;
}

nlohmann::json bus_json(Bus& b) {
  BusStats s = b.stats();
  std::uint64_t queue_depth = 0;
  nlohmann::json subs = nlohmann::json::array();
  for (const auto& ss : s.subscribers) {
    queue_depth += ss.queue_depth;
    subs.push_back({{"name", ss.name}, {"pattern", ss.pattern}, {"delivered", ss.delivered},
                    {"dropped", ss.dropped}, {"handler_errors", ss.handler_errors}, {"queue_depth", ss.queue_depth},
                    {"latency", latency_summary_json(ss.latency_ns)}});
  }
  nlohmann::json lat = nlohmann::json::object();
  HistogramSnapshot all;
  for (Priority p : kAllPriorities) {
    const HistogramSnapshot& h = s.latency_ns_by_priority[lane_of(p)];
    all.merge(h);
    if (h.count() == 0) continue;
    lat[std::string(to_string(p))] = latency_summary_json(h);
  }
  nlohmann::json families = nlohmann::json::array();
  for (const auto& f : s.families) {
    nlohmann::json fj = {{"family", f.family}, {"delivered", f.delivered}, {"latency", latency_summary_json(f.latency_ns)}};
    if (f.chain_ns.count() > 0) fj["chain"] = latency_summary_json(f.chain_ns);
    families.push_back(std::move(fj));
  }
  return {{"name", s.name}, {"backend", s.backend}, {"state", s.state}, {"published", s.published},
          {"delivered", s.delivered}, {"dropped", s.dropped}, {"rejected", s.rejected},
          {"decode_errors", s.decode_errors}, {"handler_errors", s.handler_errors}, {"queue_depth", queue_depth},
          {"latency", lat}, {"latency_all", latency_summary_json(all)}, {"families", families},
          {"subscribers", subs}, {"groups", groups_json(s.groups)}};
}

nlohmann::json engines_json(EngineHost& host) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& e : host.list()) arr.push_back(to_json(e));
  return arr;
}

// Prometheus label value escaping.
std::string esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// Calls fn(path, value) for every number and bool under `j`. Objects add
// their keys to the path; arrays of objects that have a "name" add that name
// (so a hub's per-source list becomes sources_<name>_calls); other arrays are
// skipped, as are deeper levels than a dashboard could use.
template <typename Fn>
void for_each_numeric_leaf(const nlohmann::json& j, const std::string& path, int depth, const Fn& fn) {
  if (depth > 4) return;
  auto join = [&](const std::string& key) { return path.empty() ? key : path + "_" + key; };
  if (j.is_number()) {
    fn(path, j.get<double>());
  } else if (j.is_boolean()) {
    fn(path, j.get<bool>() ? 1.0 : 0.0);
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) for_each_numeric_leaf(v, join(k), depth + 1, fn);
  } else if (j.is_array()) {
    for (const auto& item : j) {
      if (item.is_object() && item.contains("name") && item["name"].is_string()) {
        for_each_numeric_leaf(item, join(item["name"].get<std::string>()), depth + 1, fn);
      }
    }
  }
}

// Delivery latency bucket bounds, seconds.
constexpr std::array kLatencyBounds = {1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0, 5.0};

void histogram_text(std::ostringstream& o, const std::string& name, const std::string& labels,
                    const HistogramSnapshot& h) {
  // Each log-linear bucket counts toward the first bound its upper edge fits
  // under, so the cumulative counts never overstate how fast delivery was.
  std::array<std::uint64_t, kLatencyBounds.size()> per{};
  std::uint64_t total = 0;
  const auto& b = h.buckets();
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (b[i] == 0) continue;
    total += b[i];
    double high_s = static_cast<double>(histogram_layout::bucket_high(i)) / 1e9;
    for (std::size_t k = 0; k < kLatencyBounds.size(); ++k) {
      if (high_s <= kLatencyBounds[k]) {
        per[k] += b[i];
        break;
      }
    }
  }
  std::uint64_t cum = 0;
  for (std::size_t k = 0; k < kLatencyBounds.size(); ++k) {
    cum += per[k];
    o << name << "_bucket{" << labels << ",le=\"" << num(kLatencyBounds[k]) << "\"} " << cum << "\n";
  }
  o << name << "_bucket{" << labels << ",le=\"+Inf\"} " << total << "\n";
  o << name << "_sum{" << labels << "} " << num(static_cast<double>(h.sum()) / 1e9) << "\n";
  o << name << "_count{" << labels << "} " << total << "\n";
}

}  // namespace

std::span<const CommandAlias> command_aliases() { return kAliases; }

void check_subscribe_permission(const PrincipalPtr& principal, std::string_view pattern) {
  if (principal && !principal->subscribe.permits_pattern(pattern)) {
    throw HttpError(403, "topic_forbidden",
                    "subscribing to '" + std::string(pattern) + "' is not allowed for " + principal->name);
  }
}

bool may_receive(const PrincipalPtr& principal, std::string_view topic) {
  return !principal || principal->subscribe.permits_topic(topic);
}

void add_command_alias(ControlServer& server, EngineHost& host, const CommandAlias& a) {
  std::string method = a.method;
  std::string engine = a.engine, command = a.command;
  RouteOptions opts;
  opts.mutating = a.mutating;
  server.add_route(method, a.path, [&host, method, engine, command](const HttpRequest& req) {
    nlohmann::json args = method == "GET" ? nlohmann::json::object() : req.json();
    if (!args.is_object()) throw HttpError(400, "bad_request", "the body must be a JSON object");
    if (method == "GET") {
      for (const auto& [k, v] : req.query) args[k] = v;
    }
    for (const auto& [k, v] : req.params) args[k] = v;
    return HttpResponse::json(engine_call([&] { return host.command(engine, command, args); }));
  }, opts);
}

void install_api_routes(ControlServer& server, ApiContext& ctx) {
  RouteOptions pub;
  pub.public_route = true;
  RouteOptions mut;
  mut.mutating = true;

  server.add_route("GET", "/health", [&ctx](const HttpRequest&) {
    nlohmann::json engines = nlohmann::json::object();
    bool degraded = false;
    for (const auto& e : ctx.host.list()) {
      if (!e.configured) continue;
      engines[e.name] = std::string(to_string(e.health.state));
      degraded |= e.health.state == EngineState::kError || e.health.state == EngineState::kDegraded;
    }
    bool draining;
    {
      std::shared_lock gate(ctx.publish_gate);
      draining = ctx.draining;
    }
    std::string status = draining ? "draining" : degraded ? "degraded" : "ok";
    return HttpResponse::json({{"status", status}, {"engines", engines}}, draining ? 503 : 200);
  }, pub);

  server.add_route("GET", "/metrics", [&ctx, &server](const HttpRequest&) {
    return HttpResponse::text(render_metrics(ctx, server.stats()), "text/plain; version=0.0.4; charset=utf-8");
  });
  RouteOptions publish_class;
  publish_class.route_class = RouteClass::kPublish;
  RouteOptions subscribe_class;
  subscribe_class.route_class = RouteClass::kSubscribe;

  server.add_route("GET", "/api/v1/daemon", [&ctx](const HttpRequest&) { return HttpResponse::json(ctx.daemon_info()); });

  server.add_route("GET", "/api/v1/status", [&ctx](const HttpRequest&) {
    nlohmann::json buses = nlohmann::json::array();
    for (BusKind b : {BusKind::kMarketData, BusKind::kEngine}) {
      nlohmann::json j = bus_json(ctx.router.bus(b));
      j.erase("subscribers");
      buses.push_back(j);
    }
    return HttpResponse::json({{"daemon", ctx.daemon_info()}, {"engines", engines_json(ctx.host)}, {"buses", buses}});
  });

  server.add_route("GET", "/api/v1/stats", [&ctx, &server](const HttpRequest&) {
    auto s = server.stats();
    return HttpResponse::json({{"time_ns", wall_now_ns()},
                               {"buses", {bus_json(ctx.router.marketdata()), bus_json(ctx.router.engine())}},
                               {"engines", engines_json(ctx.host)},
                               {"control", {{"requests", s.requests}, {"errors_4xx", s.errors_4xx},
                                            {"errors_5xx", s.errors_5xx}, {"active_connections", s.active_connections},
                                            {"rejected_connections", s.rejected_connections}}}});
  });

  server.add_route("GET", "/api/v1/engines", [&ctx](const HttpRequest&) {
    return HttpResponse::json({{"engines", engines_json(ctx.host)}});
  });
  server.add_route("GET", "/api/v1/engines/{name}", [&ctx](const HttpRequest& req) {
    return HttpResponse::json(to_json(engine_call([&] { return ctx.host.info(req.params.at("name")); })));
  });
  auto lifecycle = [&ctx](void (EngineHost::*op)(std::string_view)) {
    return [&ctx, op](const HttpRequest& req) {
      const std::string& name = req.params.at("name");
      engine_call([&] {
        (ctx.host.*op)(name);
        return 0;
      });
      return HttpResponse::json(to_json(ctx.host.info(name)));
    };
  };
  server.add_route("POST", "/api/v1/engines/{name}/start", lifecycle(&EngineHost::start), mut);
  server.add_route("POST", "/api/v1/engines/{name}/stop", lifecycle(&EngineHost::stop), mut);
  server.add_route("POST", "/api/v1/engines/{name}/restart", lifecycle(&EngineHost::restart), mut);
  server.add_route("POST", "/api/v1/engines/{name}/command/{command}", [&ctx](const HttpRequest& req) {
    nlohmann::json args = req.json();
    if (!args.is_object()) throw HttpError(400, "bad_request", "the body must be a JSON object");
    return HttpResponse::json(
        engine_call([&] { return ctx.host.command(req.params.at("name"), req.params.at("command"), args); }));
  }, mut);

  server.add_route("POST", "/api/v1/bus/{bus}/publish", [&ctx](const HttpRequest& req) { return handle_publish(ctx, req); },
                   publish_class);
  server.add_stream_route("GET", "/api/v1/bus/{bus}/subscribe",
                          [&ctx](const HttpRequest& req, StreamWriter& out) { handle_subscribe(ctx, req, out); },
                          subscribe_class);

  for (const auto& a : kAliases) add_command_alias(server, ctx.host, a);
  install_history_routes(server, ctx);
  if (ctx.auth) install_token_routes(server, *ctx.auth, ctx.clock);
}

std::string render_metrics(ApiContext& ctx, const ControlServer::Stats& server) {
  std::ostringstream o;
  nlohmann::json info = ctx.daemon_info();
  o << "# HELP nautilus_up Whether nautilusd is serving.\n# TYPE nautilus_up gauge\nnautilus_up 1\n";
  o << "# HELP nautilus_uptime_seconds Seconds since nautilusd started.\n# TYPE nautilus_uptime_seconds gauge\n";
  o << "nautilus_uptime_seconds " << num(info.value("uptime_s", 0.0)) << "\n";

  std::vector<BusStats> buses = {ctx.router.marketdata().stats(), ctx.router.engine().stats()};
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t BusStats::*field;
  };
  const Counter counters[] = {
      {"nautilus_bus_published_total", "Messages accepted by the bus.", &BusStats::published},
      {"nautilus_bus_delivered_total", "Messages handed to subscribers.", &BusStats::delivered},
      {"nautilus_bus_dropped_total", "Low/normal messages dropped by full subscriber queues.", &BusStats::dropped},
      {"nautilus_bus_rejected_total", "Publishes refused (invalid, closed, full).", &BusStats::rejected},
      {"nautilus_bus_decode_errors_total", "Entries that failed to decode.", &BusStats::decode_errors},
      {"nautilus_bus_handler_errors_total", "Subscriber handlers that threw.", &BusStats::handler_errors},
  };
  for (const auto& c : counters) {
    o << "# HELP " << c.name << " " << c.help << "\n# TYPE " << c.name << " counter\n";
    for (const auto& b : buses) o << c.name << "{bus=\"" << esc(b.name) << "\"} " << b.*(c.field) << "\n";
  }
  o << "# HELP nautilus_bus_group_pending Entries delivered to a Redis consumer group and not yet acknowledged.\n"
       "# TYPE nautilus_bus_group_pending gauge\n";
  for (const auto& b : buses) {
    for (const auto& g : b.groups) {
      o << "nautilus_bus_group_pending{bus=\"" << esc(b.name) << "\",group=\"" << esc(g.group) << "\"} " << g.pending << "\n";
    }
  }
  o << "# HELP nautilus_bus_group_lag Entries not yet delivered to a Redis consumer group (absent: Redis cannot tell).\n"
       "# TYPE nautilus_bus_group_lag gauge\n";
  for (const auto& b : buses) {
    for (const auto& g : b.groups) {
      if (g.lag >= 0) o << "nautilus_bus_group_lag{bus=\"" << esc(b.name) << "\",group=\"" << esc(g.group) << "\"} " << g.lag << "\n";
    }
  }
  o << "# HELP nautilus_bus_group_lost_total Entries trimmed (maxlen, max_age_ms) before a Redis consumer group read them.\n"
       "# TYPE nautilus_bus_group_lost_total counter\n";
  for (const auto& b : buses) {
    for (const auto& g : b.groups) {
      o << "nautilus_bus_group_lost_total{bus=\"" << esc(b.name) << "\",group=\"" << esc(g.group) << "\"} " << g.lost << "\n";
    }
  }
  o << "# HELP nautilus_bus_subscribers Live subscriptions.\n# TYPE nautilus_bus_subscribers gauge\n";
  for (const auto& b : buses) o << "nautilus_bus_subscribers{bus=\"" << esc(b.name) << "\"} " << b.subscribers.size() << "\n";
  o << "# HELP nautilus_bus_delivery_latency_seconds Publish-to-handler latency.\n";
  o << "# TYPE nautilus_bus_delivery_latency_seconds histogram\n";
  for (const auto& b : buses) {
    for (Priority p : kAllPriorities) {
      histogram_text(o, "nautilus_bus_delivery_latency_seconds",
                     "bus=\"" + esc(b.name) + "\",priority=\"" + std::string(to_string(p)) + "\"",
                     b.latency_ns_by_priority[lane_of(p)]);
    }
  }
  o << "# HELP nautilus_bus_family_delivered_total Messages handed to subscribers, by topic family.\n";
  o << "# TYPE nautilus_bus_family_delivered_total counter\n";
  for (const auto& b : buses) {
    for (const auto& f : b.families) {
      o << "nautilus_bus_family_delivered_total{bus=\"" << esc(b.name) << "\",family=\"" << esc(f.family) << "\"} "
        << f.delivered << "\n";
    }
  }
  o << "# HELP nautilus_bus_family_latency_seconds Publish-to-handler latency by topic family.\n";
  o << "# TYPE nautilus_bus_family_latency_seconds histogram\n";
  for (const auto& b : buses) {
    for (const auto& f : b.families) {
      histogram_text(o, "nautilus_bus_family_latency_seconds",
                     "bus=\"" + esc(b.name) + "\",family=\"" + esc(f.family) + "\"", f.latency_ns);
    }
  }
  o << "# HELP nautilus_chain_latency_seconds End-to-end latency from a chain's origin (origin_ns) to its handler, "
       "by the topic family of the last hop.\n";
  o << "# TYPE nautilus_chain_latency_seconds histogram\n";
  for (const auto& b : buses) {
    for (const auto& f : b.families) {
      if (f.chain_ns.count() == 0) continue;
      histogram_text(o, "nautilus_chain_latency_seconds",
                     "bus=\"" + esc(b.name) + "\",family=\"" + esc(f.family) + "\"", f.chain_ns);
    }
  }

  auto engines = ctx.host.list();
  o << "# HELP nautilus_engine_state Current lifecycle state (1 for the state the engine is in).\n";
  o << "# TYPE nautilus_engine_state gauge\n";
  static constexpr EngineState kStates[] = {EngineState::kStopped, EngineState::kStarting, EngineState::kRunning,
                                            EngineState::kDegraded, EngineState::kStopping, EngineState::kError};
  for (const auto& e : engines) {
    for (EngineState s : kStates) {
      o << "nautilus_engine_state{engine=\"" << esc(e.name) << "\",state=\"" << to_string(s) << "\"} "
        << (e.health.state == s ? 1 : 0) << "\n";
    }
  }
  o << "# HELP nautilus_engine_messages_total Messages handled by the engine.\n# TYPE nautilus_engine_messages_total counter\n";
  for (const auto& e : engines) o << "nautilus_engine_messages_total{engine=\"" << esc(e.name) << "\"} " << e.health.messages << "\n";
  o << "# HELP nautilus_engine_errors_total Handler failures of the engine.\n# TYPE nautilus_engine_errors_total counter\n";
  for (const auto& e : engines) o << "nautilus_engine_errors_total{engine=\"" << esc(e.name) << "\"} " << e.health.errors << "\n";
  o << "# HELP nautilus_engine_restart_attempts Consecutive supervisor restarts.\n# TYPE nautilus_engine_restart_attempts gauge\n";
  for (const auto& e : engines) o << "nautilus_engine_restart_attempts{engine=\"" << esc(e.name) << "\"} " << e.restart_attempts << "\n";

  o << "# HELP nautilus_engine_dropped_total Messages dropped by the engine's full subscriber queues.\n";
  o << "# TYPE nautilus_engine_dropped_total counter\n";
  for (const auto& e : engines) o << "nautilus_engine_dropped_total{engine=\"" << esc(e.name) << "\"} " << e.health.dropped << "\n";
  o << "# HELP nautilus_engine_queue_depth Messages waiting in the engine's subscriber queues.\n";
  o << "# TYPE nautilus_engine_queue_depth gauge\n";
  for (const auto& e : engines) o << "nautilus_engine_queue_depth{engine=\"" << esc(e.name) << "\"} " << e.health.queue_depth << "\n";
  o << "# HELP nautilus_engine_delivery_latency_seconds Publish-to-handler latency of the engine's subscriptions.\n";
  o << "# TYPE nautilus_engine_delivery_latency_seconds histogram\n";
  for (const auto& e : engines) {
    if (!e.configured) continue;
    histogram_text(o, "nautilus_engine_delivery_latency_seconds", "engine=\"" + esc(e.name) + "\"", e.health.latency_ns);
  }
  o << "# HELP nautilus_engine_metric The engine's own numeric metrics (its health \"metrics\" object, flattened).\n";
  o << "# TYPE nautilus_engine_metric gauge\n";
  for (const auto& e : engines) {
    for_each_numeric_leaf(e.health.metrics, "", 0, [&](const std::string& key, double v) {
      o << "nautilus_engine_metric{engine=\"" << esc(e.name) << "\",metric=\"" << esc(key) << "\"} " << num(v) << "\n";
    });
  }

  o << "# HELP nautilus_control_requests_total Control API requests answered.\n# TYPE nautilus_control_requests_total counter\n";
  o << "nautilus_control_requests_total " << server.requests << "\n";
  o << "# HELP nautilus_control_errors_total Control API error answers by class.\n# TYPE nautilus_control_errors_total counter\n";
  o << "nautilus_control_errors_total{class=\"4xx\"} " << server.errors_4xx << "\n";
  o << "nautilus_control_errors_total{class=\"5xx\"} " << server.errors_5xx << "\n";
  o << "# HELP nautilus_control_connections Open control connections.\n# TYPE nautilus_control_connections gauge\n";
  o << "nautilus_control_connections " << server.active_connections << "\n";
  o << "# HELP nautilus_control_rejected_connections_total Connections refused at the limit.\n";
  o << "# TYPE nautilus_control_rejected_connections_total counter\n";
  o << "nautilus_control_rejected_connections_total " << server.rejected_connections << "\n";
  o << "# HELP nautilus_control_evicted_connections_total Unauthenticated connections closed to make room.\n";
  o << "# TYPE nautilus_control_evicted_connections_total counter\n";
  o << "nautilus_control_evicted_connections_total " << server.evicted_connections << "\n";
  o << "# HELP nautilus_control_header_timeouts_total Connections closed because their headers did not arrive in time.\n";
  o << "# TYPE nautilus_control_header_timeouts_total counter\n";
  o << "nautilus_control_header_timeouts_total " << server.header_timeouts << "\n";
  o << "# HELP nautilus_control_auth_failures_total Requests refused with 401.\n";
  o << "# TYPE nautilus_control_auth_failures_total counter\n";
  o << "nautilus_control_auth_failures_total " << server.auth_failures << "\n";
  o << "# HELP nautilus_control_forbidden_total Requests refused with 403 (role or topic rules).\n";
  o << "# TYPE nautilus_control_forbidden_total counter\n";
  o << "nautilus_control_forbidden_total " << server.forbidden << "\n";
  o << "# HELP nautilus_control_rate_limited_total Requests refused with 429, by route class.\n";
  o << "# TYPE nautilus_control_rate_limited_total counter\n";
  for (std::size_t i = 0; i < kRouteClassCount; ++i) {
    o << "nautilus_control_rate_limited_total{class=\"" << to_string(static_cast<RouteClass>(i)) << "\"} "
      << server.rate_limited[i] << "\n";
  }
  return o.str();
}

}  // namespace nautilus::control
