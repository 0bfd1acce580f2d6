#include "store/schema.h"

#include <array>

namespace nautilus::store {
namespace {

// Append only: a released migration never changes, a new layout is a new row.
constexpr std::array kMigrations = {
    Migration{1, "records: one row per recorded message",
              R"(CREATE TABLE records (
                   ts_ns INTEGER NOT NULL, topic TEXT NOT NULL, bus TEXT NOT NULL, type TEXT NOT NULL,
                   priority INTEGER NOT NULL, source TEXT NOT NULL, origin_ns INTEGER NOT NULL,
                   correlation_id TEXT NOT NULL, id TEXT NOT NULL, symbol TEXT NOT NULL, payload TEXT NOT NULL);
                 CREATE INDEX records_ts ON records (ts_ns))",
              // Partitioned by day on ts_ns; partitions are created by the store ahead of the rows.
              R"(CREATE TABLE records (
                   ts_ns bigint NOT NULL, topic text NOT NULL, bus text NOT NULL, type text NOT NULL,
                   priority smallint NOT NULL, source text NOT NULL, origin_ns bigint NOT NULL,
                   correlation_id text NOT NULL, id text NOT NULL, symbol text NOT NULL, payload text NOT NULL)
                 PARTITION BY RANGE (ts_ns);
                 CREATE INDEX records_ts ON records (ts_ns))"},
    Migration{2, "records_symbol: market data by (symbol, type, time)",
              "CREATE INDEX records_symbol ON records (symbol, type, ts_ns) WHERE symbol <> ''",
              "CREATE INDEX records_symbol ON records (symbol, type, ts_ns) WHERE symbol <> ''"},
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

int latest_schema_version() { return kMigrations.back().version; }

std::string_view schema_version_table_sql(Dialect d) {
  return d == Dialect::kSqlite
             ? "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
               "applied_ns INTEGER NOT NULL)"
             : "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, description text NOT NULL, "
               "applied_ns bigint NOT NULL)";
}

}  // namespace nautilus::store
