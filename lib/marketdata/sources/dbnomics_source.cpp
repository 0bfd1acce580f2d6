// DBnomics v22 (https://api.db.nomics.world/v22/): the symbol is
// PROVIDER/DATASET/SERIES; /series/<it>?observations=1 answers
// {"series":{"docs":[{"series_name", "@frequency", "period":[...],
// "period_start_day":[...], "value":[...]}], "num_found":N}}, where a value
// may be "NA". Errors can arrive inside an HTTP 200 body ({"errors":[...]} or
// a "message" with no series), as well as a 404 for an unknown dataset.
#include <algorithm>
#include <string>

#include "marketdata/sources/http_adapters.h"

namespace nautilus::md::adapters {
namespace {

class DbnomicsSource final : public HttpSource {
 public:
  DbnomicsSource(const HttpProvider& p, HttpSourceConfig c) : HttpSource(p, std::move(c)) {}

 protected:
  FetchResult fetch_from_provider(std::string_view symbol, DataType type, std::int64_t now_ns) override {
    if (std::count(symbol.begin(), symbol.end(), '/') != 2) {
      return FetchResult::failure(FetchError::kNotFound, "DBnomics series are PROVIDER/DATASET/SERIES");
    }
    std::string path;
    std::size_t start = 0;
    while (start <= symbol.size()) {  // encode each part, keep the slashes
      std::size_t slash = symbol.find('/', start);
      path += '/';
      path += url_encode_component(symbol.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
    Reply reply = call(config().base_url + "/series" + path + "?observations=1&format=json", now_ns);
    if (reply.failure) return *reply.failure;
    if (reply.json.is_object() && !reply.json.contains("series")) {
      std::string msg = string_or(reply.json, "message");
      if (reply.json.contains("errors") && reply.json["errors"].is_array() && !reply.json["errors"].empty()) {
        const auto& e = reply.json["errors"][0];
        msg = e.is_object() ? string_or(e, "message", e.dump()) : e.dump();
      }
      if (!msg.empty()) {
        const bool missing = reply.status == 404 || msg.find("not found") != std::string::npos || msg.find("Not found") != std::string::npos;
        return FetchResult::failure(missing ? FetchError::kNotFound : FetchError::kProviderError, "DBnomics: " + msg);
      }
    }
    if (auto f = generic_failure(reply, "series")) return *f;
    const nlohmann::json docs = reply.json["series"].value("docs", nlohmann::json::array());
    if (!docs.is_array() || docs.empty()) return FetchResult::failure(FetchError::kNotFound, "DBnomics has no series " + std::string(symbol));
    const nlohmann::json& s = docs[0];
    const auto period = s.value("period", nlohmann::json::array());
    const auto start_day = s.value("period_start_day", nlohmann::json::array());
    const auto value = s.value("value", nlohmann::json::array());
    const std::size_t n = std::min(period.size(), value.size());
    const std::size_t first = n > static_cast<std::size_t>(config().observations) ? n - static_cast<std::size_t>(config().observations) : 0;
    nlohmann::json obs = nlohmann::json::array();
    nlohmann::json latest = nullptr;
    std::string latest_date;
    for (std::size_t i = first; i < n; ++i) {
      std::string date = i < start_day.size() && start_day[i].is_string() ? start_day[i].get<std::string>()
                                                                            : (period[i].is_string() ? period[i].get<std::string>() : "");
      nlohmann::json v = value[i].is_number() ? nlohmann::json(value[i].get<double>()) : nlohmann::json(nullptr);  // "NA" -> null
      obs.push_back({{"date", date}, {"value", v}});
      if (!v.is_null()) {
        latest = v;
        latest_date = date;
      }
    }
    if (latest.is_null()) return FetchResult::failure(FetchError::kNotFound, "DBnomics series " + std::string(symbol) + " has no values");
    std::int64_t ts = http_format::utc_ns(latest_date).value_or(0);
    return data(symbol, type, ts,
                {{"series", symbol},
                 {"title", string_or(s, "series_name")},
                 {"frequency", string_or(s, "@frequency")},
                 {"date", latest_date},
                 {"value", latest},
                 {"ts_ns", ts},
                 {"observations", obs}});
  }
};

}  // namespace

std::unique_ptr<HttpSource> make_dbnomics(const HttpProvider& p, HttpSourceConfig c) {
  return std::make_unique<DbnomicsSource>(p, std::move(c));
}

}  // namespace nautilus::md::adapters
