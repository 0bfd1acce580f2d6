// Each HTTP provider adapter against the fixture server serving that
// provider's recorded response shapes: good answers, its error and throttle
// shapes, and the normalised payload it maps them onto.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>

#include <nlohmann/json.hpp>

#include "marketdata/sources/fixture_server.h"
#include "marketdata/sources/http_source.h"

namespace nautilus::md {
namespace {

using testing::FixtureRequest;
using testing::FixtureResponse;
using testing::FixtureServer;
using nlohmann::json;

constexpr std::int64_t kNow = 1'700'000'000'000'000'000;
constexpr std::int64_t kSecond = 1'000'000'000;
const char* const kKey = "k3y-s3cr3t";

std::unique_ptr<HttpSource> source_for(const std::string& kind, const FixtureServer& server) {
  HttpSourceConfig c;
  c.kind = kind;
  c.base_url = server.base_url();
  c.aux_url = server.base_url();
  c.key = kKey;
  c.http.timeout_ms = 5'000;
  c.http.user_agent = "nautilus-tests admin@example.com";
  c.user_agent_set = true;
  return make_http_source(c);
}

json payload(const FetchResult& r) {
  REQUIRE(r.ok());
  return json::parse(r.data->payload);
}

// A provider that needs a key: none in the config nor its environment
// variable means disabled and nothing sent; the variable alone enables it.
// Returns the request the env-keyed source sent.
FixtureRequest check_key_from_env(const std::string& kind, const char* env, const FixtureServer& server,
                                  const std::string& symbol, DataType type) {
  ::unsetenv(env);
  HttpSourceConfig keyless;
  keyless.kind = kind;
  keyless.base_url = server.base_url();
  auto off = make_http_source(keyless);
  CHECK(off->info().disabled == "no key");
  const std::size_t calls = server.count();
  FetchResult r = off->fetch(symbol, type, kNow);
  CHECK(r.error == FetchError::kAuth);
  CHECK_THAT(r.message, Catch::Contains("no key"));
  CHECK(server.count() == calls);  // nothing sent

  ::setenv(env, kKey, 1);
  auto from_env = make_http_source(keyless);
  ::unsetenv(env);
  CHECK(from_env->info().disabled.empty());
  CHECK(from_env->fetch(symbol, type, kNow).ok());
  REQUIRE(server.count() == calls + 1);
  return server.requests().back();
}

FixtureResponse answer(int status, std::string body) {
  FixtureResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("provider number and time formats", "[marketdata][http]") {
  struct Case {
    const char* text;
    std::optional<double> value;
  };
  const Case cases[] = {{"168.45", 168.45}, {"1,234.50", 1234.5}, {"C168.40", 168.40}, {"H12", 12.0},  {"1.2M", 1.2e6},
                        {"350K", 350e3},    {"0.5236%", 0.5236}, {"-1.25", -1.25},    {".", std::nullopt},
                        {"", std::nullopt}, {"NA", std::nullopt}, {"abc", std::nullopt}};
  for (const auto& c : cases) {
    INFO(c.text);
    auto v = http_format::number(c.text);
    REQUIRE(v.has_value() == c.value.has_value());
    if (v) CHECK(*v == Approx(*c.value));
  }
  // Independent reference: timegm() of the same civil time.
  auto reference = [](int y, int mo, int d, int h, int mi) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return static_cast<std::int64_t>(::timegm(&tm)) * kSecond;
  };
  CHECK(http_format::utc_ns("2024-01-05") == reference(2024, 1, 5, 0, 0));
  CHECK(http_format::utc_ns("1999-12-31 23:59:00") == reference(1999, 12, 31, 23, 59));
  CHECK_FALSE(http_format::utc_ns("2024-13-01"));
  CHECK_FALSE(http_format::utc_ns("yesterday"));
  // US/Eastern: EST is UTC-5, EDT UTC-4; 2024 DST ran from 10 March to 3 November.
  CHECK(http_format::us_eastern_ns("2024-01-05 15:30:00") == reference(2024, 1, 5, 20, 30));
  CHECK(http_format::us_eastern_ns("2024-07-01 09:30:00") == reference(2024, 7, 1, 13, 30));
  CHECK(http_format::us_eastern_ns("2024-03-10 01:59:00") == reference(2024, 3, 10, 6, 59));
  CHECK(http_format::us_eastern_ns("2024-03-10 03:00:00") == reference(2024, 3, 10, 7, 0));
  CHECK(http_format::us_eastern_ns("2024-11-03 02:00:00") == reference(2024, 11, 3, 7, 0));

  CHECK(parse_retry_after_ms("120", 0) == 120'000);
  CHECK(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1'445'412'470) == 10'000);
  CHECK(parse_retry_after_ms("soon", 0) == -1);
}

TEST_CASE("alphavantage: GLOBAL_QUOTE strings, intraday bars, and its 200-status errors", "[marketdata][http]") {
  FixtureServer server;
  server.route("/query", [](const FixtureRequest& req) {
    const std::string symbol = req.param("symbol"), function = req.param("function");
    if (req.param("apikey") != kKey) return answer(200, R"({"Information":"the parameter apikey is invalid or missing."})");
    if (symbol == "THROTTLED") {
      return answer(200, R"({"Note":"Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute."})");
    }
    if (symbol == "BAD!") return answer(200, R"({"Error Message":"Invalid API call."})");
    if (symbol == "NOPE") return answer(200, R"({"Global Quote":{}})");
    if (function == "TIME_SERIES_INTRADAY") {
      return answer(200, R"J({"Meta Data":{"1. Information":"Intraday (5min)","2. Symbol":"IBM","4. Interval":"5min","6. Time Zone":"US/Eastern"},
        "Time Series (5min)":{"2024-01-05 15:55:00":{"1. open":"160.10","2. high":"160.50","3. low":"160.00","4. close":"160.40","5. volume":"12000"},
                              "2024-01-05 15:50:00":{"1. open":"159.90","2. high":"160.20","3. low":"159.80","4. close":"160.10","5. volume":"9000"}}})J");
    }
    return answer(200, R"({"Global Quote":{"01. symbol":"IBM","02. open":"159.00","03. high":"161.00","04. low":"158.50",
      "05. price":"160.40","06. volume":"4,321,000","07. latest trading day":"2024-01-05","08. previous close":"159.20",
      "09. change":"1.2000","10. change percent":"0.7538%"}})");
  });
  auto src = source_for("alphavantage", server);

