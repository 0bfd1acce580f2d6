// The HTTP layer under every provider, against the fixture server: gzip,
// keep-alive, 5xx, a hanging body (timeout), a truncated body, a 50 MB body
// over the limit, malformed JSON; and the hub on top: breaker opening,
// fallback along the SPEC 6 chain, rate limits never exceeded, keys kept out
// of status output.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "marketdata/hub.h"
#include "marketdata/marketdata_engine.h"
#include "marketdata/sources/fixture_server.h"
#include "marketdata/sources/http_source.h"

namespace nautilus::md {
namespace {

using testing::FixtureResponse;
using testing::FixtureServer;
using nlohmann::json;

constexpr std::int64_t kNow = 1'700'000'000'000'000'000;
constexpr std::int64_t kSecond = 1'000'000'000;

const char* const kQuote = R"({"chart":{"result":[{"meta":{"regularMarketPrice":101.25,"chartPreviousClose":100.0,
  "regularMarketTime":1704488400},"timestamp":[],"indicators":{"quote":[{}]}}],"error":null}})";

std::unique_ptr<HttpSource> yahoo(const FixtureServer& server, std::int64_t timeout_ms = 5'000, std::size_t max_body = 16u << 20) {
  HttpSourceConfig c;
  c.kind = "yahoo";
  c.base_url = server.base_url();
  c.http.timeout_ms = timeout_ms;
  c.http.max_body_bytes = max_body;
  return make_http_source(c);
}

FixtureResponse body(std::string text) {
  FixtureResponse r;
  r.body = std::move(text);
  return r;
}

}  // namespace

TEST_CASE("http: gzip bodies are decoded and connections are kept alive", "[marketdata][http]") {
  FixtureServer server;
  FixtureResponse r = body(kQuote);
  r.gzip = true;
  server.route("/v8/finance/chart/AAPL", r);
  auto src = yahoo(server);
  for (int i = 0; i < 3; ++i) {
    FetchResult f = src->fetch("AAPL", DataType::kQuote, kNow);
    REQUIRE(f.ok());
    CHECK(json::parse(f.data->payload)["price"] == Approx(101.25));
  }
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK_THAT(reqs[0].headers.at("accept-encoding"), Catch::Contains("gzip"));
  CHECK(server.connections() == 1);  // one connection for all three
}

TEST_CASE("http: failures are classified", "[marketdata][http]") {
  FixtureServer server;
  FixtureResponse down = body(R"({"error":"maintenance"})");
  down.status = 503;
  server.route("/v8/finance/chart/DOWN", down);
  FixtureResponse hang = body(kQuote);
  hang.hang_ms = 10'000;
  server.route("/v8/finance/chart/HANG", hang);
  FixtureResponse cut = body(kQuote);
  cut.truncate_to = 40;
  server.route("/v8/finance/chart/CUT", cut);
  server.route("/v8/finance/chart/JUNK", body(R"({"chart":{"result":[{"meta":{"regularMarketPrice":1)"));
  FixtureResponse huge;
  huge.filler_bytes = 50u << 20;  // 50 MB
  server.route("/v8/finance/chart/HUGE", huge);
  FixtureResponse gone = body("forbidden");
  gone.status = 403;
  server.route("/v8/finance/chart/DENY", gone);

  struct Case {
    const char* symbol;
    FetchError error;
    const char* says;
  };
  const Case cases[] = {
      {"DOWN", FetchError::kUnavailable, "HTTP 503"},
      {"HANG", FetchError::kTimeout, "timed out"},
      {"CUT", FetchError::kBadResponse, "broken response"},
      {"JUNK", FetchError::kBadResponse, "malformed JSON"},
      {"HUGE", FetchError::kBadResponse, "1048576-byte limit"},
      {"DENY", FetchError::kAuth, "HTTP 403"},
      {"MISSING", FetchError::kNotFound, "404"},
  };
  auto src = yahoo(server, /*timeout_ms=*/300, /*max_body=*/1u << 20);
  for (const auto& c : cases) {
    INFO(c.symbol);
    FetchResult f = src->fetch(c.symbol, DataType::kQuote, kNow);
    CHECK(f.error == c.error);
    CHECK_THAT(f.message, Catch::Contains(c.says));
    CHECK(counts_as_failure(f.error) == (c.error != FetchError::kNotFound));
  }
  // The client is still usable after every failure.
  server.route("/v8/finance/chart/AAPL", body(kQuote));
  CHECK(src->fetch("AAPL", DataType::kQuote, kNow).ok());

  HttpSourceConfig refused;
  refused.kind = "yahoo";
  refused.base_url = "http://127.0.0.1:1";  // nothing listens on port 1
  CHECK(make_http_source(refused)->fetch("AAPL", DataType::kQuote, kNow).error == FetchError::kUnavailable);
}

