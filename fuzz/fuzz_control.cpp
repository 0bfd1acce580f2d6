// libFuzzer target over the control API's request path: the HTTP request
// parser (fed whole and in two pieces), the router and the auth checks
// (dispatch on a server with a route of every class), and HS256 token
// verification on both the raw input and the request's Authorization header.
// Must never crash, hang or leak, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "control/auth.h"
#include "control/control_server.h"
#include "control/http_request_reader.h"
#include "control/jwt.h"

using namespace nautilus;
using namespace nautilus::control;

namespace {

constexpr std::string_view kKey = "fuzz-key-0123456789abcdef0123456789";

ControlServer& server() {
  static SimulatedClock clock;
  static ControlServer* s = [] {
    AuthOptions ao;
    ao.admin_token = "admin";
    ao.jwt_key = std::string(kKey);
    ServerOptions so;
    so.auth = std::make_shared<Authenticator>(ao);
    so.clock = &clock;
    auto* srv = new ControlServer(so);
    auto echo = [](const HttpRequest& req) {
      nlohmann::json j = {{"path", req.path}, {"params", req.params}, {"query", req.query}};
      (void)req.json();  // throws HttpError 400 on bad JSON: the server must map it
      return HttpResponse::json(j);
    };
    const std::pair<const char*, RouteClass> routes[] = {
        {"/health", RouteClass::kPublic},
        {"/api/v1/engines/{name}", RouteClass::kRead},
        {"/api/v1/bus/{bus}/publish", RouteClass::kPublish},
        {"/api/v1/engines/{name}/command/{command}", RouteClass::kOperate},
        {"/api/v1/tokens/{id}/revoke", RouteClass::kAdmin},
    };
    for (const auto& [pattern, cls] : routes) {
      RouteOptions o;
      o.route_class = cls;
      srv->add_route("GET", pattern, echo, o);
      srv->add_route("POST", pattern, echo, o);
    }
    return srv;
  }();
  return *s;
}

void parse_and_dispatch(std::string pending, std::size_t split) {
  RequestReader reader(4096, 4096);
  std::string rest = split < pending.size() ? pending.substr(split) : std::string();
  if (split < pending.size()) pending.resize(split);
  RequestReader::State st = reader.feed(pending);
  if (st == RequestReader::State::kNeedMore && !rest.empty()) {
    pending += rest;
    st = reader.feed(pending);
  }
  if (st != RequestReader::State::kDone) return;
  HttpRequest req = reader.take();
  req.loopback = (split & 1) != 0;
  bool is_stream = false;
  StreamHandler stream;
  HttpResponse res = server().dispatch(req, is_stream, stream);
  if (res.status < 100 || res.status > 599) __builtin_trap();
  JwtCheck check;
  check.now_s = 1'700'000'000;
  (void)verify_hs256(req.authorization, kKey, check);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  parse_and_dispatch(input, input.size());
  parse_and_dispatch(input, size > 0 ? data[0] % (size + 1) : 0);
  JwtCheck check;
  check.now_s = 1'700'000'000;
  check.issuer = "nautilusd";
  check.audience = "nautilus-control";
  (void)verify_hs256(input, kKey, check);
  (void)base64url_decode(input);
  return 0;
}
