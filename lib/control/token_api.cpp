// /api/v1/tokens: signed tokens are issued by the daemon (the only holder of
// the signing key), which also keeps the list `nautilus token list` shows and
// the revocation list every request is checked against.
#include <charconv>

#include "control/daemon_api.h"

namespace nautilus::control {
namespace {

// "90", "90s", "15m", "12h", "7d" -> seconds.
std::int64_t parse_ttl(const std::string& text) {
  std::int64_t value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value <= 0) throw HttpError(400, "bad_ttl", "ttl '" + text + "' is not a positive duration");
  std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
  std::int64_t scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
  if (scale == 0) throw HttpError(400, "bad_ttl", "ttl '" + text + "': the unit must be s, m, h or d");
  return value * scale;
}

TopicRules rules_from(const nlohmann::json& body, const char* key) {
  try {
    if (!body.contains(key)) return {};
    const nlohmann::json& j = body[key];
    // A bare list is an allow list: --publish 'test.*' --publish 'orders.*'.
    if (j.is_array()) return TopicRules::from_json({{"allow", j}});
    return TopicRules::from_json(j);
  } catch (const std::invalid_argument& e) {
    throw HttpError(400, "bad_rules", std::string(key) + ": " + e.what());
  }
}

}  // namespace

void install_token_routes(ControlServer& server, Authenticator& auth, Clock& clock) {
  RouteOptions admin;
  admin.route_class = RouteClass::kAdmin;
  server.add_route("POST", "/api/v1/tokens", [&auth, &clock](const HttpRequest& req) {
    nlohmann::json body = req.json();
    if (!body.is_object()) throw HttpError(400, "bad_request", "the body must be a JSON object");
    TokenRequest tr;
    std::string role = body.value("role", "");
    auto parsed = parse_role(role);
    if (!parsed) throw HttpError(400, "bad_role", "role must be viewer, operator or admin, not '" + role + "'");
    tr.role = *parsed;
    tr.name = body.value("name", "");
    if (body.contains("ttl")) {
      const auto& ttl = body["ttl"];
      tr.ttl_s = ttl.is_number_integer() ? ttl.get<std::int64_t>() : parse_ttl(ttl.is_string() ? ttl.get<std::string>() : "");
      if (tr.ttl_s <= 0) throw HttpError(400, "bad_ttl", "ttl must be positive");
    }
    tr.publish = rules_from(body, "publish");
    tr.subscribe = rules_from(body, "subscribe");
    try {
      return HttpResponse::json(auth.issue(tr, clock.now_ns() / 1'000'000'000), 201);
    } catch (const std::invalid_argument& e) {
      throw HttpError(409, "signing_disabled", e.what());
    }
  }, admin);
  server.add_route("GET", "/api/v1/tokens", [&auth](const HttpRequest&) {
    return HttpResponse::json({{"tokens", auth.list()}});
  }, admin);
  server.add_route("POST", "/api/v1/tokens/{id}/revoke", [&auth](const HttpRequest& req) {
    const std::string& id = req.params.at("id");
    if (!auth.revoke(id)) throw HttpError(404, "token_not_found", "no token with id '" + id + "' was issued here");
    return HttpResponse::json({{"id", id}, {"revoked", true}});
  }, admin);
}

}  // namespace nautilus::control
