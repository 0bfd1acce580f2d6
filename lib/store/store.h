// The history store: where the recorder keeps bus messages so that bars,
// fills, orders and risk events outlive the daemon. One interface, two
// backends chosen by URL: embedded SQLite (the default, a file in the state
// directory) and PostgreSQL 15 (partitioned by day). Both keep the versioned
// schema of docs/store.md.
//
// Threads: every method may be called from any thread; a backend serialises
// its own connection. write() is the data path of the recorder's writer
// thread: it returns a Status and never throws. Opening (make_store) and the
// maintenance calls are control plane and throw std::runtime_error with a
// one-line message that names the file or server.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "store/record.h"

namespace nautilus::store {

// Events by time range and topic glob (core/topic_pattern.h: * and ?).
struct EventQuery {
  std::int64_t from_ns = 0;                                        // inclusive
  std::int64_t to_ns = std::numeric_limits<std::int64_t>::max();   // exclusive
  std::string topic_pattern = "*";
  std::optional<BusKind> bus;
  std::size_t limit = 1000;
  bool newest_first = false;  // with a limit: the last `limit` rows (still returned oldest first)
};

// Bars, trades or quotes (any market data type) of one symbol.
struct MarketQuery {
  std::string symbol;
  MessageType type = MessageType::kBar;
  std::int64_t from_ns = 0;
  std::int64_t to_ns = std::numeric_limits<std::int64_t>::max();
  std::size_t limit = 10'000;
  bool newest_first = false;
};

struct StoreInfo {
  std::string backend;        // "sqlite" | "postgresql"
  std::string location;       // file path, or host:port/db (no password)
  int schema_version = 0;
  std::uint64_t rows = 0;     // approximate on PostgreSQL (planner estimate)
  std::vector<std::string> partitions;  // PostgreSQL: one per day, oldest first
  std::string notes;          // e.g. "timescaledb: not installed; native partitioning by day"
};

class Store {
 public:
  virtual ~Store() = default;

  // Writes the batch in one transaction: all rows or none.
  virtual Status write(std::span<const Record> batch) = 0;
  virtual std::vector<Record> events(const EventQuery& q) = 0;
  virtual std::vector<Record> market(const MarketQuery& q) = 0;
  // Drops whole days older than `keep_days` before `now_ns` (PostgreSQL: the
  // partitions; SQLite: the rows). Returns the rows or partitions removed.
  virtual std::uint64_t apply_retention(std::int64_t now_ns, int keep_days) = 0;
  virtual StoreInfo info() = 0;
  // For errors and logs: "sqlite:/var/lib/nautilus/history.db".
  virtual const std::string& describe() const = 0;
};

// "sqlite:PATH" (relative paths resolve against `state_dir`), "sqlite:" or ""
// for STATE_DIR/history.db, "postgresql://user@host:port/db?..." (libpq URI;
// "postgres://" too). Creates or migrates the schema. Throws
// std::runtime_error naming the path or server on any failure (a corrupt
// SQLite file, a directory that cannot be written, a refused connection) and
// std::invalid_argument for an unknown scheme.
std::unique_ptr<Store> make_store(std::string_view url, const std::string& state_dir);

// The store URL with any password replaced by "***", for logs and /api.
std::string redact_url(std::string_view url);

nlohmann::json to_json(const Record& r);
nlohmann::json to_json(const StoreInfo& i);

}  // namespace nautilus::store
