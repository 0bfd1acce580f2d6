// Against a real PostgreSQL 15 the test starts itself (tests/support/postgres_server.h).
#include <catch2/catch.hpp>

#include "bus/router.h"
#include "store/postgres_store.h"
#include "store/recorder.h"
#include "store_contract.h"
#include "support/postgres_server.h"
#include "support/skip.h"

using namespace nautilus;
using namespace nautilus::store;
using namespace nautilus::store::test;
using nautilus::test::PostgresServer;

namespace {

constexpr std::int64_t kDay = 86'400 * kSecond;

bool have_postgres() {
  if (PostgresServer::available()) return true;
  nautilus::test::skip_test("PostgreSQL 15 is not installed (scripts/install-deps.sh installs postgresql-15)");
  return false;
}

}  // namespace

TEST_CASE("postgres store: round trips, queries, schema, partitions by day, retention", "[store][postgres]") {
  if (!have_postgres()) return;
  PostgresServer pg;

  SECTION("every message type round-trips") {
    PostgresStore s(pg.create_database("roundtrip"));
    check_round_trip(s);
    CHECK(s.schema_version() == latest_schema_version());
  }
  SECTION("queries by time range, topic pattern, bus and symbol") {
    PostgresStore s(pg.create_database("queries"));
    check_queries(s);
  }
  SECTION("an old schema is migrated, rows kept") {
    std::string url = pg.create_database("migrate");
    {
      PostgresStore v1(url, 1);
      CHECK(v1.schema_version() == 1);
      REQUIRE(v1.write(every_type()).is_ok());
    }
    CHECK(pg.psql("migrate", "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'records_symbol'") == "0");
    PostgresStore latest(url);
    CHECK(latest.schema_version() == latest_schema_version());
    CHECK(pg.psql("migrate", "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'records_symbol'") == "1");
    CHECK(latest.events({}).size() == kMessageTypeCount);
  }
  SECTION("a batch across midnight lands in two day partitions, the next one made ahead") {
    PostgresStore s(pg.create_database("midnight"));
    const std::int64_t midnight = kT0 + kDay;  // 2025-12-02T00:00:00Z
    std::vector<Record> batch;
    for (int i = -5; i < 5; ++i) batch.push_back(sample_record(MessageType::kBar, midnight + i * kSecond, i + 5));
    REQUIRE(s.write(batch).is_ok());
    CHECK(s.partitions() == std::vector<std::string>{"records_20251201", "records_20251202", "records_20251203"});
    CHECK(pg.psql("midnight", "SELECT COUNT(*) FROM records_20251201") == "5");
    CHECK(pg.psql("midnight", "SELECT COUNT(*) FROM records_20251202") == "5");
    CHECK(pg.psql("midnight", "SELECT COUNT(*) FROM records_20251203") == "0");
    CHECK(s.events({}).size() == 10);
    auto info = s.info();
    CHECK(info.rows == 10);
    CHECK(info.notes.find("timescaledb") != std::string::npos);
  }
  SECTION("retention drops whole partitions older than the kept days") {
    PostgresStore s(pg.create_database("retention"));
    std::vector<Record> rows;
    for (int day = 0; day < 5; ++day) rows.push_back(sample_record(MessageType::kFill, kT0 + day * kDay + 3600 * kSecond, day));
    REQUIRE(s.write(rows).is_ok());
    REQUIRE(s.partitions().size() == 6);  // days 0..4 and day 5 ahead
    // Now in day 4, keep 2 days: partitions of days 0, 1, 2 go.
    CHECK(s.apply_retention(kT0 + 4 * kDay + 7200 * kSecond, 2) == 3);
    CHECK(s.partitions() == std::vector<std::string>{"records_20251204", "records_20251205", "records_20251206"});
    auto left = s.events({});
    REQUIRE(left.size() == 2);
    CHECK(left.front().ts_ns == kT0 + 3 * kDay + 3600 * kSecond);
    // Writing into a dropped day recreates its partition.
    REQUIRE(s.write(std::vector<Record>{rows.front()}).is_ok());
    CHECK(s.events({}).size() == 3);
  }
  SECTION("a server that refuses is one clear error naming it (no password)") {
    std::string url = "postgresql://postgres:secret@127.0.0.1:" + std::to_string(pg.port()) + "/no_such_db";
    try {
      PostgresStore s(url);
      FAIL("connected to a database that does not exist");
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      CHECK(what.find("store: postgresql://postgres:***@127.0.0.1:") == 0);
      CHECK(what.find("secret") == std::string::npos);
      CHECK(what.find("no_such_db") != std::string::npos);
      CHECK(what.find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("postgres store: the recorder survives a server restart mid-flood and counts its drops", "[store][postgres][recorder]") {
  if (!have_postgres()) return;
  PostgresServer pg;
  std::string url = pg.create_database("outage");
  PostgresStore s(url);
  auto router = Router::from_urls("inproc://", "inproc://");
  RecorderConfig cfg;
  cfg.topics = {{BusKind::kEngine, "flood.*"}};
  cfg.batch_size = 200;
  cfg.queue_capacity = 3000;
  cfg.flush_interval = std::chrono::milliseconds(20);
  cfg.retry_interval = std::chrono::milliseconds(50);
  std::vector<std::string> lines;
  std::mutex lines_mu;
  Recorder rec(s, cfg, [&](std::string_view level, const std::string& line) {
    std::lock_guard lock(lines_mu);
    lines.push_back(std::string(level) + " " + line);
  });
  rec.start(*router);
  int seq = 0;
  auto flood = [&](int n) {
    for (int i = 0; i < n; ++i, ++seq) {
      // One in four is high priority: those are what an outage must keep.
      Priority p = seq % 4 == 0 ? Priority::kHigh : Priority::kLow;
      REQUIRE(router->publish(BusKind::kEngine, make_message("flood.n", MessageType::kSystemHealth,
                                                              "{\"seq\":" + std::to_string(seq) + "}", p))
                  .is_ok());
    }
  };
  flood(2000);
  REQUIRE(router->drain(std::chrono::seconds(10)));
  REQUIRE(rec.flush(std::chrono::seconds(30)));
  CHECK(rec.stats().written == 2000);

  pg.stop();
  flood(10'000);  // more than the queue holds: the lows go first
  REQUIRE(router->drain(std::chrono::seconds(10)));  // the bus never waited on the store
  REQUIRE(nautilus::test::eventually([&] { return rec.stats().failing; }));
  auto during = rec.stats();
  CHECK(during.outages == 1);
  CHECK(during.dropped[lane_of(Priority::kLow)] > 0);
  CHECK(during.dropped[lane_of(Priority::kHigh)] == 0);

  pg.start();
  REQUIRE(rec.flush(std::chrono::seconds(60)));
  auto after = rec.stats();
  CHECK_FALSE(after.failing);
  CHECK(after.received == 12'000);
  CHECK(after.written + after.dropped_total == 12'000);
  CHECK(after.dropped_total >= 10'000 - 3000 - 200);  // at most the queue and one batch were kept
  // Every high-priority message of the flood is in the database.
  CHECK(pg.psql("outage", "SELECT COUNT(*) FROM records WHERE priority = 2") == "3000");
  CHECK(pg.psql("outage", "SELECT COUNT(*) FROM records") == std::to_string(after.written));
  rec.stop();
  std::lock_guard lock(lines_mu);
  bool logged_outage = false, logged_back = false;
  for (const auto& l : lines) {
    if (l.starts_with("error recorder: writing to the history store failed")) logged_outage = true;
    if (l.starts_with("info recorder: history store is back")) logged_back = true;
  }
  CHECK(logged_outage);
  CHECK(logged_back);
}
