// GET /api/v1/history...: the history store over HTTP, for `nautilus data
// history`, `nautilus events` and the browser. Read-only, so no token.
#include <algorithm>
#include <charconv>
#include <optional>

#include "control/daemon_api.h"
#include "core/clock.h"
#include "core/topic_pattern.h"
#include "store/time_spec.h"

namespace nautilus::control {
namespace {

constexpr std::size_t kMaxRows = 100'000;

store::Store& history_of(ApiContext& ctx) {
  if (!ctx.history) throw HttpError(404, "history_disabled", "this nautilusd records no history ([recorder] enabled = false)");
  return *ctx.history;
}

std::int64_t time_param(const HttpRequest& req, const char* key, std::int64_t fallback) {
  std::string text = req.query_or(key);
  if (text.empty()) return fallback;
  auto t = store::parse_time_spec(text, wall_now_ns());
  if (!t) {
    throw HttpError(400, "bad_time",
                    std::string("?") + key + "=" + text + ": expected ns since the epoch, 2026-12-01T10:00:00Z or a duration (15m, 1h, 2d)");
  }
  return *t;
}

std::size_t limit_param(const HttpRequest& req, std::size_t fallback) {
  std::string text = req.query_or("limit");
  if (text.empty()) return fallback;
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n == 0 || n > kMaxRows) {
    throw HttpError(400, "bad_limit", "?limit= must be 1.." + std::to_string(kMaxRows));
  }
  return n;
}

// Store failures (a server gone, a corrupt page) are the daemon's, not the caller's.
template <class F>
auto store_call(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const HttpError&) {
    throw;
  } catch (const std::exception& e) {
    throw HttpError(503, "store_unavailable", e.what());
  }
}

nlohmann::json rows_json(const std::vector<store::Record>& rows, std::size_t limit) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : rows) list.push_back(store::to_json(r));
  return {{"records", list}, {"count", rows.size()}, {"truncated", rows.size() >= limit}};
}

// "bars" / "bar" / "trades" / "quotes" ... -> a marketdata-bus message type.
MessageType market_type(const std::string& text) {
  std::string t = text;
  if (t.size() > 1 && t.back() == 's') t.pop_back();
  if (t == "tick" || t == "quote" || t == "trade" || t == "bar" || t == "level2" || t == "fundamental" ||
      t == "economic" || t == "news") {
    if (auto mt = parse_message_type(t)) return *mt;
  }
  throw HttpError(404, "unknown_type", "no history type '" + text + "' (bars, trades, quotes, ticks, level2, news, ...)");
}

// The hub's answer as the store's record list, or nullopt when no
// marketdata engine is running (the store is asked directly then).
std::optional<nlohmann::json> hub_history(ApiContext& ctx, const store::MarketQuery& q) {
  nlohmann::json answer;
  try {
    answer = ctx.host.command("marketdata", "history",
                              {{"symbol", q.symbol},
                               {"type", std::string(to_string(q.type))},
                               {"from_ns", q.from_ns},
                               {"to_ns", q.to_ns},
                               {"limit", q.limit}});
  } catch (const EngineNotFound&) {
    return std::nullopt;
  } catch (const IllegalTransition&) {
    return std::nullopt;
  } catch (const std::invalid_argument& e) {
    throw HttpError(400, "bad_request", e.what());
  }
  if (answer.contains("error") && answer["error"] == "rate_limited") {
    throw HttpError(429, "rate_limited", answer.value("message", std::string("rate limited")));
  }
  if (answer.contains("error") && answer["error"] != "not_found") {
    throw HttpError(503, "history_unavailable", answer.value("message", std::string("history unavailable")));
  }
  nlohmann::json records = nlohmann::json::array();
  const std::string topic = "marketdata.real_time." + std::string(to_string(q.type)) + "." + q.symbol;
  for (const auto& p : answer.value("points", nlohmann::json::array())) {
    records.push_back({{"ts_ns", p.value("ts_ns", std::int64_t{0})},
                       {"topic", topic},
                       {"bus", "marketdata"},
                       {"type", std::string(to_string(q.type))},
                       {"source", p.value("source", std::string())},
                       {"symbol", q.symbol},
                       {"payload", p.contains("payload") ? p["payload"] : nlohmann::json::object()}});
  }
  if (q.newest_first) std::reverse(records.begin(), records.end());
  return nlohmann::json{{"records", records},
                        {"count", records.size()},
                        {"truncated", answer.value("truncated", false)},
                        {"answered_by", answer.value("answered_by", std::string("none"))}};
}

}  // namespace

void install_history_routes(ControlServer& server, ApiContext& ctx) {
  server.add_route("GET", "/api/v1/history", [&ctx](const HttpRequest&) {
    store::Store& s = history_of(ctx);
    nlohmann::json j = {{"store", store_call([&] { return store::to_json(s.info()); })}};
    if (ctx.recorder_stats) j["recorder"] = ctx.recorder_stats();
    return HttpResponse::json(j);
  });

  server.add_route("GET", "/api/v1/history/events", [&ctx](const HttpRequest& req) {
    store::Store& s = history_of(ctx);
    store::EventQuery q;
    q.topic_pattern = req.query_or("topic", "*");
    if (Status st = validate_pattern(q.topic_pattern); !st) throw HttpError(400, "bad_pattern", st.message());
    if (std::string since = req.query_or("since"); !since.empty()) {
      auto d = store::parse_duration_ns(since);
      if (!d) throw HttpError(400, "bad_time", "?since=" + since + ": expected a duration such as 15m, 1h or 2d");
      q.from_ns = wall_now_ns() - *d;
    }
    q.from_ns = time_param(req, "from", q.from_ns);
    q.to_ns = time_param(req, "to", q.to_ns);
    if (std::string bus = req.query_or("bus"); !bus.empty()) {
      q.bus = parse_bus_kind(bus);
      if (!q.bus) throw HttpError(400, "bad_request", "?bus= must be marketdata or engine");
    }
    q.limit = limit_param(req, 1000);
    q.newest_first = req.query_or("order") != "oldest";  // the latest events unless asked otherwise
    return HttpResponse::json(rows_json(store_call([&] { return s.events(q); }), q.limit));
  });

  server.add_route("GET", "/api/v1/history/{type}/{symbol}", [&ctx](const HttpRequest& req) {
    store::MarketQuery q;
    q.type = market_type(req.params.at("type"));
    q.symbol = req.params.at("symbol");
    q.from_ns = time_param(req, "from", 0);
    q.to_ns = time_param(req, "to", q.to_ns);
    q.limit = limit_param(req, 10'000);
    q.newest_first = req.query_or("order") != "oldest";
    // Through the market data hub when it runs: the store first, then the
    // sources that keep history (a replay file) for what was never recorded.
    if (auto via_hub = hub_history(ctx, q)) return HttpResponse::json(*via_hub);
    store::Store& s = history_of(ctx);
    nlohmann::json j = rows_json(store_call([&] { return s.market(q); }), q.limit);
    j["answered_by"] = "store";
    return HttpResponse::json(j);
  });
}

}  // namespace nautilus::control