  json q = payload(src->fetch("IBM", DataType::kQuote, kNow));
  CHECK(q["price"] == Approx(160.40));
  CHECK(q["prev_close"] == Approx(159.20));
  CHECK(q["change_pct"] == Approx(0.7538));
  CHECK(q["volume"] == Approx(4'321'000));
  CHECK(q["ts_ns"] == http_format::utc_ns("2024-01-05").value());
  CHECK(server.requests().back().param("function") == "GLOBAL_QUOTE");

  json b = payload(src->fetch("IBM", DataType::kBar, kNow));
  CHECK(b["close"] == Approx(160.40));  // the later of the two bars
  CHECK(b["interval_s"] == 300);
  CHECK(b["start_ns"] == http_format::us_eastern_ns("2024-01-05 15:55:00").value());

  CHECK(src->fetch("NOPE", DataType::kQuote, kNow).error == FetchError::kNotFound);
  CHECK(src->fetch("BAD!", DataType::kQuote, kNow).error == FetchError::kNotFound);  // refused before the call: invalid symbol

  const std::size_t before = server.count();
  FetchResult t = src->fetch("THROTTLED", DataType::kQuote, kNow);
  CHECK(t.error == FetchError::kRateLimited);
  CHECK(t.retry_after_ns == 60 * kSecond);
  // The throttle holds: no call goes out until the wait is over.
  CHECK(src->fetch("IBM", DataType::kQuote, kNow + 30 * kSecond).error == FetchError::kRateLimited);
  CHECK(server.count() == before + 1);
  CHECK(src->fetch("IBM", DataType::kQuote, kNow + 61 * kSecond).ok());

  HttpSourceConfig wrong;
  wrong.kind = "alphavantage";
  wrong.base_url = server.base_url();
  wrong.key = "wrong";
  CHECK(make_http_source(wrong)->fetch("IBM", DataType::kQuote, kNow).error == FetchError::kAuth);
}

TEST_CASE("alphavantage: an Error Message body is not found", "[marketdata][http]") {
  FixtureServer server;
  server.route("/query", answer(200, R"({"Error Message":"Invalid API call. Please retry or visit the documentation."})"));
  CHECK(source_for("alphavantage", server)->fetch("ZZZZ", DataType::kQuote, kNow).error == FetchError::kNotFound);
}

