// Yahoo Finance v8 chart (/v8/finance/chart/<symbol>): quote and tick from
// `meta` (regularMarketPrice, chartPreviousClose, regularMarketTime in epoch
// seconds), bars from the parallel `timestamp` / `indicators.quote[0]` arrays,
// whose entries are null where Yahoo has no value. An unknown symbol is HTTP
// 404 with {"chart":{"result":null,"error":{"code":"Not Found",...}}}; a
// throttle is a bare 429.
#include <string>

#include "marketdata/sources/http_adapters.h"

namespace nautilus::md::adapters {
namespace {

constexpr std::int64_t kNsPerS = 1'000'000'000;

std::int64_t interval_seconds(std::string_view interval) {
  if (interval.ends_with("m")) return static_cast<std::int64_t>(http_format::number(interval.substr(0, interval.size() - 1)).value_or(5)) * 60;
  if (interval.ends_with("h")) return static_cast<std::int64_t>(http_format::number(interval.substr(0, interval.size() - 1)).value_or(1)) * 3600;
  return 86'400;
}

nlohmann::json at(const nlohmann::json& array, std::size_t i) {
  if (!array.is_array() || i >= array.size() || !array[i].is_number()) return nullptr;
  return array[i].get<double>();
}

class YahooSource final : public HttpSource {
 public:
  YahooSource(const HttpProvider& p, HttpSourceConfig c) : HttpSource(p, std::move(c)) {}

 protected:
  FetchResult fetch_from_provider(std::string_view symbol, DataType type, std::int64_t now_ns) override {
    const std::string interval = type == DataType::kBar ? (config().bar_interval.empty() ? "5m" : config().bar_interval) : "1d";
    const std::string range = type == DataType::kBar && interval != "1d" ? "1d" : "5d";
    std::string url = config().base_url + "/v8/finance/chart/" + url_encode_component(symbol) +
                      "?interval=" + url_encode_component(interval) + "&range=" + range;
    Reply reply = call(url, now_ns);
    if (reply.failure) return *reply.failure;
    const nlohmann::json* chart = reply.json.is_object() && reply.json.contains("chart") ? &reply.json["chart"] : nullptr;
    if (chart != nullptr && chart->is_object() && chart->contains("error") && (*chart)["error"].is_object()) {
      const auto& e = (*chart)["error"];
      std::string code = string_or(e, "code");
      std::string why = "Yahoo: " + code + ": " + string_or(e, "description");
      if (code == "Not Found" || reply.status == 404) return FetchResult::failure(FetchError::kNotFound, why);
      return FetchResult::failure(FetchError::kProviderError, why);
    }
    if (auto f = generic_failure(reply, "symbol")) return *f;
    if (chart == nullptr || !(*chart)["result"].is_array() || (*chart)["result"].empty()) {
      return FetchResult::failure(FetchError::kBadResponse, "no chart.result");
    }
    const nlohmann::json& result = (*chart)["result"][0];
    const nlohmann::json meta = result.value("meta", nlohmann::json::object());
    if (type == DataType::kBar) return bar(symbol, result, interval_seconds(interval));
    nlohmann::json price = number_or_null(meta, "regularMarketPrice");
    if (price.is_null()) return FetchResult::failure(FetchError::kBadResponse, "meta without regularMarketPrice");
    std::int64_t ts = meta.contains("regularMarketTime") && meta["regularMarketTime"].is_number_integer()
                          ? meta["regularMarketTime"].get<std::int64_t>() * kNsPerS
                          : 0;
    if (type == DataType::kTick) return data(symbol, type, ts, {{"ts_ns", ts}, {"price", price}});
    nlohmann::json prev = number_or_null(meta, "chartPreviousClose");
    if (prev.is_null()) prev = number_or_null(meta, "previousClose");
    nlohmann::json change = nullptr, pct = nullptr;
    if (!prev.is_null() && prev.get<double>() != 0.0) {
      change = price.get<double>() - prev.get<double>();
      pct = 100.0 * change.get<double>() / prev.get<double>();
    }
    return data(symbol, type, ts,
                {{"ts_ns", ts},
                 {"price", price},
                 {"high", number_or_null(meta, "regularMarketDayHigh")},
                 {"low", number_or_null(meta, "regularMarketDayLow")},
                 {"volume", number_or_null(meta, "regularMarketVolume")},
                 {"prev_close", prev},
                 {"change", change},
                 {"change_pct", pct},
                 {"currency", string_or(meta, "currency")}});
  }

 private:
  FetchResult bar(std::string_view symbol, const nlohmann::json& result, std::int64_t interval_s) const {
    const auto& ts = result.value("timestamp", nlohmann::json::array());
    const nlohmann::json quote = result.contains("indicators") && result["indicators"].contains("quote") &&
                                         result["indicators"]["quote"].is_array() && !result["indicators"]["quote"].empty()
                                     ? result["indicators"]["quote"][0]
                                     : nlohmann::json::object();
    const auto& close = quote.value("close", nlohmann::json::array());
    // The newest entry with a close (Yahoo leaves nulls for the forming bar and gaps).
    for (std::size_t i = ts.size(); i-- > 0;) {
      if (!ts[i].is_number_integer() || at(close, i).is_null()) continue;
      const std::int64_t start = ts[i].get<std::int64_t>() * kNsPerS;
      return data(symbol, DataType::kBar, start,
                  {{"start_ns", start},
                   {"interval_s", interval_s},
                   {"open", at(quote.value("open", nlohmann::json::array()), i)},
                   {"high", at(quote.value("high", nlohmann::json::array()), i)},
                   {"low", at(quote.value("low", nlohmann::json::array()), i)},
                   {"close", at(close, i)},
                   {"volume", at(quote.value("volume", nlohmann::json::array()), i)}});
    }
    return FetchResult::failure(FetchError::kNotFound, "Yahoo has no bar with a close for " + std::string(symbol));
  }
};

}  // namespace

std::unique_ptr<HttpSource> make_yahoo(const HttpProvider& p, HttpSourceConfig c) {
  return std::make_unique<YahooSource>(p, std::move(c));
}

}  // namespace nautilus::md::adapters
