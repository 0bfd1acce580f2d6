// nautilus bench hub providers: the hub in front of the real HTTP adapters
// (ibkr, alphavantage, yahoo for quotes; fred, tradingeconomics, dbnomics for
// economic series; edgar for fundamentals, edgar -> datagov for news), each
// pointed at a local fixture HTTP server (the tests' one) serving the
// provider's response shape, with the provider's documented rate limit. 13
// clients ask for N symbols every second. Reports upstream calls made and saved, hit rate, limit waits and
// fallbacks. Live provider calls are not made: no keys, no internet.
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/clock.h"
#include "marketdata/marketdata_engine.h"
#include "marketdata/sources/fixture_server.h"
#include "table.h"

namespace nautilus::cli {
namespace {

using md::DataType;
using md::testing::FixtureRequest;
using md::testing::FixtureResponse;
using md::testing::FixtureServer;

constexpr std::int64_t kSec = 1'000'000'000;

FixtureResponse json_answer(std::string body) {
  FixtureResponse r;
  r.body = std::move(body);
  r.gzip = true;
  return r;
}

// Recorded-shape answers for any symbol, so every adapter parses a real body.
void serve_providers(FixtureServer& s) {
  s.route("/v1/api/iserver/secdef/search", [](const FixtureRequest& req) {
    return json_answer(R"([{"conid":")" + std::to_string(std::hash<std::string>{}(req.param("symbol")) % 1'000'000) + R"("}])");
  });
  s.route("/v1/api/iserver/marketdata/snapshot", [](const FixtureRequest& req) {
    return json_answer(R"([{"conid":)" + req.param("conids") +
                       R"(,"_updated":1712596911593,"31":"168.45","84":"168.40","86":"168.50","88":"1,200","85":"500"}])");
  });
  s.route("/query", [](const FixtureRequest& req) {
    return json_answer(R"({"Global Quote":{"01. symbol":")" + req.param("symbol") +
                       R"(","05. price":"160.40","07. latest trading day":"2024-01-05","08. previous close":"159.20"}})");
  });
  s.route("/fred/series/observations", [](const FixtureRequest&) {
    return json_answer(R"({"observations":[{"date":"2024-01-05","value":"."},{"date":"2024-01-04","value":"3.99"}]})");
  });
  s.route("/files/company_tickers.json", [](const FixtureRequest&) {
    return json_answer(R"({"0":{"cik_str":320193,"ticker":"AAPL","title":"Apple Inc."},"1":{"cik_str":789019,"ticker":"MSFT","title":"MICROSOFT CORP"}})");
  });
  s.route("/search", [](const FixtureRequest&) {  // data.gov catalog v4
    return json_answer(R"({"sort":"relevance","results":[{"title":"Consumer Price Index (CPI) Databases","identifier":"bls-cpi",
      "slug":"consumer-price-index","publisher":"Bureau of Labor Statistics","organization":{"name":"Department of Labor","slug":"dol"},
      "dcat":{"modified":"2024-06-12T08:30:00","landingPage":"https://www.bls.gov/cpi/data.htm"}}]})");
  });
  for (const char* cik : {"0000320193", "0000789019"}) {
    s.route(std::string("/api/xbrl/companyfacts/CIK") + cik + ".json", [](const FixtureRequest&) {
      return json_answer(R"({"entityName":"Fixture Corp","facts":{"us-gaap":{"NetIncomeLoss":{"units":{"USD":[{"end":"2023-09-30","val":96995000000,"fy":2023,"fp":"FY","form":"10-K","filed":"2023-11-03"}]}}}}})");
    });
  }
}

