#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/router.h"
#include "core/clock.h"
#include "core/message.h"
#include "marketdata/marketdata_engine.h"

using namespace nautilus;
using namespace nautilus::md;
using namespace std::chrono_literals;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;

struct Rig {
  SimulatedClock clock;
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://", &clock);
  std::unique_ptr<Engine> engine = make_marketdata_engine();

  void start(nlohmann::json config) { engine->start(EngineContext{*router, clock, std::move(config)}); }
  ~Rig() {
    engine->stop();
    router->close();
  }
};

}  // namespace

TEST_CASE("marketdata engine: streams real_time topics for configured symbols", "[marketdata][engine]") {
  Rig rig;
  std::mutex mu;
  std::vector<MessagePtr> got;
  SubscribeOptions polled;
  polled.mode = DeliveryMode::kPolled;
  auto sub = rig.router->subscribe(BusKind::kMarketData, "marketdata.real_time.*",
                                   [&](const MessagePtr& m) {
                                     std::lock_guard lock(mu);
                                     got.push_back(m);
                                   },
                                   polled);
  rig.start({{"symbols", {"AAPL", "ES"}}, {"stream_types", {"quote", "trade"}}, {"stream_interval_ms", 500}});
  REQUIRE(rig.engine->state() == EngineState::kRunning);
  rig.clock.advance_by(10 * kSec);
  sub->poll(1'000'000);
  std::size_t quotes = 0, trades = 0;
  for (const auto& m : got) {
    auto j = nlohmann::json::parse(m->payload);
    if (m->type == MessageType::kQuote) {
      ++quotes;
      CHECK((m->topic == "marketdata.real_time.quote.AAPL" || m->topic == "marketdata.real_time.quote.ES"));
      CHECK(j["ask"].get<double>() > j["bid"].get<double>());
      CHECK(j["source"] == "synthetic");
    } else {
      REQUIRE(m->type == MessageType::kTrade);
      ++trades;
      CHECK(j["price"].get<double>() > 0);
    }
    CHECK(m->source == "marketdata");
  }
  // Quotes (2 s TTL) change at most every 2 s: 2 symbols x 5 refreshes.
  CHECK(quotes == 10);
  // The whole tape, ~5 trades/s per symbol.
  CHECK(trades > 50);
  auto stats = rig.engine->command("stats", nlohmann::json::object());
  CHECK(stats["published"].get<std::uint64_t>() == quotes + trades);
}

TEST_CASE("marketdata engine: answers requests on the engine bus to the requester", "[marketdata][engine]") {
  Rig rig;
  rig.start({{"symbols", nlohmann::json::array()}});
  std::mutex mu;
  std::vector<MessagePtr> replies;
  auto sub = rig.router->subscribe(BusKind::kEngine, "marketdata.reply.risk", [&](const MessagePtr& m) {
    std::lock_guard lock(mu);
    replies.push_back(m);
  });
  auto req = make_message("marketdata.request", MessageType::kMarketData,
                          R"({"symbols":["AAPL","MSFT"],"types":["quote","bar"]})", Priority::kHigh, "risk");
  req->correlation_id = "req-1";
  REQUIRE(rig.router->publish(BusKind::kEngine, req).is_ok());
  // Malformed requests get an error reply, never a crash.
  REQUIRE(rig.router
              ->publish(BusKind::kEngine, make_message("marketdata.request", MessageType::kMarketData,
                                                       R"({"symbols":42})", Priority::kNormal, "risk"))
              .is_ok());
  REQUIRE(rig.router->drain(10s));
  REQUIRE(rig.router->drain(10s));  // the replies the handler published
  std::lock_guard lock(mu);
  REQUIRE(replies.size() == 2);
  const auto& ok = replies[0]->correlation_id == "req-1" ? replies[0] : replies[1];
  const auto& bad = replies[0]->correlation_id == "req-1" ? replies[1] : replies[0];
  auto j = nlohmann::json::parse(ok->payload);
  REQUIRE(j["results"].size() == 4);
  for (const auto& r : j["results"]) {
    CHECK(r["source"] == "synthetic");
    CHECK(r["data"].is_object());
  }
  CHECK(nlohmann::json::parse(bad->payload)["error"] == "bad_request");
}

