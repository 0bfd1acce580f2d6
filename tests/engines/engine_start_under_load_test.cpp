// Every built-in engine kind started and stopped while both buses already
// carry its inputs. On Redis a backlog is delivered the moment an engine
// subscribes, so a handler may run before on_start returns: the engine must
// be ready for that (a risk engine read its clock before setting it, and a
// daemon on a busy Redis died at start; found by the python engine e2e test).
#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "engines/registry.h"

using namespace nautilus;

namespace {

struct Input {
  BusKind bus;
  std::string topic;
  MessageType type;
  std::string payload;
};

const std::vector<Input>& inputs() {
  static const std::vector<Input> kInputs = {
      {BusKind::kMarketData, "marketdata.real_time.trade.AAPL", MessageType::kTrade,
       R"({"symbol":"AAPL","price":101.5,"size":100,"side":"buy"})"},
      {BusKind::kMarketData, "marketdata.real_time.quote.AAPL", MessageType::kQuote,
       R"({"symbol":"AAPL","bid":101.4,"ask":101.6,"bid_size":10,"ask_size":10})"},
      {BusKind::kMarketData, "marketdata.real_time.bar.AAPL", MessageType::kBar,
       R"({"symbol":"AAPL","open":101,"high":102,"low":100,"close":101.5,"volume":1000})"},
      {BusKind::kEngine, "strategy.order.AAPL", MessageType::kOrder,
       R"({"id":"o1","symbol":"AAPL","side":"buy","quantity":1,"type":"market"})"},
      {BusKind::kEngine, "portfolio.fill.AAPL", MessageType::kFill,
       R"({"symbol":"AAPL","side":"buy","quantity":1,"price":101.5})"},
      {BusKind::kEngine, "risk.state", MessageType::kRiskMetric, R"({"state":"ACTIVE"})"},
  };
  return kInputs;
}

}  // namespace

TEST_CASE("every built-in engine starts and stops while its inputs are already flowing") {
  EngineRegistry registry;
  register_builtin_engines(registry);
  SimulatedClock clock;
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://", &clock);

  std::atomic<bool> flooding{true};
  std::thread flood([&] {
    std::size_t i = 0;
    while (flooding.load(std::memory_order_relaxed)) {
      const Input& in = inputs()[i++ % inputs().size()];
      (void)router->publish(make_message(in.topic, in.type, in.payload));
      if (i % 64 == 0) std::this_thread::yield();
    }
  });

  for (const EngineKind* kind : registry.list()) {
    DYNAMIC_SECTION(kind->name) {
      int started = 0;
      for (int round = 0; round < 10; ++round) {
        std::unique_ptr<Engine> engine = registry.create(kind->name);
        try {
          engine->start(EngineContext{*router, clock, nlohmann::json::object()});
        } catch (const std::exception& e) {
          FAIL(kind->name << " does not start with its defaults: " << e.what());
        }
        ++started;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        engine->stop();
      }
      CHECK(started == 10);
    }
  }
  flooding = false;
  flood.join();
  CHECK(router->drain(std::chrono::seconds(30)));
}