TEST_CASE("yahoo: v8 chart with null entries, its error object, 429 with Retry-After", "[marketdata][http]") {
  FixtureServer server;
  server.route("/v8/finance/chart/AAPL", answer(200, R"({"chart":{"result":[{"meta":{"currency":"USD","symbol":"AAPL",
      "regularMarketPrice":185.5,"chartPreviousClose":184.0,"regularMarketTime":1704488400,"regularMarketDayHigh":186.1,
      "regularMarketDayLow":183.9,"regularMarketVolume":51000000},
      "timestamp":[1704465000,1704465300,1704465600],
      "indicators":{"quote":[{"open":[185.0,185.2,null],"high":[185.4,185.6,null],"low":[184.9,185.1,null],
                              "close":[185.2,185.5,null],"volume":[100000,90000,null]}]}}],"error":null}})"));
  server.route("/v8/finance/chart/NOPE", answer(404, R"({"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}})"));
  FixtureResponse busy = answer(429, "Too Many Requests");
  busy.content_type = "text/plain";
  busy.headers = {{"Retry-After", "7"}};
  server.route("/v8/finance/chart/BUSY", busy);
  auto src = source_for("yahoo", server);

  json q = payload(src->fetch("AAPL", DataType::kQuote, kNow));
  CHECK(q["price"] == Approx(185.5));
  CHECK(q["prev_close"] == Approx(184.0));
  CHECK(q["change"] == Approx(1.5));
  CHECK(q["change_pct"] == Approx(100.0 * 1.5 / 184.0));
  CHECK(q["ts_ns"] == 1704488400LL * kSecond);
  CHECK(q["currency"] == "USD");

  json b = payload(src->fetch("AAPL", DataType::kBar, kNow));
  CHECK(b["start_ns"] == 1704465300LL * kSecond);  // the last entry is all null: skipped
  CHECK(b["close"] == Approx(185.5));
  CHECK(b["interval_s"] == 300);

  FetchResult nf = src->fetch("NOPE", DataType::kQuote, kNow);
  CHECK(nf.error == FetchError::kNotFound);
  CHECK_THAT(nf.message, Catch::Contains("delisted"));

  FetchResult limited = src->fetch("BUSY", DataType::kQuote, kNow);
  CHECK(limited.error == FetchError::kRateLimited);
  CHECK(limited.retry_after_ns == 7 * kSecond);
  const std::size_t calls = server.count();
  CHECK(src->fetch("AAPL", DataType::kQuote, kNow + 6 * kSecond).error == FetchError::kRateLimited);
  CHECK(server.count() == calls);
  CHECK(src->fetch("AAPL", DataType::kQuote, kNow + 7 * kSecond).ok());
}

TEST_CASE("fred: JSON observations, '.' as missing, its error body", "[marketdata][http]") {
  FixtureServer server;
  server.route("/fred/series/observations", [](const FixtureRequest& req) {
    if (req.param("api_key") != kKey) {
      return answer(400, R"({"error_code":400,"error_message":"Bad Request.  The value for variable api_key is not registered."})");
    }
    if (req.param("file_type") != "json") return answer(200, "<?xml version=\"1.0\"?><observations/>");
    if (req.param("series_id") != "DGS10") {
      return answer(400, R"({"error_code":400,"error_message":"Bad Request.  The series does not exist."})");
    }
    return answer(200, R"({"realtime_start":"2024-01-08","units":"lin","sort_order":"desc","count":3,"observations":[
        {"realtime_start":"2024-01-08","realtime_end":"2024-01-08","date":"2024-01-05","value":"."},
        {"realtime_start":"2024-01-08","realtime_end":"2024-01-08","date":"2024-01-04","value":"3.99"},
        {"realtime_start":"2024-01-08","realtime_end":"2024-01-08","date":"2024-01-03","value":"3.91"}]})");
  });
  auto src = source_for("fred", server);
  json e = payload(src->fetch("DGS10", DataType::kEconomic, kNow));
  CHECK(e["value"] == Approx(3.99));  // the newest non-missing observation
  CHECK(e["date"] == "2024-01-04");
  REQUIRE(e["observations"].size() == 3);
  CHECK(e["observations"][0]["date"] == "2024-01-03");  // oldest first
  CHECK(e["observations"][2]["value"].is_null());       // "." is missing, not 0
  CHECK(src->fetch("NOSUCH", DataType::kEconomic, kNow).error == FetchError::kNotFound);
  CHECK(src->fetch("DGS10", DataType::kQuote, kNow).error == FetchError::kUnsupported);

  HttpSourceConfig wrong;
  wrong.kind = "fred";
  wrong.base_url = server.base_url();
  wrong.key = "wrong";
  CHECK(make_http_source(wrong)->fetch("DGS10", DataType::kEconomic, kNow).error == FetchError::kAuth);
}

