#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "marketdata/sources/replay_source.h"
#include "marketdata/sources/synthetic_source.h"

using namespace nautilus;
using namespace nautilus::md;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kT0 = 1'700'000'000'000'000'000;

SyntheticConfig feed_config(std::uint64_t seed) {
  SyntheticConfig c;
  c.seed = seed;
  c.start_ns = kT0;
  return c;
}
}  // namespace

TEST_CASE("synthetic: one seed gives an identical feed, in any query order", "[marketdata][synthetic]") {
  SyntheticFeed a(feed_config(42)), b(feed_config(42)), other(feed_config(43));
  // b is asked out of order (later times first) and for another symbol in between.
  auto late_b = b.trades_between("AAPL", kT0 + 300 * kSec, kT0 + 600 * kSec);
  (void)b.quote_at("MSFT", kT0 + 1000 * kSec);
  auto early_b = b.trades_between("AAPL", kT0, kT0 + 300 * kSec);
  auto early_a = a.trades_between("AAPL", kT0, kT0 + 300 * kSec);
  auto late_a = a.trades_between("AAPL", kT0 + 300 * kSec, kT0 + 600 * kSec);
  REQUIRE(early_a.size() > 1000);  // 5 trades/s x 300 s, roughly
  REQUIRE(early_a.size() == early_b.size());
  REQUIRE(late_a.size() == late_b.size());
  for (std::size_t i = 0; i < early_a.size(); ++i) {
    REQUIRE(early_a[i].ts_ns == early_b[i].ts_ns);
    REQUIRE(early_a[i].price == early_b[i].price);
    REQUIRE(early_a[i].size == early_b[i].size);
    REQUIRE(early_a[i].seq == early_b[i].seq);
  }
  for (std::size_t i = 0; i < late_a.size(); ++i) REQUIRE(late_a[i].price == late_b[i].price);
  for (std::int64_t t = kT0; t < kT0 + 600 * kSec; t += 7 * kSec) {
    REQUIRE(a.quote_at("AAPL", t).bid == b.quote_at("AAPL", t).bid);
    auto ba = a.bar_at("AAPL", t), bb = b.bar_at("AAPL", t);
    REQUIRE(ba.close == bb.close);
    REQUIRE(ba.volume == bb.volume);
    REQUIRE(a.book_at("AAPL", t).bids[3].size == b.book_at("AAPL", t).bids[3].size);
  }
  // Another seed is another market.
  auto o = other.trades_between("AAPL", kT0, kT0 + 300 * kSec);
  bool differs = o.size() != early_a.size();
  for (std::size_t i = 0; !differs && i < o.size(); ++i) differs = o[i].price != early_a[i].price;
  CHECK(differs);
}

