#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "core/clock.h"

namespace nautilus::store {
namespace {

constexpr std::int64_t kDayNs = 86'400'000'000'000;

const char* kInsertSql =
    "INSERT INTO records (ts_ns, topic, bus, type, priority, source, origin_ns, correlation_id, id, symbol, payload) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
const char* kColumns = "ts_ns, topic, bus, type, priority, source, origin_ns, correlation_id, id, symbol, payload";

// core/topic_pattern.h globs (* and ?) as SQLite GLOB, whose '[' starts a class.
std::string to_sqlite_glob(std::string_view pattern) {
  std::string out;
  for (char c : pattern) {
    if (c == '[') out += "[[]";
    else out += c;
  }
  return out;
}

std::string column_text(sqlite3_stmt* st, int col) {
  const unsigned char* p = sqlite3_column_text(st, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st, col)))
           : std::string();
}

void bind_text(sqlite3_stmt* st, int index, std::string_view text) {
  sqlite3_bind_text(st, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

Record read_row(sqlite3_stmt* st) {
  Record r;
  r.ts_ns = sqlite3_column_int64(st, 0);
  r.topic = column_text(st, 1);
  r.bus = parse_bus_kind(column_text(st, 2)).value_or(BusKind::kEngine);
  r.type = parse_message_type(column_text(st, 3)).value_or(MessageType::kSystemHealth);
  r.priority = static_cast<Priority>(sqlite3_column_int(st, 4));
  r.source = column_text(st, 5);
  r.origin_ns = sqlite3_column_int64(st, 6);
  r.correlation_id = column_text(st, 7);
  r.id = column_text(st, 8);
  r.symbol = column_text(st, 9);
  r.payload = column_text(st, 10);
  return r;
}

}  // namespace

SqliteStore::SqliteStore(std::string path, int up_to_version) : path_(std::move(path)), describe_("sqlite:" + path_) {
  int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("store: " + path_ + ": cannot open: " + why);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    // The first statement reads the header: a corrupt or foreign file fails here.
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    // Index pages of a day's rows stay in memory across batches (64 MiB).
    exec("PRAGMA cache_size=-65536");
    migrate(up_to_version);
    if (sqlite3_prepare_v2(db_, kInsertSql, -1, &insert_, nullptr) != SQLITE_OK) fail("prepare insert");
  } catch (...) {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteStore::~SqliteStore() {
  sqlite3_finalize(insert_);
  sqlite3_close(db_);
}

void SqliteStore::fail(const std::string& what) {
  throw std::runtime_error("store: " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void SqliteStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw std::runtime_error("store: " + path_ + ": " + why);
  }
}

int SqliteStore::schema_version() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* st = nullptr;
  int v = 0;
  if (sqlite3_prepare_v2(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_version", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    v = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  return v;
}

void SqliteStore::migrate(int up_to_version) {
  exec(std::string(schema_version_table_sql(Dialect::kSqlite)));
  int current = 0;
  {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_version", -1, &st, nullptr) != SQLITE_OK) {
      fail("read schema_version");
    }
    if (sqlite3_step(st) == SQLITE_ROW) current = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
  }
  if (current > latest_schema_version()) {
    throw std::runtime_error("store: " + path_ + ": schema version " + std::to_string(current) +
                             " is newer than this nautilusd understands (" + std::to_string(latest_schema_version()) +
                             ")");
  }
  for (const Migration& m : migrations()) {
    if (m.version <= current || m.version > up_to_version) continue;
    exec("BEGIN IMMEDIATE");
    try {
      exec(std::string(m.sqlite_sql));
      exec("INSERT INTO schema_version (version, description, applied_ns) VALUES (" + std::to_string(m.version) +
           ", '" + std::string(m.description) + "', " + std::to_string(wall_now_ns()) + ")");
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

Status SqliteStore::write(std::span<const Record> batch) {
  if (batch.empty()) return Status::ok();
  std::lock_guard lock(mu_);
  auto error = [&](const char* what) {
    std::string msg = describe_ + ": " + what + ": " + sqlite3_errmsg(db_);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return Status(StatusCode::kUnavailable, std::move(msg));
  };
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return error("begin");
  for (const Record& r : batch) {
    sqlite3_reset(insert_);
    sqlite3_bind_int64(insert_, 1, r.ts_ns);
    bind_text(insert_, 2, r.topic);
    bind_text(insert_, 3, to_string(r.bus));
    bind_text(insert_, 4, to_string(r.type));
    sqlite3_bind_int(insert_, 5, static_cast<int>(r.priority));
    bind_text(insert_, 6, r.source);
    sqlite3_bind_int64(insert_, 7, r.origin_ns);
    bind_text(insert_, 8, r.correlation_id);
    bind_text(insert_, 9, r.id);
    bind_text(insert_, 10, r.symbol);
    bind_text(insert_, 11, r.payload);
    if (sqlite3_step(insert_) != SQLITE_DONE) {
      sqlite3_reset(insert_);
      return error("insert");
    }
  }
  sqlite3_reset(insert_);
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return error("commit");
  return Status::ok();
}

std::vector<Record> SqliteStore::select(const std::string& where_sql, const std::function<void(sqlite3_stmt*)>& bind,
                                        std::size_t limit, bool newest_first) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM records WHERE " + where_sql + " ORDER BY ts_ns " +
                    (newest_first ? "DESC" : "ASC") + ", rowid " + (newest_first ? "DESC" : "ASC") + " LIMIT " +
                    std::to_string(limit);
  std::lock_guard lock(mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) fail("query");
  bind(st);
  std::vector<Record> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) out.push_back(read_row(st));
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) fail("query");
  if (newest_first) std::reverse(out.begin(), out.end());
  return out;
}

std::vector<Record> SqliteStore::events(const EventQuery& q) {
  std::string where = "ts_ns >= ?1 AND ts_ns < ?2";
  if (q.topic_pattern != "*") where += " AND topic GLOB ?3";
  if (q.bus) where += " AND bus = ?4";
  std::string glob = to_sqlite_glob(q.topic_pattern);
  return select(
      where,
      [&](sqlite3_stmt* st) {
        sqlite3_bind_int64(st, 1, q.from_ns);
        sqlite3_bind_int64(st, 2, q.to_ns);
        if (q.topic_pattern != "*") bind_text(st, 3, glob);
        if (q.bus) bind_text(st, 4, to_string(*q.bus));
      },
      q.limit, q.newest_first);
}

std::vector<Record> SqliteStore::market(const MarketQuery& q) {
  return select(
      "symbol = ?1 AND type = ?2 AND ts_ns >= ?3 AND ts_ns < ?4 AND symbol <> ''",
      [&](sqlite3_stmt* st) {
        bind_text(st, 1, q.symbol);
        bind_text(st, 2, to_string(q.type));
        sqlite3_bind_int64(st, 3, q.from_ns);
        sqlite3_bind_int64(st, 4, q.to_ns);
      },
      q.limit, q.newest_first);
}

std::uint64_t SqliteStore::apply_retention(std::int64_t now_ns, int keep_days) {
  // Whole UTC days, like PostgreSQL's partitions: keep today and keep_days-1 before it.
  std::int64_t cutoff = (now_ns / kDayNs - (keep_days - 1)) * kDayNs;
  std::lock_guard lock(mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "DELETE FROM records WHERE ts_ns < ?1", -1, &st, nullptr) != SQLITE_OK) fail("retention");
  sqlite3_bind_int64(st, 1, cutoff);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) fail("retention");
  return static_cast<std::uint64_t>(sqlite3_changes(db_));
}

StoreInfo SqliteStore::info() {
  StoreInfo i;
  i.backend = "sqlite";
  i.location = path_;
  i.schema_version = schema_version();
  std::lock_guard lock(mu_);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM records", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    i.rows = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
  }
  sqlite3_finalize(st);
  i.notes = "WAL, synchronous=NORMAL";
  return i;
}

}  // namespace nautilus::store