TEST_CASE("marketdata engine: control commands get, sources, stats, subscribe", "[marketdata][engine]") {
  Rig rig;
  rig.start({{"symbols", nlohmann::json::array()},
             {"sources",
              {{{"kind", "synthetic"}, {"name", "fast"}, {"priority", 1}, {"rate_per_s", 5}},
               {{"kind", "synthetic"}, {"name", "slow"}, {"priority", 2}}}}});
  auto first = rig.engine->command("get", {{"symbols", "AAPL,MSFT"}, {"types", "quote"}});
  REQUIRE(first["results"].size() == 2);
  CHECK(first["results"][0]["cached"] == false);
  CHECK(first["results"][0]["source"] == "fast");
  auto again = rig.engine->command("get", {{"symbols", "AAPL"}});
  CHECK(again["results"][0]["cached"] == true);
  auto fresh = rig.engine->command("get", {{"symbols", "AAPL"}, {"fresh", "true"}, {"source", "slow"}});
  CHECK(fresh["results"][0]["cached"] == false);
  CHECK(fresh["results"][0]["source"] == "slow");
  auto missing = rig.engine->command("get", {{"symbols", "AAPL"}, {"types", "economic"}});
  CHECK(missing["results"][0]["error"] == "unsupported");

  auto sources = rig.engine->command("sources", nlohmann::json::object());
  REQUIRE(sources["sources"].size() == 2);
  CHECK(sources["sources"][0]["name"] == "fast");
  CHECK(sources["sources"][0]["rate_limit"]["per_second"] == 5.0);
  CHECK(sources["sources"][0]["breaker"] == "closed");
  CHECK(sources["chains"]["quote"] == nlohmann::json::array({"fast", "slow"}));

  auto stats = rig.engine->command("stats", nlohmann::json::object());
  CHECK(stats["requests"] == 5);
  CHECK(stats["hits"] == 1);

  CHECK_THROWS_AS(rig.engine->command("get", {{"types", "quote"}}), std::invalid_argument);
  CHECK_THROWS_AS(rig.engine->command("get", {{"symbols", "AAPL"}, {"types", "bogus"}}), std::invalid_argument);
  CHECK_THROWS_AS(rig.engine->command("nope", nlohmann::json::object()), std::out_of_range);
  auto sub = rig.engine->command("subscribe", {{"symbols", {"TSLA"}}});
  CHECK(sub["streaming"] == nlohmann::json::array({"TSLA"}));
}

TEST_CASE("marketdata engine: subscribe starts streaming a symbol, unsubscribe stops it", "[marketdata][engine]") {
  Rig rig;
  std::vector<std::string> topics;
  SubscribeOptions polled;
  polled.mode = DeliveryMode::kPolled;
  auto stream = rig.router->subscribe(BusKind::kMarketData, "marketdata.real_time.*",
                                      [&](const MessagePtr& m) { topics.push_back(m->topic); }, polled);
  rig.start({{"symbols", {"AAPL"}}, {"stream_types", {"quote"}}, {"stream_interval_ms", 500}});
  REQUIRE(rig.engine->state() == EngineState::kRunning);
  auto count = [&](const std::string& topic) { return std::count(topics.begin(), topics.end(), topic); };

  rig.clock.advance_by(2 * kSec);
  stream->poll(1'000'000);
  CHECK(count("marketdata.real_time.quote.AAPL") > 0);
  CHECK(count("marketdata.real_time.quote.TSLA") == 0);  // not asked for yet

  auto added = rig.engine->command("subscribe", {{"symbols", {"TSLA"}}});
  CHECK(added["streaming"] == nlohmann::json::array({"AAPL", "TSLA"}));
  topics.clear();
  rig.clock.advance_by(2 * kSec);
  stream->poll(1'000'000);
  CHECK(count("marketdata.real_time.quote.TSLA") > 0);
  CHECK(count("marketdata.real_time.quote.AAPL") > 0);

  auto removed = rig.engine->command("unsubscribe", {{"symbols", {"TSLA"}}});
  CHECK(removed["streaming"] == nlohmann::json::array({"AAPL"}));
  stream->poll(1'000'000);  // anything published before the unsubscribe
  topics.clear();
  rig.clock.advance_by(2 * kSec);
  stream->poll(1'000'000);
  CHECK(count("marketdata.real_time.quote.TSLA") == 0);
  CHECK(count("marketdata.real_time.quote.AAPL") > 0);
}

TEST_CASE("marketdata engine: bad config refuses to start", "[marketdata][engine]") {
  const nlohmann::json bad[] = {
      {{"sources", {{{"kind", "carrier_pigeon"}}}}},
      {{"sources", {{{"kind", "replay"}, {"path", "/nonexistent.csv"}}}}},
      {{"stream_interval_ms", 1}},
      {{"cache", {{"ttl_ms", {{"quotes_and_more", 5}}}}}},
      {{"symbols", {"BAD SYMBOL"}}},
  };
  for (const auto& cfg : bad) {
    Rig rig;
    INFO(cfg.dump());
    CHECK_THROWS_AS(rig.start(cfg), std::runtime_error);
    CHECK(rig.engine->state() == EngineState::kError);
  }
}

TEST_CASE("marketdata engine: registers with the engine registry", "[marketdata][engine]") {
  EngineRegistry registry;
  register_marketdata_engine(registry);
  REQUIRE(registry.find("marketdata") != nullptr);
  auto e = registry.create("marketdata");
  CHECK(e->kind() == "marketdata");
}
