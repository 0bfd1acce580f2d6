// The history store's versioned schema (docs/store.md): an ordered list of
// migrations per SQL dialect. A backend applies, in one transaction each, the
// migrations above the version in its schema_version table; a database newer
// than this build is refused rather than written with the wrong layout.
#pragma once

#include <span>
#include <string_view>

namespace nautilus::store {

enum class Dialect : unsigned char { kSqlite, kPostgres };

struct Migration {
  int version;
  std::string_view description;
  std::string_view sqlite_sql;    // statements separated by ';'
  std::string_view postgres_sql;  // run as one multi-statement command
};

std::span<const Migration> migrations();
int latest_schema_version();
std::string_view schema_version_table_sql(Dialect d);

}  // namespace nautilus::store
