// FRED (https://fred.stlouisfed.org/docs/api/fred/series_observations.html):
// /fred/series/observations with file_type=json (the default is XML), newest
// first, `observations` of them. A value of "." is a missing observation.
// Errors are JSON: {"error_code":400,"error_message":"Bad Request.  The series
// does not exist."}; a bad key is a 400 whose message names api_key.
#include <string>

#include "marketdata/sources/http_adapters.h"

namespace nautilus::md::adapters {
namespace {

class FredSource final : public HttpSource {
 public:
  FredSource(const HttpProvider& p, HttpSourceConfig c) : HttpSource(p, std::move(c)) {}

 protected:
  FetchResult fetch_from_provider(std::string_view symbol, DataType type, std::int64_t now_ns) override {
    std::string url = config().base_url + "/fred/series/observations?series_id=" + url_encode_component(symbol) +
                      "&api_key=" + url_encode_component(key()) + "&file_type=json&sort_order=desc&limit=" +
                      std::to_string(config().observations);
    Reply reply = call(url, now_ns);
    if (reply.failure) return *reply.failure;
    if (reply.json.is_object() && reply.json.contains("error_message")) {
      std::string msg = string_or(reply.json, "error_message");
      if (msg.find("api_key") != std::string::npos) return FetchResult::failure(FetchError::kAuth, "FRED refused the key");
      if (msg.find("does not exist") != std::string::npos) return FetchResult::failure(FetchError::kNotFound, "FRED: " + msg);
      if (reply.status == 429) return rate_limited(now_ns, -1, "FRED: " + msg);
      return FetchResult::failure(FetchError::kProviderError, "FRED: " + msg);
    }
    if (auto f = generic_failure(reply, "series")) return *f;
    const auto& obs = reply.json.value("observations", nlohmann::json::array());
    if (!obs.is_array()) return FetchResult::failure(FetchError::kBadResponse, "observations is not an array");
    nlohmann::json series = nlohmann::json::array();
    nlohmann::json latest_value = nullptr;
    std::string latest_date;
    for (auto it = obs.rbegin(); it != obs.rend(); ++it) {  // FRED sent newest first: keep oldest first
      std::string date = string_or(*it, "date");
      nlohmann::json value = number_or_null(*it, "value");  // "." -> null
      series.push_back({{"date", date}, {"value", value}});
      if (!value.is_null()) {
        latest_value = value;
        latest_date = date;
      }
    }
    if (latest_value.is_null()) return FetchResult::failure(FetchError::kNotFound, "FRED has no observation for " + std::string(symbol));
    std::int64_t ts = http_format::utc_ns(latest_date).value_or(0);
    return data(symbol, type, ts,
                {{"series", symbol},
                 {"units", string_or(reply.json, "units")},
                 {"date", latest_date},
                 {"value", latest_value},
                 {"ts_ns", ts},
                 {"observations", series}});
  }
};

}  // namespace

std::unique_ptr<HttpSource> make_fred(const HttpProvider& p, HttpSourceConfig c) {
  return std::make_unique<FredSource>(p, std::move(c));
}

}  // namespace nautilus::md::adapters