TEST_CASE("edgar: ticker map, companyfacts, columnar filings.recent, User-Agent", "[marketdata][http]") {
  FixtureServer server;
  server.route("/files/company_tickers.json", answer(200, R"({"0":{"cik_str":320193,"ticker":"AAPL","title":"Apple Inc."},
                                                          "1":{"cik_str":789019,"ticker":"MSFT","title":"MICROSOFT CORP"}})"));
  server.route("/api/xbrl/companyfacts/CIK0000320193.json", answer(200, R"({"cik":320193,"entityName":"Apple Inc.","facts":{
      "dei":{"EntityCommonStockSharesOutstanding":{"label":"Shares","units":{"shares":[
          {"end":"2023-10-20","val":15552752000,"accn":"0000320193-23-000106","fy":2023,"fp":"FY","form":"10-K","filed":"2023-11-03"}]}}},
      "us-gaap":{"NetIncomeLoss":{"label":"Net Income","units":{"USD":[
          {"end":"2022-09-24","val":99803000000,"fy":2022,"fp":"FY","form":"10-K","filed":"2022-10-28"},
          {"end":"2023-09-30","val":96995000000,"fy":2023,"fp":"FY","form":"10-K","filed":"2023-11-03"},
          {"end":"2023-07-01","val":19881000000,"fy":2023,"fp":"Q3","form":"10-Q","filed":"2023-08-04"}]}}}}})"));
  server.route("/submissions/CIK0000320193.json", answer(200, R"({"cik":"320193","name":"Apple Inc.","tickers":["AAPL"],
      "filings":{"recent":{"accessionNumber":["0000320193-24-000006","0000320193-23-000106"],"form":["8-K","10-K"],
      "filingDate":["2024-02-01","2023-11-03"],"reportDate":["2024-02-01","2023-09-30"],
      "primaryDocument":["aapl-20240201.htm","aapl-20230930.htm"]},"files":[]}})"));
  auto src = source_for("edgar", server);

  json f = payload(src->fetch("AAPL", DataType::kFundamental, kNow));
  CHECK(f["cik"] == "0000320193");
  CHECK(f["entity"] == "Apple Inc.");
  CHECK(f["facts"]["NetIncomeLoss"]["value"] == Approx(96995000000.0));  // the latest period end
  CHECK(f["facts"]["NetIncomeLoss"]["fp"] == "FY");
  CHECK(f["facts"]["EntityCommonStockSharesOutstanding"]["unit"] == "shares");

  json n = payload(src->fetch("AAPL", DataType::kNews, kNow));
  REQUIRE(n["filings"].size() == 2);
  CHECK(n["filings"][0]["form"] == "8-K");
  CHECK(n["filings"][1]["report_date"] == "2023-09-30");
  CHECK(n["filings"][1]["url"] == "https://www.sec.gov/Archives/edgar/data/320193/000032019323000106/aapl-20230930.htm");

  CHECK(src->fetch("ZZZZ", DataType::kFundamental, kNow).error == FetchError::kNotFound);
  CHECK(src->fetch("789019", DataType::kFundamental, kNow).error == FetchError::kNotFound);  // a CIK with no fixture: 404
  CHECK(server.count("/files/company_tickers.json") == 1);  // the map is loaded once
  for (const auto& r : server.requests()) CHECK(r.headers.at("user-agent") == "nautilus-tests admin@example.com");

  HttpSourceConfig anonymous;
  anonymous.kind = "edgar";
  anonymous.base_url = server.base_url();
  auto off = make_http_source(anonymous);
  CHECK(off->info().disabled == "no user_agent");
  CHECK(off->fetch("AAPL", DataType::kFundamental, kNow).error == FetchError::kAuth);
}

TEST_CASE("ibkr: pre-flight snapshot, field codes, commas and the C prefix", "[marketdata][http]") {
  FixtureServer server;
  int snapshots = 0;
  server.route("/v1/api/iserver/secdef/search", answer(200, R"([{"conid":"265598","companyHeader":"APPLE INC - NASDAQ","symbol":"AAPL"}])"));
  server.route("/v1/api/iserver/marketdata/snapshot", [&snapshots](const FixtureRequest& req) {
    if (req.param("conids") != "265598") return answer(200, "[]");
    if (++snapshots == 1) return answer(200, R"([{"conid":265598,"conidEx":"265598"}])");  // pre-flight: no fields
    return answer(200, R"([{"conid":265598,"_updated":1712596911593,"31":"C1,168.45","84":"1,168.40","86":"1,168.50",
                          "88":"1,200","85":"500","7295":"1,160.00","70":"1,170.00","71":"1,158.00","82":"+8.45","83":"0.73%",
                          "87":"12.3M","7741":"1,160.00"}])");
  });
  HttpSourceConfig c;
  c.kind = "ibkr";
  c.base_url = server.base_url() + "/v1/api";
  auto src = make_http_source(c);
  json q = payload(src->fetch("AAPL", DataType::kQuote, kNow));
  CHECK(q["price"] == Approx(1168.45));
  CHECK(q["closed"] == true);  // "C": the prior close
  CHECK(q["bid"] == Approx(1168.40));
  CHECK(q["ask"] == Approx(1168.50));
  CHECK(q["bid_size"] == Approx(1200));
  CHECK(q["volume"] == Approx(12.3e6));
  CHECK(q["change_pct"] == Approx(0.73));
  CHECK(q["ts_ns"] == 1712596911593LL * 1'000'000);
  CHECK(snapshots == 2);
  (void)src->fetch("AAPL", DataType::kTick, kNow);
  CHECK(server.count("/v1/api/iserver/secdef/search") == 1);  // the conid is remembered

  server.route("/v1/api/iserver/marketdata/snapshot", answer(401, R"({"error":"not authenticated"})"));
  CHECK(src->fetch("AAPL", DataType::kQuote, kNow).error == FetchError::kAuth);
}

