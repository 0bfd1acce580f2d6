#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/router.h"
#include "core/clock.h"
#include "core/message.h"
#include "marketdata/marketdata_engine.h"
#include "support/daemon_process.h"

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

namespace {

// A trades CSV of `n` rows over `symbols`, several rows a millisecond apart
// (many per stream tick), written to a fresh temporary file.
std::string write_trades_csv(const std::string& dir, int n, const std::vector<std::string>& symbols) {
  std::string csv = "ts_ns,symbol,price,size,side\n";
  const std::int64_t t0 = 1'700'000'000LL * kSec;
  for (int i = 0; i < n; ++i) {
    const std::string& sym = symbols[static_cast<std::size_t>(i) % symbols.size()];
    csv += std::to_string(t0 + i * 1'000'000LL) + "," + sym + "," + std::to_string(100 + i % 7) + "," +
           std::to_string(1 + i % 5) + "," + (i % 2 ? "buy" : "sell") + "\n";
  }
  const std::string path = dir + "/trades.csv";
  std::FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  std::fwrite(csv.data(), 1, csv.size(), f);
  std::fclose(f);
  return path;
}

}  // namespace

TEST_CASE("marketdata engine: a replay in every_row mode publishes every row once, in file order",
          "[marketdata][engine][replay]") {
  const std::string dir = nautilus::test::make_temp_dir();
  const std::vector<std::string> symbols = {"AAPL", "MSFT", "SPY"};
  constexpr int kRows = 1500;
  const std::string path = write_trades_csv(dir, kRows, symbols);
  struct Case {
    const char* mode;
    bool every_row;
  };
  for (const Case c : {Case{"every_row", true}, Case{"snapshot", false}}) {
    INFO(c.mode);
    Rig rig;
    std::vector<MessagePtr> got;
    SubscribeOptions polled;
    polled.mode = DeliveryMode::kPolled;
    polled.queue_capacity = 65'536;
    auto sub = rig.router->subscribe(BusKind::kMarketData, "marketdata.real_time.trade.*",
                                     [&](const MessagePtr& m) { got.push_back(m); }, polled);
    rig.start({{"symbols", symbols},
               {"stream_types", {"trade"}},
               {"stream_interval_ms", 100},
               {"sources", {{{"kind", "replay"}, {"path", path}, {"mode", c.mode}}}}});
    REQUIRE(rig.engine->state() == EngineState::kRunning);
    // 1.5 s of recording at speed 1: 15 stream ticks of 100 rows each.
    for (int i = 0; i < 20; ++i) {
      rig.clock.advance_by(kSec / 10);
      sub->poll(1'000'000);
    }
    if (!c.every_row) {
      // One snapshot a tick per symbol: most of the tape never reaches the bus.
      CHECK(got.size() < static_cast<std::size_t>(kRows) / 10);
      continue;
    }
    REQUIRE(got.size() == static_cast<std::size_t>(kRows));
    std::int64_t last_ts = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      auto j = nlohmann::json::parse(got[i]->payload);
      const std::string& sym = symbols[i % symbols.size()];
      CHECK(got[i]->topic == "marketdata.real_time.trade." + sym);
      CHECK(j["symbol"] == sym);
      CHECK(j["source"] == "replay");
      CHECK(j["price"].get<double>() == 100 + static_cast<double>(i % 7));
      CHECK(j["size"].get<double>() == 1 + static_cast<double>(i % 5));
      CHECK(j["ts_ns"].get<std::int64_t>() >= last_ts);
      last_ts = j["ts_ns"].get<std::int64_t>();
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("marketdata engine: a replay mode other than snapshot or every_row is refused", "[marketdata][engine]") {
  auto engine = make_marketdata_engine();
  auto problems = engine->config_problems(
      {{"sources", {{{"kind", "replay"}, {"path", "/nonexistent.csv"}, {"mode", "all"}}}}});
  bool named = false;
  for (const auto& p : problems) named = named || p.key.find("mode") != std::string::npos;
  CHECK(named);
}
