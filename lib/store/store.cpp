#include "store/store.h"

#include <filesystem>
#include <stdexcept>

#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace nautilus::store {

std::unique_ptr<Store> make_store(std::string_view url, const std::string& state_dir) {
  if (url.empty() || url.starts_with("sqlite:")) {
    std::string path(url.empty() ? std::string_view() : url.substr(std::string_view("sqlite:").size()));
    if (path.starts_with("//")) path.erase(0, 2);  // sqlite:///abs/path
    if (path.empty()) path = "history.db";
    std::filesystem::path p(path);
    if (p.is_relative()) p = std::filesystem::path(state_dir) / p;
    return std::make_unique<SqliteStore>(p.string());
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return std::make_unique<PostgresStore>(std::string(url));
  }
  throw std::invalid_argument("store: unknown store URL '" + redact_url(url) +
                              "' (expected sqlite:PATH or postgresql://user@host:port/db)");
}

std::string redact_url(std::string_view url) {
  // scheme://user:password@host -> scheme://user:***@host
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  auto at = url.find('@', scheme + 3);
  if (at == std::string_view::npos) return std::string(url);
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

nlohmann::json to_json(const Record& r) {
  nlohmann::json j = {{"ts_ns", r.ts_ns},
                      {"topic", r.topic},
                      {"bus", std::string(to_string(r.bus))},
                      {"type", std::string(to_string(r.type))},
                      {"priority", std::string(to_string(r.priority))},
                      {"source", r.source},
                      {"id", r.id}};
  if (r.origin_ns != 0) j["origin_ns"] = r.origin_ns;
  if (!r.correlation_id.empty()) j["correlation_id"] = r.correlation_id;
  if (!r.symbol.empty()) j["symbol"] = r.symbol;
  auto payload = nlohmann::json::parse(r.payload, nullptr, /*allow_exceptions=*/false);
  j["payload"] = payload.is_discarded() ? nlohmann::json(r.payload) : payload;
  return j;
}

nlohmann::json to_json(const StoreInfo& i) {
  nlohmann::json j = {{"backend", i.backend},
                      {"location", i.location},
                      {"schema_version", i.schema_version},
                      {"rows", i.rows},
                      {"notes", i.notes}};
  if (!i.partitions.empty()) j["partitions"] = i.partitions;
  return j;
}

}  // namespace nautilus::store