TEST_CASE("dbnomics: v22 series, NA values, errors inside a 200 body", "[marketdata][http]") {
  FixtureServer server;
  server.route("/series/AMECO/ZUTN/EA19.1.0.0.0.ZUTN", answer(200, R"({"series":{"num_found":1,"docs":[{
      "provider_code":"AMECO","dataset_code":"ZUTN","series_code":"EA19.1.0.0.0.ZUTN","series_name":"Unemployment rate",
      "@frequency":"annual","period":["2021","2022","2023"],"period_start_day":["2021-01-01","2022-01-01","2023-01-01"],
      "value":[7.7,6.8,"NA"]}]}})"));
  server.route("/series/AMECO/ZUTN/NOPE", answer(200, R"({"message":"Series not found: AMECO/ZUTN/NOPE","errors":[]})"));
  server.route("/series/AMECO/ZUTN/BROKEN", answer(200, R"({"errors":[{"message":"internal indexing error"}]})"));
  auto src = source_for("dbnomics", server);
  json e = payload(src->fetch("AMECO/ZUTN/EA19.1.0.0.0.ZUTN", DataType::kEconomic, kNow));
  CHECK(e["value"] == Approx(6.8));
  CHECK(e["date"] == "2022-01-01");
  CHECK(e["observations"][2]["value"].is_null());
  CHECK(e["frequency"] == "annual");
  CHECK(src->fetch("AMECO/ZUTN/NOPE", DataType::kEconomic, kNow).error == FetchError::kNotFound);
  CHECK(src->fetch("AMECO/ZUTN/BROKEN", DataType::kEconomic, kNow).error == FetchError::kProviderError);
  CHECK(src->fetch("DGS10", DataType::kEconomic, kNow).error == FetchError::kNotFound);  // not PROVIDER/DATASET/SERIES
}

