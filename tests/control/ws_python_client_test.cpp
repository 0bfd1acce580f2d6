// A third-party client against the WebSocket endpoint: Debian's
// python3-websockets (RFC 6455 as another implementation reads it)
// subscribes, receives a message published over the HTTP API, unsubscribes
// and has its protocol-level ping answered.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "support/skip.h"
#include "ws_fixture.h"

using namespace nautilus;
using namespace nautilus::control;
using namespace nautilus::control::testing;

namespace {

constexpr const char* kPython = "/usr/bin/python3";

constexpr const char* kClient = R"PY(
import asyncio, json, sys, urllib.request
import websockets

port, token = sys.argv[1], sys.argv[2]

async def main():
    headers = {"Authorization": "Bearer " + token}
    async with websockets.connect("ws://127.0.0.1:%s/ws" % port, extra_headers=headers) as ws:
        await ws.send(json.dumps({"op": "subscribe", "id": "py", "bus": "engine", "pattern": "py.*"}))
        ack = json.loads(await ws.recv())
        body = json.dumps({"topic": "py.hello", "type": "trading_signal", "payload": {"n": 42}}).encode()
        req = urllib.request.Request("http://127.0.0.1:%s/api/v1/bus/engine/publish" % port, data=body,
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
        message = json.loads(await ws.recv())
        await ws.send(json.dumps({"op": "unsubscribe", "id": "py"}))
        unack = json.loads(await ws.recv())
        pong = await ws.ping(b"nautilus")
        await asyncio.wait_for(pong, 10)
        print(json.dumps({"ack": ack, "message": message, "unack": unack, "pong": True}))

asyncio.run(asyncio.wait_for(main(), 30))
)PY";

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

}  // namespace

TEST_CASE("websocket: python3-websockets subscribes, receives, unsubscribes", "[control][websocket]") {
  if (run(std::string(kPython) + " -c 'import websockets' 2>&1 && echo ok").find("ok") == std::string::npos) {
    nautilus::test::skip_test("python3-websockets is not installed (scripts/install-deps.sh)");
    return;
  }
  WsServer s;
  const std::string script = s.state_dir + "/client.py";
  std::ofstream(script) << kClient;
  const std::string out = run(std::string(kPython) + " " + script + " " + std::to_string(s.endpoint.port) + " " +
                              kAdminToken + " 2>&1");
  INFO(out);
  auto j = nlohmann::json::parse(out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["ack"] == nlohmann::json{{"op", "ack"}, {"id", "py"}});
  CHECK(j["message"]["op"] == "message");
  CHECK(j["message"]["id"] == "py");
  CHECK(j["message"]["message"]["topic"] == "py.hello");
  CHECK(j["message"]["message"]["payload"] == nlohmann::json{{"n", 42}});
  CHECK(j["unack"] == nlohmann::json{{"op", "ack"}, {"id", "py"}});
  CHECK(j["pong"] == true);
}
