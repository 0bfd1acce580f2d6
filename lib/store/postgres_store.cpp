#include "store/postgres_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "core/clock.h"

namespace nautilus::store {
namespace {

constexpr std::int64_t kDayNs = 86'400'000'000'000;
// Only one daemon migrates a shared database at a time.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7165031917)";
const char* kColumns = "ts_ns, topic, bus, type, priority, source, origin_ns, correlation_id, id, symbol, payload";

std::int64_t day_of(std::int64_t ts_ns) {
  return ts_ns >= 0 ? ts_ns / kDayNs : -((-ts_ns + kDayNs - 1) / kDayNs);
}

std::string first_line(const char* text) {
  std::string s = text ? text : "";
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// COPY's text format: backslash escapes for the characters that delimit it.
void append_copy_text(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// core/topic_pattern.h globs as LIKE: * -> %, ? -> _, the rest literal.
std::string to_like(std::string_view pattern) {
  std::string out;
  for (char c : pattern) {
    if (c == '*') out += '%';
    else if (c == '?') out += '_';
    else if (c == '%' || c == '_' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

std::int64_t to_int64(const char* text) {
  std::int64_t v = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), v);
  return v;
}

}  // namespace

std::string PostgresStore::partition_name(std::int64_t ts_ns) {
  using namespace std::chrono;
  year_month_day ymd{sys_days{days{day_of(ts_ns)}}};
  char buf[32];
  std::snprintf(buf, sizeof buf, "records_%04d%02u%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

PostgresStore::PostgresStore(std::string url, int up_to_version)
    : url_(std::move(url)), describe_(redact_url(url_)) {
  // A server that does not answer must not hold the writer (or a start) long.
  const char* keys[] = {"dbname", "connect_timeout", nullptr};
  const char* values[] = {url_.c_str(), "5", nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string why = conn_ ? first_line(PQerrorMessage(conn_)) : "out of memory";
    PQfinish(conn_);
    conn_ = nullptr;
    throw std::runtime_error("store: " + describe_ + ": cannot connect: " + why);
  }
  Result r(PQexec(conn_, "SET client_min_messages = warning"));
  migrate(up_to_version);
}

PostgresStore::~PostgresStore() { PQfinish(conn_); }

void PostgresStore::migrate(int up_to_version) {
  auto run = [&](const std::string& sql) {
    Result r(PQexec(conn_, sql.c_str()));
    auto st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string why = first_line(PQerrorMessage(conn_));
      Result rb(PQexec(conn_, "ROLLBACK"));
      throw std::runtime_error("store: " + describe_ + ": migration: " + why);
    }
    return r;
  };
  run("BEGIN");
  run(kMigrationLock);
  run(std::string(schema_version_table_sql(Dialect::kPostgres)));
  Result v = run("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  int current = static_cast<int>(to_int64(PQgetvalue(v.get(), 0, 0)));
  if (current > latest_schema_version()) {
    run("ROLLBACK");
    throw std::runtime_error("store: " + describe_ + ": schema version " + std::to_string(current) +
                             " is newer than this nautilusd understands (" + std::to_string(latest_schema_version()) +
                             ")");
  }
  for (const Migration& m : migrations()) {
    if (m.version <= current || m.version > up_to_version) continue;
    run(std::string(m.postgres_sql));
    run("INSERT INTO schema_version (version, description, applied_ns) VALUES (" + std::to_string(m.version) + ", '" +
        std::string(m.description) + "', " + std::to_string(wall_now_ns()) + ")");
  }
  run("COMMIT");
}

int PostgresStore::schema_version() {
  std::lock_guard lock(mu_);
  if (!connected_locked()) return 0;
  Result r(PQexec(conn_, "SELECT COALESCE(MAX(version), 0) FROM schema_version"));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return 0;
  return static_cast<int>(to_int64(PQgetvalue(r.get(), 0, 0)));
}

bool PostgresStore::connected_locked() {
  if (PQstatus(conn_) == CONNECTION_OK) return true;
  PQreset(conn_);
  return PQstatus(conn_) == CONNECTION_OK;
}

Status PostgresStore::ensure_partitions(std::int64_t from_ns, std::int64_t to_ns) {
  std::lock_guard lock(mu_);
  if (!connected_locked()) return Status(StatusCode::kUnavailable, describe_ + ": " + first_line(PQerrorMessage(conn_)));
  return ensure_partitions_locked(from_ns, to_ns);
}

Status PostgresStore::ensure_partitions_locked(std::int64_t from_ns, std::int64_t to_ns) {
  for (std::int64_t day = day_of(from_ns); day <= day_of(to_ns); ++day) {
    if (known_days_.count(day)) continue;
    std::string sql = "CREATE TABLE IF NOT EXISTS " + partition_name(day * kDayNs) +
                      " PARTITION OF records FOR VALUES FROM (" + std::to_string(day * kDayNs) + ") TO (" +
                      std::to_string((day + 1) * kDayNs) + ")";
    Result r(PQexec(conn_, sql.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      // Two daemons creating the same day race on the catalog; the loser's
      // "already exists" is success.
      const char* code = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
      if (!code || (std::string_view(code) != "42P07" && std::string_view(code) != "23505")) {
        return Status(StatusCode::kUnavailable, describe_ + ": create partition: " + first_line(PQerrorMessage(conn_)));
      }
    }
    known_days_.insert(day);
  }
  return Status::ok();
}

Status PostgresStore::write(std::span<const Record> batch) {
  if (batch.empty()) return Status::ok();
  std::lock_guard lock(mu_);
  auto lost = [&](const char* what) {
    std::string msg = describe_ + ": " + what + ": " + first_line(PQerrorMessage(conn_));
    // Drain whatever the failed command left so the connection is usable (or reset) next time.
    while (PGresult* r = PQgetResult(conn_)) PQclear(r);
    return Status(StatusCode::kUnavailable, std::move(msg));
  };
  if (!connected_locked()) return lost("connect");
  auto [lo, hi] = std::minmax_element(batch.begin(), batch.end(),
                                      [](const Record& a, const Record& b) { return a.ts_ns < b.ts_ns; });
  // The next day's partition too, so the first rows after midnight never wait on DDL.
  if (Status st = ensure_partitions_locked(lo->ts_ns, hi->ts_ns + kDayNs); !st) return st;

  Result begin(PQexec(conn_, "COPY records (ts_ns, topic, bus, type, priority, source, origin_ns, correlation_id, id, "
                             "symbol, payload) FROM STDIN"));
  if (PQresultStatus(begin.get()) != PGRES_COPY_IN) return lost("copy");
  std::string& buf = copy_buffer_;
  buf.clear();
  constexpr std::size_t kChunk = 1 << 20;
  // One row: tab-separated fields in the COPY column order, newline-terminated.
  auto text = [&buf](std::string_view v) {
    append_copy_text(buf, v);
    buf += '\t';
  };
  auto number = [&buf](std::int64_t v) {
    append_int(buf, v);
    buf += '\t';
  };
  for (const Record& r : batch) {
    number(r.ts_ns);
    text(r.topic);
    text(to_string(r.bus));
    text(to_string(r.type));
    number(static_cast<int>(r.priority));
    text(r.source);
    number(r.origin_ns);
    text(r.correlation_id);
    text(r.id);
    text(r.symbol);
    append_copy_text(buf, r.payload);
    buf += '\n';
    if (buf.size() >= kChunk) {
      if (PQputCopyData(conn_, buf.data(), static_cast<int>(buf.size())) != 1) return lost("copy data");
      buf.clear();
    }
  }
  if (!buf.empty() && PQputCopyData(conn_, buf.data(), static_cast<int>(buf.size())) != 1) return lost("copy data");
  if (PQputCopyEnd(conn_, nullptr) != 1) return lost("copy end");
  Result done(PQgetResult(conn_));
  if (PQresultStatus(done.get()) != PGRES_COMMAND_OK) return lost("copy");
  while (PGresult* r = PQgetResult(conn_)) PQclear(r);
  return Status::ok();
}

std::vector<Record> PostgresStore::select(const std::string& where_sql, const std::vector<std::string>& params,
                                          std::size_t limit, bool newest_first) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM records WHERE " + where_sql + " ORDER BY ts_ns " +
                    (newest_first ? "DESC" : "ASC") + " LIMIT " + std::to_string(limit);
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  std::lock_guard lock(mu_);
  if (!connected_locked()) throw std::runtime_error("store: " + describe_ + ": " + first_line(PQerrorMessage(conn_)));
  Result r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error("store: " + describe_ + ": query: " + first_line(PQerrorMessage(conn_)));
  }
  std::vector<Record> out;
  int rows = PQntuples(r.get());
  out.reserve(static_cast<std::size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    auto text = [&](int col) {
      return std::string(PQgetvalue(r.get(), i, col), static_cast<std::size_t>(PQgetlength(r.get(), i, col)));
    };
    Record rec;
    rec.ts_ns = to_int64(PQgetvalue(r.get(), i, 0));
    rec.topic = text(1);
    rec.bus = parse_bus_kind(text(2)).value_or(BusKind::kEngine);
    rec.type = parse_message_type(text(3)).value_or(MessageType::kSystemHealth);
    rec.priority = static_cast<Priority>(to_int64(PQgetvalue(r.get(), i, 4)));
    rec.source = text(5);
    rec.origin_ns = to_int64(PQgetvalue(r.get(), i, 6));
    rec.correlation_id = text(7);
    rec.id = text(8);
    rec.symbol = text(9);
    rec.payload = text(10);
    out.push_back(std::move(rec));
  }
  if (newest_first) std::reverse(out.begin(), out.end());
  return out;
}

std::vector<Record> PostgresStore::events(const EventQuery& q) {
  std::vector<std::string> params = {std::to_string(q.from_ns), std::to_string(q.to_ns)};
  std::string where = "ts_ns >= $1 AND ts_ns < $2";
  if (q.topic_pattern != "*") {
    params.push_back(to_like(q.topic_pattern));
    where += " AND topic LIKE $" + std::to_string(params.size()) + " ESCAPE '\\'";
  }
  if (q.bus) {
    params.emplace_back(to_string(*q.bus));
    where += " AND bus = $" + std::to_string(params.size());
  }
  return select(where, params, q.limit, q.newest_first);
}

std::vector<Record> PostgresStore::market(const MarketQuery& q) {
  return select("symbol = $1 AND type = $2 AND ts_ns >= $3 AND ts_ns < $4 AND symbol <> ''",
                {q.symbol, std::string(to_string(q.type)), std::to_string(q.from_ns), std::to_string(q.to_ns)}, q.limit,
                q.newest_first);
}

std::vector<std::string> PostgresStore::partitions() {
  std::lock_guard lock(mu_);
  if (!connected_locked()) throw std::runtime_error("store: " + describe_ + ": " + first_line(PQerrorMessage(conn_)));
  Result r(PQexec(conn_,
                  "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                  "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'records' AND c.relkind = 'r' ORDER BY 1"));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error("store: " + describe_ + ": list partitions: " + first_line(PQerrorMessage(conn_)));
  }
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace_back(PQgetvalue(r.get(), i, 0));
  return out;
}

std::uint64_t PostgresStore::apply_retention(std::int64_t now_ns, int keep_days) {
  // Names sort by day, so the cutoff day's name bounds the ones to drop.
  std::string cutoff = partition_name((day_of(now_ns) - (keep_days - 1)) * kDayNs);
  std::uint64_t dropped = 0;
  for (const auto& name : partitions()) {
    if (name >= cutoff) continue;
    std::lock_guard lock(mu_);
    Result r(PQexec(conn_, ("DROP TABLE IF EXISTS " + name).c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      throw std::runtime_error("store: " + describe_ + ": drop " + name + ": " + first_line(PQerrorMessage(conn_)));
    }
    ++dropped;
  }
  std::lock_guard lock(mu_);
  known_days_.clear();  // recreated (idempotently) on the next write
  return dropped;
}

bool PostgresStore::timescaledb_available() {
  std::lock_guard lock(mu_);
  if (!connected_locked()) return false;
  Result r(PQexec(conn_, "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"));
  return PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) > 0;
}

StoreInfo PostgresStore::info() {
  StoreInfo i;
  i.backend = "postgresql";
  i.location = describe_;
  i.schema_version = schema_version();
  i.partitions = partitions();
  i.notes = timescaledb_available()
                ? "timescaledb: available on the server but not used; native partitioning by day"
                : "timescaledb: not installed; native partitioning by day";
  std::lock_guard lock(mu_);
  Result r(PQexec(conn_, "SELECT COUNT(*) FROM records"));
  if (PQresultStatus(r.get()) == PGRES_TUPLES_OK) i.rows = static_cast<std::uint64_t>(to_int64(PQgetvalue(r.get(), 0, 0)));
  return i;
}

}  // namespace nautilus::store