nlohmann::json run_providers(int clients, int symbol_count, int seconds, bool prefetch) {
  SimulatedClock clock;
  FixtureServer server([&clock] { return clock.now_ns(); });
  serve_providers(server);
  const std::string base = server.base_url();
  // Each provider with its default (documented) limit; keys are placeholders
  // the fixture accepts.
  nlohmann::json sources = nlohmann::json::array({
      {{"kind", "ibkr"}, {"base_url", base + "/v1/api"}},
      {{"kind", "alphavantage"}, {"base_url", base}, {"key", "fixture"}},
      {{"kind", "yahoo"}, {"base_url", base}},
      {{"kind", "fred"}, {"base_url", base}, {"key", "fixture"}},
      {{"kind", "tradingeconomics"}, {"base_url", base}, {"key", "fixture"}},
      {{"kind", "dbnomics"}, {"base_url", base}},
      {{"kind", "edgar"}, {"base_url", base}, {"aux_url", base}, {"user_agent", "nautilus-bench bench@example.com"}},
      {{"kind", "datagov"}, {"base_url", base}, {"key", "fixture"}},
  });
  nlohmann::json config = {{"prefetch", prefetch}, {"sources", sources}};
  auto hub = md::make_hub_from_config(clock, config);

  std::vector<std::string> stocks = {"AAPL", "MSFT"};
  for (int i = 2; i < symbol_count; ++i) stocks.push_back("S" + std::to_string(i));
  const std::vector<std::string> series = {"DGS10", "DGS2", "UNRATE", "CPIAUCSL"};
  std::vector<std::string> names;
  for (int c = 0; c < clients; ++c) names.push_back("engine-" + std::to_string(c));

  const std::int64_t t0 = clock.now_ns();
  std::uint64_t failed = 0, limited = 0;
  for (int second = 0; second < seconds; ++second) {
    for (int c = 0; c < clients; ++c) {
      clock.advance_to(t0 + second * kSec + c * (kSec / (clients + 1)));
      md::GetOptions o;
      o.client = names[static_cast<std::size_t>(c)];
      auto ask = [&](const std::string& sym, DataType t) {
        md::GetResult r = hub->get(sym, t, o);
        if (!r.ok()) ++failed;
        if (r.error == md::FetchError::kRateLimited) ++limited;
      };
      for (const auto& s : stocks) ask(s, DataType::kQuote);
      for (const auto& s : series) ask(s, DataType::kEconomic);
      ask("AAPL", DataType::kFundamental);
      ask("dol:consumer_price_index", DataType::kNews);  // no such ticker at EDGAR: data.gov's search answers
    }
  }
  auto st = hub->stats();
  nlohmann::json per_source = nlohmann::json::array();
  bool limits_held = true;
  for (const auto& s : hub->sources()) {
    per_source.push_back({{"name", s.name}, {"priority", s.priority}, {"rate_per_s", s.rate_limit.per_second},
                          {"burst", s.rate_limit.burst}, {"calls", s.calls}, {"rate_limited", s.rate_limited},
                          {"errors", s.errors}});
  }
  struct PathLimit {
    const char* prefix;
    double rate, burst;
  };
  const PathLimit paths[] = {{"/v1/api/iserver/marketdata", 10, 10}, {"/query", 25.0 / 86'400, 1},
                             {"/v8/finance", 0.5, 2},               {"/fred/", 2, 2},
                             {"/api/xbrl", 5, 5},                   {"/search", 1000.0 / 3600, 5}};
  nlohmann::json windows = nlohmann::json::array();
  for (const auto& p : paths) {
    const std::size_t max_1s = server.max_in_window(kSec, p.prefix);
    const bool ok = static_cast<double>(max_1s) <= p.burst + p.rate;
    limits_held = limits_held && ok;
    windows.push_back({{"path", p.prefix}, {"max_per_1s", max_1s}, {"allowed", p.burst + p.rate}, {"ok", ok}});
  }
  return {{"scenario", "providers"},
          {"clients", clients},
          {"symbols", symbol_count},
          {"seconds", seconds},
          {"requests", st.requests},
          {"failed", failed},
          {"rate_limited_answers", limited},
          {"upstream_calls", st.upstream_calls},
          {"http_requests", server.count()},
          {"upstream_calls_saved", st.calls_saved()},
          {"hit_rate", st.hit_rate()},
          {"fallbacks", st.fallbacks},
          {"rate_limit_waits", st.rate_limit_waits},
          {"limits_held", limits_held},
          {"windows", windows},
          {"sources", per_source},
          {"live_calls", false}};
}

}  // namespace

void run_hub_providers_bench(int clients, int symbols, int seconds, bool prefetch, const GlobalOptions& g) {
  auto r = run_providers(clients, symbols, seconds, prefetch);
  if (g.json) {
    std::cout << r.dump() << "\n";
    return;
  }
  auto count = [&](const char* k) { return format_count(r[k].get<double>()); };
  Table t({"METRIC", "VALUE"});
  t.add_row({"requests (" + std::to_string(r["clients"].get<int>()) + " clients x " + std::to_string(r["seconds"].get<int>()) + " s)", count("requests")});
  t.add_row({"upstream calls made", count("upstream_calls")});
  t.add_row({"HTTP requests to the fixtures", count("http_requests")});
  t.add_row({"upstream calls saved", count("upstream_calls_saved")});
  t.add_row({"hit rate", format_fixed(100.0 * r["hit_rate"].get<double>(), 1) + "%"});
  t.add_row({"rate-limit waits", count("rate_limit_waits")});
  t.add_row({"fallbacks", count("fallbacks")});
  t.add_row({"answered rate_limited / failed", count("rate_limited_answers") + " / " + count("failed")});
  t.add_row({"every limit held (fixture-counted)", r["limits_held"].get<bool>() ? "yes" : "NO"});
  t.print(std::cout, g.color());
  std::cout << "\n";
  Table s({"SOURCE", "PRIORITY", "LIMIT", "CALLS", "LIMITED", "ERRORS"});
  for (const auto& x : r["sources"]) {
    s.add_row({x["name"].get<std::string>(), std::to_string(x["priority"].get<int>()),
               format_fixed(x["rate_per_s"].get<double>(), x["rate_per_s"].get<double>() < 1 ? 5 : 1) + "/s",
               format_count(x["calls"].get<double>()), format_count(x["rate_limited"].get<double>()),
               format_count(x["errors"].get<double>())});
  }
  s.print(std::cout, g.color());
  std::cout << "\nFixture servers stand in for the providers: no live provider call was made.\n";
}

}  // namespace nautilus::cli
