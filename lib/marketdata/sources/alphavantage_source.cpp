// Alpha Vantage (https://www.alphavantage.co/documentation/): GLOBAL_QUOTE for
// quote and tick, TIME_SERIES_INTRADAY (or _DAILY with bar_interval "daily")
// for bars. Every number is a string; keys carry ordinal prefixes ("05.
// price"). Errors come back as HTTP 200: {"Error Message": ...} is an unknown
// symbol, {"Note"|"Information": ...} a throttle (or, when it names the
// apikey, a refused key); an empty "Global Quote" object is an unknown symbol.
#include <string>

#include "marketdata/sources/http_adapters.h"

namespace nautilus::md::adapters {
namespace {

constexpr std::int64_t kThrottleWaitMs = 60'000;  // AV says neither how long nor which limit (minute or day)

class AlphaVantageSource final : public HttpSource {
 public:
  AlphaVantageSource(const HttpProvider& p, HttpSourceConfig c) : HttpSource(p, std::move(c)) {}

 protected:
  FetchResult fetch_from_provider(std::string_view symbol, DataType type, std::int64_t now_ns) override {
    const bool daily = config().bar_interval == "daily";
    const std::string interval = config().bar_interval.empty() || daily ? "5min" : config().bar_interval;
    std::string url = config().base_url + "/query?function=";
    if (type == DataType::kBar) {
      url += daily ? "TIME_SERIES_DAILY" : "TIME_SERIES_INTRADAY&interval=" + url_encode_component(interval);
    } else {
      url += "GLOBAL_QUOTE";
    }
    url += "&symbol=" + url_encode_component(symbol) + "&apikey=" + url_encode_component(key());
    Reply reply = call(url, now_ns);
    if (reply.failure) return *reply.failure;
    if (reply.json.is_object()) {
      if (auto f = body_error(reply.json, now_ns)) return *f;
    }
    if (auto f = generic_failure(reply, "symbol")) return *f;
    if (type == DataType::kBar) return bar(symbol, reply.json, daily ? "Time Series (Daily)" : "Time Series (" + interval + ")", daily ? 86'400 : interval_seconds(interval));
    return quote(symbol, type, reply.json);
  }

 private:
  std::optional<FetchResult> body_error(const nlohmann::json& j, std::int64_t now_ns) {
    if (j.contains("Error Message")) {
      return FetchResult::failure(FetchError::kNotFound, "Alpha Vantage: " + string_or(j, "Error Message"));
    }
    for (const char* k : {"Note", "Information"}) {
      if (!j.contains(k)) continue;
      std::string text = string_or(j, k);
      if (text.find("apikey") != std::string::npos || text.find("API key") != std::string::npos) {
        if (text.find("rate limit") == std::string::npos && text.find("frequency") == std::string::npos) {
          return FetchResult::failure(FetchError::kAuth, "Alpha Vantage refused the key");
        }
      }
      return rate_limited(now_ns, kThrottleWaitMs, "Alpha Vantage throttle (" + std::string(k) + ")");
    }
    return std::nullopt;
  }

  static std::int64_t interval_seconds(const std::string& interval) {
    auto v = http_format::number(interval.substr(0, interval.find("min")));
    return v ? static_cast<std::int64_t>(*v * 60) : 300;
  }

  FetchResult quote(std::string_view symbol, DataType type, const nlohmann::json& j) const {
    auto it = j.find("Global Quote");
    if (it == j.end() || !it->is_object()) return FetchResult::failure(FetchError::kBadResponse, "no \"Global Quote\" object");
    const nlohmann::json& q = *it;
    if (q.empty()) return FetchResult::failure(FetchError::kNotFound, "Alpha Vantage has no quote for " + std::string(symbol));
    nlohmann::json price = number_or_null(q, "05. price");
    if (price.is_null()) return FetchResult::failure(FetchError::kBadResponse, "quote without \"05. price\"");
    std::string day = string_or(q, "07. latest trading day");
    std::int64_t ts = http_format::utc_ns(day).value_or(0);
    if (type == DataType::kTick) return data(symbol, type, ts, {{"ts_ns", ts}, {"price", price}});
    nlohmann::json pct = number_or_null(q, "10. change percent");
    return data(symbol, type, ts,
                {{"ts_ns", ts},
                 {"price", price},
                 {"open", number_or_null(q, "02. open")},
                 {"high", number_or_null(q, "03. high")},
                 {"low", number_or_null(q, "04. low")},
                 {"volume", number_or_null(q, "06. volume")},
                 {"prev_close", number_or_null(q, "08. previous close")},
                 {"change", number_or_null(q, "09. change")},
                 {"change_pct", pct},
                 {"trading_day", day}});
  }

  FetchResult bar(std::string_view symbol, const nlohmann::json& j, const std::string& series_key, std::int64_t interval_s) const {
    auto it = j.find(series_key);
    if (it == j.end() || !it->is_object()) return FetchResult::failure(FetchError::kBadResponse, "no \"" + series_key + "\" object");
    if (it->empty()) return FetchResult::failure(FetchError::kNotFound, "Alpha Vantage has no bars for " + std::string(symbol));
    // Keys are "YYYY-MM-DD[ HH:MM:SS]": the lexicographic maximum is the latest.
    auto latest = it->begin();
    for (auto e = it->begin(); e != it->end(); ++e) {
      if (e.key() > latest.key()) latest = e;
    }
    std::string tz = string_or(j.value("Meta Data", nlohmann::json::object()), interval_s == 86'400 ? "5. Time Zone" : "6. Time Zone", "US/Eastern");
    auto start = tz == "UTC" ? http_format::utc_ns(latest.key()) : interval_s == 86'400 ? http_format::utc_ns(latest.key()) : http_format::us_eastern_ns(latest.key());
    if (!start) return FetchResult::failure(FetchError::kBadResponse, "unreadable bar time '" + latest.key() + "'");
    const nlohmann::json& b = latest.value();
    nlohmann::json close = number_or_null(b, "4. close");
    if (close.is_null()) return FetchResult::failure(FetchError::kBadResponse, "bar without \"4. close\"");
    return data(symbol, DataType::kBar, *start,
                {{"start_ns", *start},
                 {"interval_s", interval_s},
                 {"open", number_or_null(b, "1. open")},
                 {"high", number_or_null(b, "2. high")},
                 {"low", number_or_null(b, "3. low")},
                 {"close", close},
                 {"volume", number_or_null(b, "5. volume")}});
  }
};

}  // namespace

std::unique_ptr<HttpSource> make_alphavantage(const HttpProvider& p, HttpSourceConfig c) {
  return std::make_unique<AlphaVantageSource>(p, std::move(c));
}

}  // namespace nautilus::md::adapters