TEST_CASE("tradingeconomics: historical series, snapshot, errors, and no key means disabled", "[marketdata][http]") {
  FixtureServer server;
  // /historical rows as docs.tradingeconomics.com/indicators/historical/ shows
  // them; sent out of order here, one period without a value.
  server.route("/historical/country/united%20states/indicator/gdp", [](const FixtureRequest& req) {
    if (req.param("c") != kKey) return answer(401, R"({"Message":"Invalid credentials."})");
    return answer(200, R"([
      {"Country":"United States","Category":"GDP","DateTime":"2022-12-31T00:00:00","Value":25744.11,"Frequency":"Yearly","HistoricalDataSymbol":"WGDPUSAS","LastUpdate":"2024-03-28T12:30:00"},
      {"Country":"United States","Category":"GDP","DateTime":"2020-12-31T00:00:00","Value":21354.1,"Frequency":"Yearly","HistoricalDataSymbol":"WGDPUSAS","LastUpdate":"2024-03-28T12:30:00"},
      {"Country":"United States","Category":"GDP","DateTime":"2024-12-31T00:00:00","Value":null,"Frequency":"Yearly","HistoricalDataSymbol":"WGDPUSAS","LastUpdate":"2024-03-28T12:30:00"},
      {"Country":"United States","Category":"GDP","DateTime":"2023-12-31T00:00:00","Value":27360.94,"Frequency":"Yearly","HistoricalDataSymbol":"WGDPUSAS","LastUpdate":"2024-03-28T12:30:00"},
      {"Country":"United States","Category":"GDP","DateTime":"2021-12-31T00:00:00","Value":23315.08,"Frequency":"Yearly","HistoricalDataSymbol":"WGDPUSAS","LastUpdate":"2024-03-28T12:30:00"}])");
  });
  server.route("/historical/country/mars/indicator/gdp", answer(200, "[]"));
  server.route("/historical/country/sweden/indicator/gdp", answer(403, R"({"Message":"No Access to this feature."})"));
  FixtureResponse busy = answer(429, R"({"Message":"Too Many Requests"})");
  busy.headers = {{"Retry-After", "3"}};
  server.route("/historical/country/japan/indicator/gdp", busy);
  server.route("/country/united%20states/indicator/gdp", answer(200, R"([{"Country":"United States","Category":"GDP",
      "Title":"United States GDP","LatestValueDate":"2023-12-31T00:00:00","LatestValue":27360.94,"PreviousValue":25744.11,
      "PreviousValueDate":"2022-12-31T00:00:00","Unit":"USD Billion","Frequency":"Yearly"}])"));

  HttpSourceConfig c;
  c.kind = "tradingeconomics";
  c.base_url = server.base_url();
  c.key = kKey;
  c.observations = 4;  // the newest four of the five periods
  auto src = make_http_source(c);
  json e = payload(src->fetch("united_states:gdp", DataType::kEconomic, kNow));
  CHECK(e["value"] == Approx(27360.94));  // the newest period with a value
  CHECK(e["date"] == "2023-12-31");
  CHECK(e["ts_ns"] == http_format::utc_ns("2023-12-31").value());
  CHECK(e["title"] == "United States GDP");
  CHECK(e["frequency"] == "Yearly");
  CHECK(e["provider_symbol"] == "WGDPUSAS");
  REQUIRE(e["observations"].size() == 4);
  CHECK(e["observations"][0]["date"] == "2021-12-31");  // oldest first; 2020 dropped
  CHECK(e["observations"][0]["value"] == Approx(23315.08));
  CHECK(e["observations"][3]["date"] == "2024-12-31");
  CHECK(e["observations"][3]["value"].is_null());       // missing, not 0
  CHECK(server.requests().back().param("f") == "json");
  CHECK(server.requests().back().param("c") == kKey);

  CHECK(src->fetch("mars:gdp", DataType::kEconomic, kNow).error == FetchError::kNotFound);
  CHECK(src->fetch("gdp", DataType::kEconomic, kNow).error == FetchError::kNotFound);  // not country:indicator
  FetchResult plan = src->fetch("sweden:gdp", DataType::kEconomic, kNow);
  CHECK(plan.error == FetchError::kAuth);
  CHECK_THAT(plan.message, Catch::Contains("history = false"));
  FetchResult limited = src->fetch("japan:gdp", DataType::kEconomic, kNow);
  CHECK(limited.error == FetchError::kRateLimited);
  CHECK(limited.retry_after_ns == 3 * kSecond);
  CHECK(src->fetch("united_states:gdp", DataType::kEconomic, kNow + kSecond).error == FetchError::kRateLimited);  // still waiting
  CHECK(src->fetch("united_states:gdp", DataType::kEconomic, kNow + 3 * kSecond).ok());

  HttpSourceConfig wrong = c;
  wrong.key = "wrong";
  FetchResult refused = make_http_source(wrong)->fetch("united_states:gdp", DataType::kEconomic, kNow);
  CHECK(refused.error == FetchError::kAuth);
  CHECK_THAT(refused.message, Catch::Contains("Invalid credentials"));

  HttpSourceConfig snapshot_only = c;
  snapshot_only.history = false;
  json snap = payload(make_http_source(snapshot_only)->fetch("united_states:gdp", DataType::kEconomic, kNow));
  CHECK(server.requests().back().path == "/country/united%20states/indicator/gdp");
  CHECK(snap["value"] == Approx(27360.94));
  CHECK(snap["units"] == "USD Billion");
  REQUIRE(snap["observations"].size() == 2);
  CHECK(snap["observations"][0]["value"] == Approx(25744.11));

  CHECK(check_key_from_env("tradingeconomics", "NAUTILUS_TRADINGECONOMICS_KEY", server, "united_states:gdp", DataType::kEconomic)
            .param("c") == kKey);
}

