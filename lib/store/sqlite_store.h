// The embedded history store: one SQLite file (WAL, synchronous=NORMAL, so a
// killed process loses no committed batch), one transaction per batch through
// a prepared insert. Queries use the same connection under the store's mutex;
// WAL keeps them from blocking an `sqlite3` shell reading the file.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store/schema.h"
#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace nautilus::store {

class SqliteStore final : public Store {
 public:
  // Opens or creates `path` and migrates it up to `up_to_version` (tests
  // build old layouts with a lower one). Throws std::runtime_error
  // "store: PATH: <reason>" for a file that is not a database, a directory
  // that cannot be written, or a schema newer than this build.
  explicit SqliteStore(std::string path, int up_to_version = latest_schema_version());
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status write(std::span<const Record> batch) override;
  std::vector<Record> events(const EventQuery& q) override;
  std::vector<Record> market(const MarketQuery& q) override;
  std::uint64_t apply_retention(std::int64_t now_ns, int keep_days) override;
  StoreInfo info() override;
  const std::string& describe() const override { return describe_; }

  int schema_version();

 private:
  void exec(const std::string& sql);                // throws
  [[noreturn]] void fail(const std::string& what);  // "store: PATH: what: sqlite message"
  void migrate(int up_to_version);
  std::vector<Record> select(const std::string& where_sql, const std::function<void(sqlite3_stmt*)>& bind,
                             std::size_t limit, bool newest_first);

  std::string path_, describe_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

}  // namespace nautilus::store
