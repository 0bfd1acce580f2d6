// What every history store backend must do, as checks a backend's test runs
// against a fresh store: round trips of every message type, queries by time
// range, topic pattern, bus and symbol, limits and order.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "core/topic_pattern.h"
#include "store/store.h"

namespace nautilus::store::test {

inline constexpr std::int64_t kT0 = 1'764'547'200'000'000'000;  // 2025-12-01T00:00:00Z
inline constexpr std::int64_t kSecond = 1'000'000'000;

// A record as the recorder would make it from a message of type `t`.
inline Record sample_record(MessageType t, std::int64_t ts_ns, int n) {
  Message m;
  m.type = t;
  m.priority = static_cast<Priority>(n % static_cast<int>(kPriorityCount));
  m.timestamp_ns = ts_ns;
  m.id = MessageId{static_cast<std::uint64_t>(ts_ns), 7};
  m.source = "engine-" + std::to_string(n % 3);
  std::string type_name(to_string(t));
  m.topic = bus_of(t) == BusKind::kMarketData ? "marketdata.real_time." + type_name + ".SYM" + std::to_string(n % 4)
                                              : "test." + type_name + ".n" + std::to_string(n);
  if (n % 2) {
    m.origin_ns = ts_ns - 1000;
    m.correlation_id = "corr-" + std::to_string(n);
  }
  // Characters COPY and SQL must carry through unchanged: tab, newline, backslash, quote, UTF-8.
  m.payload = "{\"n\":" + std::to_string(n) + ",\"text\":\"tab\\there\\nline\\\\ 'q' \\\"dq\\\" caf\u00e9\"}";
  return to_record(m);
}

// One record of every message type, a second apart.
inline std::vector<Record> every_type(std::int64_t t0 = kT0) {
  std::vector<Record> out;
  int n = 0;
  for (MessageType t : all_message_types()) out.push_back(sample_record(t, t0 + n * kSecond, n)), ++n;
  return out;
}

inline void check_round_trip(Store& s) {
  auto written = every_type();
  REQUIRE(s.write(written).is_ok());
  auto read = s.events({});
  REQUIRE(read.size() == written.size());
  for (std::size_t i = 0; i < written.size(); ++i) {
    INFO("type " << to_string(written[i].type));
    CHECK(read[i] == written[i]);
  }
  // Market data records are found by symbol and type as well.
  for (const Record& r : written) {
    if (r.bus != BusKind::kMarketData) continue;
    MarketQuery q;
    q.symbol = r.symbol;
    q.type = r.type;
    auto got = s.market(q);
    REQUIRE(got.size() == 1);
    CHECK(got[0] == r);
  }
  CHECK(s.write({}).is_ok());  // an empty batch is no transaction and no error
}

// Reference for the query checks: the same filter over the written rows, in C++.
inline std::vector<Record> expected(const std::vector<Record>& all, const EventQuery& q) {
  std::vector<Record> out;
  for (const auto& r : all) {
    if (r.ts_ns >= q.from_ns && r.ts_ns < q.to_ns && glob_match(q.topic_pattern, r.topic) && (!q.bus || *q.bus == r.bus)) {
      out.push_back(r);
    }
  }
  if (out.size() > q.limit) {
    if (q.newest_first) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(q.limit));
    else out.resize(q.limit);
  }
  return out;
}

inline void check_queries(Store& s) {
  // 3 hours of records, one per 10 s, on topics of several families.
  std::vector<Record> all;
  const char* topics[] = {"risk.alert.var", "risk.state", "risk.decision.o1", "portfolio.fill.AAPL",
                          "marketdata.real_time.bar.AAPL", "marketdata.real_time.bar.MSFT", "vpin.alert.AAPL",
                          "risk_x.other", "engine.status.risk"};
  for (int i = 0; i < 1080; ++i) {
    Record r = sample_record(MessageType::kRiskAlert, kT0 + i * 10 * kSecond, i);
    r.topic = topics[i % 9];
    r.bus = r.topic.starts_with("marketdata.") ? BusKind::kMarketData : BusKind::kEngine;
    r.type = r.bus == BusKind::kMarketData ? MessageType::kBar : MessageType::kRiskAlert;
    r.symbol = std::string(symbol_of_topic(r.topic));
    all.push_back(r);
  }
  // In several batches, as the recorder writes.
  for (std::size_t i = 0; i < all.size(); i += 100) {
    std::vector<Record> batch(all.begin() + static_cast<std::ptrdiff_t>(i),
                              all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), i + 100)));
    REQUIRE(s.write(batch).is_ok());
  }
  struct Case {
    const char* name;
    EventQuery q;
  };
  auto q = [](std::int64_t from, std::int64_t to, std::string pattern, std::size_t limit = 100000,
              std::optional<BusKind> bus = std::nullopt, bool newest = false) {
    EventQuery e;
    e.from_ns = from;
    e.to_ns = to;
    e.topic_pattern = std::move(pattern);
    e.limit = limit;
    e.bus = bus;
    e.newest_first = newest;
    return e;
  };
  const std::int64_t h = 3600 * kSecond;
  std::vector<Case> cases = {
      {"everything", q(0, INT64_MAX, "*")},
      {"risk.* (not risk_x)", q(0, INT64_MAX, "risk.*")},
      {"exact topic", q(0, INT64_MAX, "risk.state")},
      {"? matches one character", q(0, INT64_MAX, "risk.stat?")},
      {"suffix glob", q(0, INT64_MAX, "*.AAPL")},
      {"second hour", q(kT0 + h, kT0 + 2 * h, "*")},
      {"second hour, risk", q(kT0 + h, kT0 + 2 * h, "risk.*")},
      {"to is exclusive", q(kT0, kT0 + 10 * kSecond, "*")},
      {"limit, oldest first", q(0, INT64_MAX, "risk.*", 7)},
      {"limit, newest", q(0, INT64_MAX, "risk.*", 7, std::nullopt, true)},
      {"marketdata bus only", q(0, INT64_MAX, "*", 100000, BusKind::kMarketData)},
      {"no match", q(0, INT64_MAX, "nothing.*")},
      {"underscore is literal", q(0, INT64_MAX, "risk_*")},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto want = expected(all, c.q);
    auto got = s.events(c.q);
    REQUIRE(got.size() == want.size());
    CHECK(got == want);
  }
  MarketQuery mq;
  mq.symbol = "MSFT";
  mq.type = MessageType::kBar;
  mq.from_ns = kT0 + h;
  mq.to_ns = kT0 + 2 * h;
  auto bars = s.market(mq);
  CHECK(bars.size() == 40);  // one in 9 of 360 records in that hour
  CHECK(std::all_of(bars.begin(), bars.end(), [](const Record& r) { return r.topic == "marketdata.real_time.bar.MSFT"; }));
  mq.type = MessageType::kTrade;
  CHECK(s.market(mq).empty());
}

}  // namespace nautilus::store::test
