// The history store on PostgreSQL 15 through libpq: batches go in with one
// COPY each (a single statement, so all rows or none); `records` is
// partitioned by day on ts_ns with native declarative partitioning, a
// partition per UTC day created before the first row of that day arrives
// (and the next day's ahead of midnight); retention drops whole partitions.
// TimescaleDB is detected and reported (info().notes), not required.
//
// A lost connection makes write() return kUnavailable; the next write()
// reconnects, so the recorder resumes on its own when the server is back.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>

#include "store/schema.h"
#include "store/store.h"

struct pg_conn;

namespace nautilus::store {

class PostgresStore final : public Store {
 public:
  // `url`: a libpq URI (postgresql://user@host:port/db?...). Throws
  // std::runtime_error "store: <url without password>: <reason>".
  explicit PostgresStore(std::string url, int up_to_version = latest_schema_version());
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  Status write(std::span<const Record> batch) override;
  std::vector<Record> events(const EventQuery& q) override;
  std::vector<Record> market(const MarketQuery& q) override;
  std::uint64_t apply_retention(std::int64_t now_ns, int keep_days) override;
  StoreInfo info() override;
  const std::string& describe() const override { return describe_; }

  int schema_version();
  // Creates the partitions for the UTC days of [from_ns, to_ns] (idempotent).
  Status ensure_partitions(std::int64_t from_ns, std::int64_t to_ns);
  std::vector<std::string> partitions();
  bool timescaledb_available();

  // "records_20261201" for a time on 2026-12-01 UTC.
  static std::string partition_name(std::int64_t ts_ns);

 private:
  bool connected_locked();  // reconnects when the connection was lost
  Status ensure_partitions_locked(std::int64_t from_ns, std::int64_t to_ns);
  void migrate(int up_to_version);
  std::vector<Record> select(const std::string& where_sql, const std::vector<std::string>& params, std::size_t limit,
                             bool newest_first);

  std::string url_, describe_;
  std::mutex mu_;
  pg_conn* conn_ = nullptr;
  std::set<std::int64_t> known_days_;  // days (since the epoch) whose partition exists
  std::string copy_buffer_;
};

}  // namespace nautilus::store
