#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <sqlite3.h>

#include "store/schema.h"
#include "store/sqlite_store.h"
#include "store_contract.h"
#include "support/daemon_process.h"

using namespace nautilus;
using namespace nautilus::store;
using namespace nautilus::store::test;

namespace {

struct TempDir {
  std::string path = nautilus::test::make_temp_dir();
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string sqlite_scalar(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

}  // namespace

TEST_CASE("sqlite store: every message type round-trips", "[store][sqlite]") {
  TempDir d;
  SqliteStore s(d.path + "/h.db");
  check_round_trip(s);
}

TEST_CASE("sqlite store: queries by time range, topic pattern, bus and symbol", "[store][sqlite]") {
  TempDir d;
  SqliteStore s(d.path + "/h.db");
  check_queries(s);
}

TEST_CASE("sqlite store: rows survive reopening; WAL mode", "[store][sqlite]") {
  TempDir d;
  {
    SqliteStore s(d.path + "/h.db");
    REQUIRE(s.write(every_type()).is_ok());
  }
  SqliteStore s(d.path + "/h.db");
  CHECK(s.events({}).size() == kMessageTypeCount);
  CHECK(s.info().rows == kMessageTypeCount);
  CHECK(sqlite_scalar(d.path + "/h.db", "PRAGMA journal_mode") == "wal");
}

TEST_CASE("sqlite store: an old schema is migrated to the latest version", "[store][sqlite]") {
  TempDir d;
  const std::string db = d.path + "/h.db";
  {
    SqliteStore v1(db, /*up_to_version=*/1);
    CHECK(v1.schema_version() == 1);
    REQUIRE(v1.write(every_type()).is_ok());
  }
  CHECK(sqlite_scalar(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'records_symbol'") == "0");
  SqliteStore latest(db);
  CHECK(latest.schema_version() == latest_schema_version());
  CHECK(sqlite_scalar(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'records_symbol'") == "1");
  CHECK(sqlite_scalar(db, "SELECT COUNT(*) FROM schema_version") == std::to_string(migrations().size()));
  CHECK(latest.events({}).size() == kMessageTypeCount);  // rows kept across the migration
}

TEST_CASE("sqlite store: a newer schema than this build is refused", "[store][sqlite]") {
  TempDir d;
  const std::string db = d.path + "/h.db";
  { SqliteStore s(db); }
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  REQUIRE(sqlite3_exec(h, "INSERT INTO schema_version VALUES (999, 'future', 0)", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(h);
  CHECK_THROWS_WITH(SqliteStore(db), Catch::Contains(db) && Catch::Contains("schema version 999"));
}

TEST_CASE("sqlite store: a corrupt file is one clear error naming the path", "[store][sqlite]") {
  TempDir d;
  const std::string db = d.path + "/h.db";
  std::ofstream(db) << std::string(8192, 'x');
  try {
    SqliteStore s(db);
    FAIL("opened a corrupt file");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    CHECK(what.find("store: " + db + ": ") == 0);
    CHECK(what.find("not a database") != std::string::npos);
    CHECK(what.find('\n') == std::string::npos);
  }
}

TEST_CASE("sqlite store: an unwritable directory is one clear error naming the path", "[store][sqlite]") {
  if (::geteuid() == 0) {
    // root writes anywhere; a path under a regular file cannot be created by anyone.
    TempDir d;
    std::ofstream(d.path + "/file") << "x";
    CHECK_THROWS_WITH(SqliteStore(d.path + "/file/h.db"), Catch::StartsWith("store: " + d.path + "/file/h.db: cannot open"));
    return;
  }
  TempDir d;
  ::chmod(d.path.c_str(), 0500);
  CHECK_THROWS_WITH(SqliteStore(d.path + "/h.db"), Catch::StartsWith("store: " + d.path + "/h.db"));
  ::chmod(d.path.c_str(), 0700);
}

TEST_CASE("sqlite store: retention removes whole days before the kept ones", "[store][sqlite]") {
  TempDir d;
  SqliteStore s(d.path + "/h.db");
  constexpr std::int64_t kDay = 86'400 * kSecond;
  std::vector<Record> rows;
  for (int day = 0; day < 5; ++day) {
    for (int i = 0; i < 10; ++i) rows.push_back(sample_record(MessageType::kFill, kT0 + day * kDay + i * 3600 * kSecond, i));
  }
  REQUIRE(s.write(rows).is_ok());
  // "Now" is in day 4; keep 2 days: days 3 and 4.
  CHECK(s.apply_retention(kT0 + 4 * kDay + 100 * kSecond, 2) == 30);
  auto left = s.events({});
  REQUIRE(left.size() == 20);
  CHECK(left.front().ts_ns == kT0 + 3 * kDay);
  CHECK(s.apply_retention(kT0 + 4 * kDay, 2) == 0);
}

TEST_CASE("sqlite store: a full disk fails the batch whole, names the path, and the store recovers", "[store][sqlite]") {
  TempDir d;
  const std::string db = d.path + "/h.db";
  SqliteStore s(db);
  REQUIRE(s.write(every_type()).is_ok());
  std::vector<Record> big;
  for (int i = 0; i < 20000; ++i) big.push_back(sample_record(MessageType::kTrade, kT0 + 1000 * kSecond + i, i));
  // A file size limit makes the next write fail as a full disk does (EFBIG
  // instead of ENOSPC) without filling the machine's disk.
  struct rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = static_cast<rlim_t>(std::filesystem::file_size(db) + 64 * 1024);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  Status st = s.write(big);
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  REQUIRE_FALSE(st.is_ok());
  CHECK(st.message().find("sqlite:" + db) == 0);
  CHECK(st.message().find('\n') == std::string::npos);
  CHECK(s.events({}).size() == kMessageTypeCount);  // nothing of the failed batch
  REQUIRE(s.write(big).is_ok());                     // room again: the same store goes on
  CHECK(s.info().rows == kMessageTypeCount + big.size());
}