TEST_CASE("synthetic: trades are ordered, positive, on the tick grid", "[marketdata][synthetic]") {
  SyntheticFeed f(feed_config(1));
  auto trades = f.trades_between("SPY", kT0, kT0 + 3600 * kSec);
  REQUIRE(trades.size() > 10'000);
  for (std::size_t i = 0; i < trades.size(); ++i) {
    REQUIRE(trades[i].price > 0);
    REQUIRE(trades[i].size >= 1);
    REQUIRE(std::abs(trades[i].price * 100 - std::round(trades[i].price * 100)) < 1e-6);
    if (i > 0) {
      REQUIRE(trades[i].ts_ns >= trades[i - 1].ts_ns);
      REQUIRE(trades[i].seq > trades[i - 1].seq);
    }
  }
  auto q = f.quote_at("SPY", kT0 + 1800 * kSec);
  CHECK(q.ask > q.bid);
}

TEST_CASE("synthetic: a crash episode plunges the price by X% over Y s with volume x Z", "[marketdata][synthetic]") {
  SyntheticConfig c = feed_config(5);
  c.volatility = 0.0;  // isolate the scripted move
  c.jumps_per_hour = 0;
  c.start_price = 100.0;
  CrashEpisode crash;
  crash.symbol = "ES";
  crash.start_ns = kT0 + 60 * kSec;
  crash.duration_ns = 30 * kSec;
  crash.plunge = 0.20;
  crash.volume_multiplier = 8.0;
  c.crashes.push_back(crash);
  SyntheticFeed f(c);
  double before = f.price_at("ES", crash.start_ns);
  double after = f.price_at("ES", crash.start_ns + crash.duration_ns);
  CHECK(before == Approx(100.0).margin(0.01));
  CHECK(after == Approx(80.0).margin(0.02));
  CHECK(f.price_at("ES", crash.start_ns + crash.duration_ns / 2) == Approx(100.0 * std::sqrt(0.8)).margin(0.02));
  CHECK(f.price_at("NQ", crash.start_ns + crash.duration_ns) == Approx(f.price_at("NQ", kT0)));  // other symbols calm
  auto normal = f.trades_between("ES", kT0, kT0 + 30 * kSec);
  auto crashing = f.trades_between("ES", crash.start_ns, crash.start_ns + 30 * kSec);
  double ratio = static_cast<double>(crashing.size()) / static_cast<double>(normal.size());
  CHECK(ratio > 6.0);
  CHECK(ratio < 10.0);
  CHECK(crashing.front().in_crash);
  CHECK(f.in_crash("ES", crash.start_ns + kSec));
  // The past cannot be rewritten; the future can.
  CHECK_FALSE(f.add_crash({"ES", kT0, kSec, 0.1, 2.0, 1.0}));
  CHECK(f.add_crash({"ES", kT0 + 7200 * kSec, kSec, 0.1, 2.0, 1.0}));
}

TEST_CASE("synthetic source: serves market types as JSON, refuses others", "[marketdata][synthetic]") {
  SyntheticSourceConfig c;
  c.feed = feed_config(3);
  SyntheticSource src(c);
  for (auto t : {DataType::kTick, DataType::kQuote, DataType::kTrade, DataType::kBar, DataType::kLevel2}) {
    auto r = src.fetch("AAPL", t, kT0 + 120 * kSec);
    REQUIRE(r.ok());
    CHECK(r.data->type == t);
    CHECK(r.data->source == "synthetic");
    auto j = nlohmann::json::parse(r.data->payload);
    CHECK(j.is_object());
  }
  auto q = nlohmann::json::parse(src.fetch("AAPL", DataType::kQuote, kT0 + 5 * kSec).data->payload);
  CHECK(q["ask"].get<double>() > q["bid"].get<double>());
  CHECK(src.fetch("AAPL", DataType::kNews, kT0).error == FetchError::kUnsupported);
  CHECK(src.fetch("bad symbol", DataType::kQuote, kT0).error == FetchError::kNotFound);
}

namespace {
const char* kTradesCsv =
    "timestamp_ns,symbol,price,size,side\n"
    "1700000000000000000,AAPL,189.50,100,B\n"
    "1700000000250000000,MSFT,402.10,50,S\n"
    "1700000000250000000,AAPL,189.52,200,B\n"
    "1700000001000000000,AAPL,189.49,10,S\n"
    "1700000003500000000,MSFT,402.00,75,B\n"
    "1700000010000000000,AAPL,189.70,300,B\n";
}

TEST_CASE("replay: playing a CSV back reproduces its rows exactly, in order", "[marketdata][replay]") {
  for (double speed : {1.0, 10.0}) {
    ReplayTable table;
    REQUIRE(ReplayTable::parse(kTradesCsv, table).is_ok());
    REQUIRE(table.kind == ReplayKind::kTrades);
    REQUIRE(table.rows.size() == 6);
    SimulatedClock clock(5'000'000'000);
    ReplayConfig cfg;
    cfg.speed = speed;
    cfg.start_ns = clock.now_ns();
    ReplaySource src(cfg, std::move(table));
    ReplayTable played;
    played.header = src.table().header;
    std::vector<std::int64_t> due_at;
    // Step the clock in 50 ms; each row must come out exactly when its
    // recorded offset (divided by the speed) has passed.
    while (!src.finished()) {
      for (const ReplayRow* row : src.advance(clock.now_ns())) {
        played.rows.push_back(*row);
        due_at.push_back(clock.now_ns() - cfg.start_ns);
      }
      clock.advance_by(50'000'000);
    }
    INFO("speed " << speed);
    CHECK(played.to_csv() == kTradesCsv);
    const std::int64_t first = played.rows.front().ts_ns;
    for (std::size_t i = 0; i < played.rows.size(); ++i) {
      auto offset = static_cast<std::int64_t>(static_cast<double>(played.rows[i].ts_ns - first) / speed);
      CHECK(due_at[i] >= offset);
      CHECK(due_at[i] < offset + 50'000'000);
    }
  }
}

TEST_CASE("replay: fetch answers the latest row at the replay time", "[marketdata][replay]") {
  ReplayTable table;
  REQUIRE(ReplayTable::parse(kTradesCsv, table).is_ok());
  ReplayConfig cfg;
  cfg.start_ns = 1000;
  ReplaySource src(cfg, std::move(table));
  CHECK(src.fetch("AAPL", DataType::kQuote, 1000).error == FetchError::kUnsupported);
  auto r0 = src.fetch("AAPL", DataType::kTrade, 1000);
  REQUIRE(r0.ok());
  CHECK(nlohmann::json::parse(r0.data->payload)["price"] == 189.50);
  auto r1 = src.fetch("AAPL", DataType::kTrade, 1000 + 300'000'000);
  CHECK(nlohmann::json::parse(r1.data->payload)["price"] == 189.52);
  CHECK(nlohmann::json::parse(r1.data->payload)["side"] == "B");
  auto tick = src.fetch("AAPL", DataType::kTick, 1000 + 20 * kSec);
  CHECK(nlohmann::json::parse(tick.data->payload)["price"] == 189.70);
  CHECK(src.fetch("MSFT", DataType::kTrade, 1000).error == FetchError::kNotFound);  // not yet
  CHECK(src.fetch("TSLA", DataType::kTrade, 1000 + 20 * kSec).error == FetchError::kNotFound);
}

TEST_CASE("replay: quotes and bars files, ISO and ms timestamps", "[marketdata][replay]") {
  ReplayTable q;
  REQUIRE(ReplayTable::parse("timestamp,symbol,bid,ask,bid_size,ask_size\n"
                             "2024-03-01T14:30:00.250Z,SPY,510.10,510.12,300,200\n",
                             q)
              .is_ok());
  CHECK(q.kind == ReplayKind::kQuotes);
  CHECK(q.rows[0].ts_ns == 1709303400250000000);
  ReplayTable b;
  REQUIRE(ReplayTable::parse("timestamp_ms,symbol,open,high,low,close,volume\r\n"
                             "1709303400000,SPY,510,511,509.5,510.5,120000\r\n",
                             b)
              .is_ok());
  CHECK(b.kind == ReplayKind::kBars);
  CHECK(b.rows[0].ts_ns == 1709303400000000000);
}

TEST_CASE("replay: malformed CSV is refused with the line, never half-loaded", "[marketdata][replay]") {
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {"", "no header"},
      {"when,symbol,price\n1,A,2\n", "unknown time column"},
      {"timestamp_ns,symbol,foo\n1,A,2\n", "cannot tell"},
      {"timestamp_ns,symbol,price,size\n1,A,2\n", "line 2: expected 4 fields"},
      {"timestamp_ns,symbol,price,size\nabc,A,2,3\n", "bad time"},
      {"timestamp_ns,symbol,price,size\n1,A,x,3\n", "bad number"},
      {"timestamp_ns,symbol,price,size\n1,A,2,3\n2,B C,2,3\n", "line 3: bad symbol"},
      {"timestamp_ns,symbol,price,size\n5,A,2,3\n4,A,2,3\n", "line 3: time goes backwards"},
      {"timestamp,symbol,price,size\n2024-13-01T00:00:00Z,A,2,3\n", "bad time"},
      {"timestamp_ns,symbol,price,size\n1,A,nan,3\n", "bad number"},
  };
  for (const auto& c : cases) {
    ReplayTable t;
    t.header = "untouched";
    Status s = ReplayTable::parse(c.text, t);
    INFO(c.text);
    CHECK_FALSE(s.is_ok());
    CHECK_THAT(s.message(), Catch::Contains(c.needle));
    CHECK(t.header == "untouched");
  }
  ReplayTable t;
  CHECK(ReplayTable::load("/nonexistent/file.csv", t).code() == StatusCode::kNotFound);
}
