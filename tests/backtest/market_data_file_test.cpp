// The backtest's CSV loader: the kinds and their columns, bars delivered at
// their close, the stable merge of several files, and every bad input refused
// with the file and line.
#include <catch2/catch.hpp>

#include "backtest/market_data_file.h"
#include "backtest_test_support.h"

using namespace nautilus;
using namespace nautilus::backtest;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

std::string error_of(const std::string& text) {
  try {
    parse_data_csv(text, "f.csv", {});
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("backtest data: bars are delivered at their close with the hub's payload", "[backtest][data]") {
  auto ev = parse_data_csv("ts_ns,symbol,open,high,low,close,volume\n"
                           "60000000000,AAPL,10,11,9,10.5,100\n",
                           "b.csv", {});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == DataKind::kBars);
  CHECK(ev[0].ts_ns == 60 * kSec);
  CHECK(ev[0].at_ns == 120 * kSec);  // the default 1m interval: closes a minute later
  CHECK(ev[0].topic == "marketdata.real_time.bar.AAPL");
  auto j = nlohmann::json::parse(ev[0].payload);
  CHECK(j["start_ns"] == 60 * kSec);
  CHECK(j["interval_ns"] == 60 * kSec);
  CHECK(j["closed"] == true);
  CHECK(j["open"] == 10.0);
  CHECK(j["volume"] == 100.0);

  auto five = parse_data_csv("time,symbol,open,high,low,close,volume,interval\n"
                             "2026-12-01T10:00:00Z,MSFT,1,1,1,1,0,5m\n",
                             "b.csv", {});
  CHECK(five[0].at_ns - five[0].ts_ns == 300 * kSec);
}

TEST_CASE("backtest data: trades and quotes at their own time", "[backtest][data]") {
  auto t = parse_data_csv("ts_ms,symbol,price,size,side\n1000,AAPL,10,5,buy\n", "t.csv", {});
  CHECK(t[0].kind == DataKind::kTrades);
  CHECK(t[0].at_ns == kSec);
  CHECK(nlohmann::json::parse(t[0].payload)["side"] == "buy");
  auto q = parse_data_csv("ts_ns,symbol,bid,ask\n5,AAPL,9.9,10.1\n", "q.csv", {});
  CHECK(q[0].kind == DataKind::kQuotes);
  CHECK(q[0].topic == "marketdata.real_time.quote.AAPL");
}

TEST_CASE("backtest data: several files merge by time, stable for equal stamps", "[backtest][data]") {
  test::TempDir dir;
  const auto a = dir.write("a.csv", "ts_ns,symbol,price,size\n10,AAA,1,1\n20,AAA,2,1\n20,AAA,3,1\n");
  const auto b = dir.write("b.csv", "ts_ns,symbol,price,size\n5,BBB,4,1\n20,BBB,5,1\n30,BBB,6,1\n");
  std::vector<DataFile> files;
  auto ev = load_data_files({a, b}, {}, &files);
  std::vector<std::string> order;
  for (const auto& e : ev) order.push_back(e.symbol + std::to_string(static_cast<int>(nlohmann::json::parse(e.payload)["price"].get<double>())));
  // At 20: a's rows first (argument order), in file order; then b's.
  CHECK(order == std::vector<std::string>{"BBB4", "AAA1", "AAA2", "AAA3", "BBB5", "BBB6"});
  REQUIRE(files.size() == 2);
  CHECK(files[1].rows == 3);
}

TEST_CASE("backtest data: bad input is refused with the line and the reason", "[backtest][data]") {
  struct Case {
    const char* what;
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"bad number", "ts_ns,symbol,price,size\n1,A,10,1\n2,A,ten,1\n", "f.csv:3: bad number 'ten' in column 'price'"},
      {"unsorted", "ts_ns,symbol,price,size\n5,A,10,1\n4,A,10,1\n", "f.csv:3: rows out of time order"},
      {"unknown column", "ts_ns,symbol,price,size,venue\n", "f.csv:1: unknown column 'venue' for trades"},
      {"empty file", "", "f.csv:1: empty file"},
      {"header only", "ts_ns,symbol,price,size\n", "no data rows after the header"},
      {"missing column", "ts_ns,symbol,open,high,low,close\n", "f.csv:1: missing column 'volume' for bars"},
      {"field count", "ts_ns,symbol,bid,ask\n1,A,1\n", "f.csv:2: expected 4 fields, got 3"},
      {"crossed quote", "ts_ns,symbol,bid,ask\n1,A,2,1\n", "f.csv:2: bid above ask"},
      {"bar range", "ts_ns,symbol,open,high,low,close,volume\n1,A,5,4,3,4,1\n", "f.csv:2: open and close must lie in [low, high]"},
      {"bad time", "time,symbol,price,size\nyesterday,A,1,1\n", "f.csv:2: bad time 'yesterday'"},
      {"bad time column", "when,symbol,price,size\n", "f.csv:1: unknown time column 'when'"},
      {"negative price", "ts_ns,symbol,price,size\n1,A,-1,1\n", "f.csv:2: column 'price' must be > 0"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK_THAT(error_of(c.text), Catch::Contains(c.expected));
  }
}