TEST_CASE("hub over HTTP sources: breaker opens, the chain falls back, limits hold, keys stay hidden", "[marketdata][http]") {
  SimulatedClock clock(kNow);
  FixtureServer av_server([&clock] { return clock.now_ns(); });
  FixtureServer yahoo_server([&clock] { return clock.now_ns(); });
  av_server.route("/query", [](const testing::FixtureRequest&) {
    FixtureResponse r;
    r.status = 502;
    r.body = "bad gateway";
    return r;
  });
  yahoo_server.route("/v8/finance/chart/AAPL", body(kQuote));
  yahoo_server.route("/v8/finance/chart/MSFT", body(kQuote));

  const std::string secret = "AV-SECRET-KEY-0001";
  json config = {{"breaker", {{"failures", 3}, {"cooldown_ms", 30'000}}},
                 {"cache", {{"ttl_ms", {{"quote", 1000}}}}},
                 {"sources",
                  {{{"kind", "alphavantage"}, {"key", secret}, {"base_url", av_server.base_url()}, {"rate_per_s", 5}, {"burst", 5}},
                   {{"kind", "yahoo"}, {"base_url", yahoo_server.base_url()}},
                   {{"kind", "fred"}, {"base_url", av_server.base_url()}},
                   {{"kind", "synthetic"}, {"symbols", {"AAPL"}}}}}};
  ::unsetenv("NAUTILUS_FRED_KEY");
  auto hub = make_hub_from_config(clock, config);
  CHECK(hub->chain(DataType::kQuote) == std::vector<std::string>{"alphavantage", "yahoo", "synthetic"});
  CHECK(hub->chain(DataType::kEconomic).empty());  // fred has no key: out of the chain

  // Every request is a miss (1 s TTL, 2 s apart): AV fails, Yahoo answers.
  for (int i = 0; i < 6; ++i) {
    GetResult r = hub->get(i % 2 ? "MSFT" : "AAPL", DataType::kQuote);
    REQUIRE(r.ok());
    CHECK(r.data->source == "yahoo");
    clock.advance_by(2 * kSecond);
  }
  HubStats stats = hub->stats();
  CHECK(stats.fallbacks == 3);             // AV was tried (and failed) three times ...
  CHECK(av_server.count("/query") == 3);   // ... then its breaker opened: no more calls
  CHECK(stats.breaker_rejects == 3);

  // Yahoo's documented-conservative limit (0.5/s, burst 2) held in every window.
  CHECK(yahoo_server.max_in_window(2 * kSecond) <= 2);

  bool saw_fred = false;
  for (const auto& s : hub->sources()) {
    const std::string dumped = to_json(s, clock.now_ns()).dump();
    CHECK(dumped.find(secret) == std::string::npos);
    if (s.name == "alphavantage") {
      CHECK(s.breaker == BreakerState::kOpen);
      CHECK(s.health == "down");
      CHECK(s.last_error.find(secret) == std::string::npos);
    }
    if (s.name == "fred") {
      saw_fred = true;
      CHECK(s.health == "disabled (no key)");
    }
  }
  CHECK(saw_fred);
  CHECK(to_json(hub->stats()).dump().find(secret) == std::string::npos);
  // The key did go upstream (as the provider wants it), only there.
  REQUIRE_FALSE(av_server.requests().empty());
  CHECK(av_server.requests()[0].param("apikey") == secret);
}

TEST_CASE("hub over HTTP: the regulatory chain falls back from EDGAR to data.gov", "[marketdata][http]") {
  SimulatedClock clock(kNow);
  FixtureServer edgar_server([&clock] { return clock.now_ns(); });
  FixtureServer datagov_server([&clock] { return clock.now_ns(); });
  FixtureResponse down;
  down.status = 503;
  down.body = "maintenance";
  edgar_server.route("/files/company_tickers.json", down);
  datagov_server.route("/search", body(R"({"sort":"relevance","results":[{"title":"Apple Inc. filings index","identifier":"aapl",
      "slug":"aapl-filings","dcat":{"modified":"2024-02-01"}}]})"));
  const std::string secret = "DATAGOV-SECRET-0001";
  json config = {{"sources",
                  {{{"kind", "edgar"}, {"base_url", edgar_server.base_url()}, {"aux_url", edgar_server.base_url()},
                    {"user_agent", "nautilus-tests admin@example.com"}},
                   {{"kind", "datagov"}, {"base_url", datagov_server.base_url()}, {"key", secret}},
                   {{"kind", "synthetic"}, {"symbols", {"AAPL"}}}}}};
  auto hub = make_hub_from_config(clock, config);
  const auto news_chain = hub->chain(DataType::kNews);
  REQUIRE(news_chain.size() >= 2);
  CHECK(news_chain[0] == "edgar");
  CHECK(news_chain[1] == "datagov");
  CHECK(hub->chain(DataType::kFundamental)[0] == "edgar");  // data.gov holds no fundamentals

  GetResult r = hub->get("AAPL", DataType::kNews);
  REQUIRE(r.ok());
  CHECK(r.data->source == "datagov");
  CHECK(json::parse(r.data->payload)["datasets"][0]["identifier"] == "aapl");
  CHECK(hub->stats().fallbacks == 1);
  CHECK(edgar_server.count() == 1);
  REQUIRE(datagov_server.count() == 1);
  CHECK(datagov_server.requests()[0].headers.at("x-api-key") == secret);
  for (const auto& s : hub->sources()) CHECK(to_json(s, clock.now_ns()).dump().find(secret) == std::string::npos);

  ::unsetenv("NAUTILUS_DATAGOV_KEY");
  json keyless = {{"sources", {{{"kind", "datagov"}, {"base_url", datagov_server.base_url()}}}}};
  auto hub2 = make_hub_from_config(clock, keyless);
  CHECK(hub2->chain(DataType::kNews).empty());
  REQUIRE(hub2->sources().size() == 1);
  CHECK(hub2->sources()[0].health == "disabled (no key)");
}

TEST_CASE("hub over HTTP: economic history walks past FRED (none kept) to Trading Economics", "[marketdata][http]") {
  SimulatedClock clock(kNow);
  FixtureServer server([&clock] { return clock.now_ns(); });
  server.route("/historical/country/united%20states/indicator/gdp", body(R"([
      {"Country":"United States","Category":"GDP","DateTime":"2022-12-31T00:00:00","Value":25744.11,"Frequency":"Yearly"},
      {"Country":"United States","Category":"GDP","DateTime":"2023-12-31T00:00:00","Value":27360.94,"Frequency":"Yearly"}])"));
  json config = {{"sources",
                  {{{"kind", "fred"}, {"base_url", server.base_url()}, {"key", "fred-key"}},
                   {{"kind", "tradingeconomics"}, {"base_url", server.base_url()}, {"key", "te-key"}}}}};
  auto hub = make_hub_from_config(clock, config);
  REQUIRE(hub->chain(DataType::kEconomic) == std::vector<std::string>{"fred", "tradingeconomics"});
  HistoryRequest req;
  req.symbol = "united_states:gdp";
  req.type = DataType::kEconomic;
  HistoryResult h = hub->history(req);
  REQUIRE(h.ok());
  CHECK(h.answered_by == "tradingeconomics");
  REQUIRE(h.points.size() == 2);
  CHECK(json::parse(h.points[1]->payload)["value"] == Approx(27360.94));
  CHECK(server.count() == 1);  // FRED was not called: it keeps no history
}

TEST_CASE("hub over HTTP: a burst of clients never exceeds a source's rate limit", "[marketdata][http]") {
  SimulatedClock clock(kNow);
  FixtureServer server([&clock] { return clock.now_ns(); });
  server.route("/fred/series/observations", body(R"({"observations":[{"date":"2024-01-04","value":"3.99"}]})"));
  json config = {{"cache", {{"ttl_ms", {{"economic", 500}}}}},
                 {"prefetch", false},
                 {"sources", {{{"kind", "fred"}, {"key", "k"}, {"base_url", server.base_url()}}}}};
  auto hub = make_hub_from_config(clock, config);
  const std::vector<std::string> series = {"DGS10", "DGS2", "CPIAUCSL", "UNRATE", "GDP", "FEDFUNDS"};
  std::size_t limited = 0;
  for (int tick = 0; tick < 40; ++tick) {       // 4 s of 100 ms ticks
    for (int client = 0; client < 13; ++client) {
      for (const auto& s : series) {
        GetResult r = hub->get(s, DataType::kEconomic, {.client = "c" + std::to_string(client)});
        if (r.error == FetchError::kRateLimited) ++limited;
      }
    }
    clock.advance_by(kSecond / 10);
  }
  CHECK(limited > 0);  // the limit did bite ...
  // ... and FRED's 2 req/s (burst 2) held in every window.
  CHECK(server.max_in_window(kSecond) <= 2 + 2);
  CHECK(server.max_in_window(2 * kSecond) <= 2 + 4);
  CHECK(server.count() <= static_cast<std::size_t>(2 + 2 * 4));
}

}  // namespace nautilus::md