TEST_CASE("utc_date: nanoseconds to the UTC day they fall in", "[marketdata][http]") {
  // Independent reference: gmtime_r() of the same instant, floored to seconds.
  auto reference = [](std::int64_t ns) {
    std::time_t t = static_cast<std::time_t>(ns / kSecond - (ns % kSecond < 0 ? 1 : 0));
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return std::string(buf);
  };
  const std::int64_t cases[] = {0, -1, kNow, 951'782'400LL * kSecond /* 2000-02-29 */, 951'868'799LL * kSecond + 999'999'999,
                                1'709'164'800LL * kSecond /* 2024-02-29 */, -86'400LL * kSecond * 365 * 30, 4'102'444'800LL * kSecond - 1};
  for (std::int64_t ns : cases) {
    INFO(ns);
    CHECK(http_format::utc_date(ns) == reference(ns));
  }
  CHECK(http_format::utc_date(http_format::utc_ns("2023-12-31").value()) == "2023-12-31");
}

TEST_CASE("tradingeconomics: history over a range, whole days upstream, half-open here", "[marketdata][http]") {
  FixtureServer server;
  const std::string rows = R"([
      {"Country":"United States","Category":"GDP","DateTime":"2023-12-31T00:00:00","Value":27360.94,"Frequency":"Yearly"},
      {"Country":"United States","Category":"GDP","DateTime":"2021-12-31T00:00:00","Value":23315.08,"Frequency":"Yearly"},
      {"Country":"United States","Category":"GDP","DateTime":"2022-12-31T00:00:00","Value":null,"Frequency":"Yearly"}])";
  server.route("/historical/country/united%20states/indicator/gdp/2021-06-30/2023-12-30", answer(200, rows));
  server.route("/historical/country/united%20states/indicator/gdp", answer(200, rows));
  server.route("/historical/country/mars/indicator/gdp/2021-06-30/2023-12-30", answer(200, "[]"));
  HttpSourceConfig c;
  c.kind = "tradingeconomics";
  c.base_url = server.base_url();
  c.key = kKey;
  auto src = make_http_source(c);

  HistoryRequest req;
  req.symbol = "united_states:gdp";
  req.type = DataType::kEconomic;
  req.from_ns = http_format::utc_ns("2021-06-30").value();
  req.to_ns = http_format::utc_ns("2023-12-31").value();  // exclusive: the 2023-12-31 period is out
  HistoryResult h = src->fetch_history(req, kNow);
  REQUIRE(h.ok());
  CHECK(h.answered_by == "tradingeconomics");
  CHECK(server.requests().back().param("c") == kKey);
  REQUIRE(h.points.size() == 2);
  json first = json::parse(h.points[0]->payload), second = json::parse(h.points[1]->payload);
  CHECK(first["date"] == "2021-12-31");  // oldest first
  CHECK(first["value"] == Approx(23315.08));
  CHECK(first["title"] == "United States GDP");
  CHECK(h.points[0]->as_of_ns == http_format::utc_ns("2021-12-31").value());
  CHECK(h.points[0]->type == DataType::kEconomic);
  CHECK(second["date"] == "2022-12-31");
  CHECK(second["value"].is_null());  // a period without a value stays, as null

  req.limit = 1;  // the newest one only
  HistoryResult newest = src->fetch_history(req, kNow);
  REQUIRE(newest.points.size() == 1);
  CHECK(json::parse(newest.points[0]->payload)["date"] == "2022-12-31");

  HistoryRequest all;  // no range: the whole series, no dates in the path
  all.symbol = "united_states:gdp";
  all.type = DataType::kEconomic;
  HistoryResult whole = src->fetch_history(all, kNow);
  CHECK(server.requests().back().path == "/historical/country/united%20states/indicator/gdp");
  CHECK(whole.points.size() == 3);

  HistoryRequest mars = req;
  mars.symbol = "mars:gdp";
  CHECK(src->fetch_history(mars, kNow).error == FetchError::kNotFound);
  HistoryRequest quotes = all;
  quotes.type = DataType::kQuote;
  CHECK(src->fetch_history(quotes, kNow).error == FetchError::kUnsupported);

  HttpSourceConfig snapshot_only = c;
  snapshot_only.history = false;
  const std::size_t calls = server.count();
  CHECK(make_http_source(snapshot_only)->fetch_history(all, kNow).error == FetchError::kUnsupported);
  HttpSourceConfig fred = c;
  fred.kind = "fred";
  CHECK(make_http_source(fred)->fetch_history(all, kNow).error == FetchError::kUnsupported);  // economic, but no history kept
  CHECK(server.count() == calls);  // neither called out
}