namespace nautilus::md {

TEST_CASE("rate limiter: a daily quota is not rounded up, and the budget left is reported", "[marketdata][http]") {
  RateLimiter daily(RateLimit{25.0 / 86'400.0, 1.0});  // Alpha Vantage's free plan
  std::int64_t t = kNow;
  std::size_t admitted = 0;
  for (int minute = 0; minute < 24 * 60; ++minute, t += 60 * kSecond) admitted += daily.try_acquire(t);
  CHECK(admitted <= 25);  // a day of asking every minute
  CHECK(admitted >= 24);
  RateLimiter burst(RateLimit{2.0, 5.0});
  CHECK(burst.available(kNow) == 5);
  for (int i = 0; i < 3; ++i) REQUIRE(burst.try_acquire(kNow));
  CHECK(burst.available(kNow) == 2);
  CHECK(burst.available(kNow + kSecond) == 4);  // 2 tokens back per second
  CHECK(RateLimiter(RateLimit{}).available(kNow) == -1);
}

TEST_CASE("engine hub: the synthetic source serves its universe only", "[marketdata][http]") {
  SimulatedClock clock(kNow);
  auto hub = make_hub_from_config(clock, json::object());  // the embedded default: one synthetic source
  CHECK(hub->get("AAPL", DataType::kQuote).ok());
  GetResult unknown = hub->get("NOSUCHSYM", DataType::kQuote);
  CHECK_FALSE(unknown.ok());
  CHECK(unknown.error == FetchError::kNotFound);
  auto custom = make_hub_from_config(clock, {{"symbols", {"ZZTOP"}}});  // streamed symbols join the universe
  CHECK(custom->get("ZZTOP", DataType::kQuote).ok());
}

}  // namespace nautilus::md