// The v4 search shapes from data.gov's catalog API page
// (resources.data.gov/catalog-api): results[] with a dcat object, the
// api.data.gov key and rate-limit errors, the catalog's 422.
TEST_CASE("datagov: catalog v4 search, X-Api-Key, its error and throttle shapes", "[marketdata][http]") {
  FixtureServer server;
  server.route("/search", [](const FixtureRequest& req) {
    auto it = req.headers.find("x-api-key");
    if (it == req.headers.end()) {
      return answer(403, R"({"error":{"code":"API_KEY_MISSING","message":"No api_key was supplied."}})");
    }
    if (it->second != kKey) {
      return answer(403, R"({"error":{"code":"API_KEY_INVALID","message":"An invalid api_key was supplied."}})");
    }
    const std::string q = req.param("q");
    if (q == "busy") return answer(429, R"({"error":{"code":"OVER_RATE_LIMIT","message":"You have exceeded your rate limit. Try again later."}})");
    if (q == "bad") return answer(422, R"({"message":"Validation error","detail":{"query":{"per_page":["must be >= 1"]}}})");
    if (q == "down") return answer(500, R"({"error":"Internal Server Error"})");
    if (q == "nothing here") return answer(200, R"({"sort":"relevance","results":[]})");
    return answer(200, R"({"sort":"relevance","after":"WzEwMC4wNiwwLCJiMWEzIl0=","results":[
      {"title":"CPI for All Urban Consumers, 1990-2010","description":"Older series.","identifier":"cpi-old","slug":"cpi-all-urban-1990",
       "publisher":"Bureau of Labor Statistics","keyword":["cpi","prices"],"last_harvested_date":"2025-08-02T21:17:47.154806",
       "organization":{"id":"o1","name":"Department of Labor","slug":"dol","organization_type":"Federal Government"},
       "distribution_titles":["cpi.csv"],
       "dcat":{"@type":"dcat:Dataset","modified":"2019-03-01","issued":"2011-01-05","accrualPeriodicity":"R/P1M",
               "distribution":[{"@type":"dcat:Distribution","title":"cpi.csv","mediaType":"text/csv","downloadURL":"https://www.bls.gov/cpi/cpi.csv"}]}},
      {"title":"Consumer Price Index (CPI) Databases","description":"Monthly CPI.","identifier":"bls-cpi","slug":"consumer-price-index",
       "publisher":"Bureau of Labor Statistics","keyword":["cpi","inflation"],
       "organization":{"name":"Department of Labor","slug":"dol"},
       "dcat":{"modified":"2024-06-12T08:30:00.123456","landingPage":"https://www.bls.gov/cpi/data.htm",
               "distribution":["cpi.csv"]}},
      {"title":"CPI notes","slug":"cpi-notes","dcat":{"modified":"R/P1M"}}]})");
  });
  auto src = source_for("datagov", server);
  CHECK(src->info().types == std::vector<DataType>{DataType::kNews});

  json n = payload(src->fetch("dol:consumer_price_index", DataType::kNews, kNow));
  const FixtureRequest sent = server.requests().back();
  CHECK(sent.path == "/search");
  CHECK(sent.param("q") == "consumer price index");
  CHECK(sent.param("org_slug") == "dol");
  CHECK(sent.param("per_page") == "20");
  CHECK(sent.query.find(kKey) == std::string::npos);  // the key travels in the header only
  CHECK(n["query"] == "consumer price index");
  CHECK(n["organization"] == "dol");
  REQUIRE(n["datasets"].size() == 3);
  const json& newest = n["datasets"][0];
  CHECK(newest["identifier"] == "bls-cpi");  // modified 2024 before 2019; the undated one last
  CHECK(newest["url"] == "https://www.bls.gov/cpi/data.htm");
  CHECK(newest["modified_ns"] == http_format::utc_ns("2024-06-12 08:30:00").value());
  CHECK(newest["organization"] == "Department of Labor");
  CHECK(newest["downloads"].empty());  // bare-string distributions carry no link
  const json& older = n["datasets"][1];
  CHECK(older["url"] == "https://catalog.data.gov/dataset/cpi-all-urban-1990");
  CHECK(older["periodicity"] == "R/P1M");
  REQUIRE(older["downloads"].size() == 1);
  CHECK(older["downloads"][0]["format"] == "text/csv");
  CHECK(older["downloads"][0]["url"] == "https://www.bls.gov/cpi/cpi.csv");
  CHECK(older["keywords"] == json::array({"cpi", "prices"}));
  CHECK(n["datasets"][2]["modified_ns"].is_null());
  CHECK(src->fetch("cpi", DataType::kNews, kNow).data->as_of_ns == http_format::utc_ns("2024-06-12 08:30:00").value());
  CHECK(server.requests().back().param("org_slug").empty());

  CHECK(src->fetch("nothing_here", DataType::kNews, kNow).error == FetchError::kNotFound);
  CHECK(src->fetch("bad", DataType::kNews, kNow).error == FetchError::kProviderError);
  CHECK(src->fetch("down", DataType::kNews, kNow).error == FetchError::kUnavailable);
  CHECK(src->fetch("cpi", DataType::kEconomic, kNow).error == FetchError::kUnsupported);

  // OVER_RATE_LIMIT carries no Retry-After: the block lasts its documented hour.
  FetchResult limited = src->fetch("busy", DataType::kNews, kNow);
  CHECK(limited.error == FetchError::kRateLimited);
  CHECK(limited.retry_after_ns == 3600 * kSecond);
  CHECK_THAT(limited.message, Catch::Contains("OVER_RATE_LIMIT"));
  const std::size_t calls = server.count();
  CHECK(src->fetch("cpi", DataType::kNews, kNow + 3599 * kSecond).error == FetchError::kRateLimited);
  CHECK(server.count() == calls);
  CHECK(src->fetch("cpi", DataType::kNews, kNow + 3600 * kSecond).ok());

  HttpSourceConfig wrong;
  wrong.kind = "datagov";
  wrong.base_url = server.base_url();
  wrong.key = "wrong";
  FetchResult refused = make_http_source(wrong)->fetch("cpi", DataType::kNews, kNow);
  CHECK(refused.error == FetchError::kAuth);
  CHECK_THAT(refused.message, Catch::Contains("API_KEY_INVALID"));
  CHECK(refused.message.find("wrong") == std::string::npos);

  CHECK(check_key_from_env("datagov", "NAUTILUS_DATAGOV_KEY", server, "cpi", DataType::kNews).headers.at("x-api-key") == kKey);
}

}  // namespace nautilus::md
