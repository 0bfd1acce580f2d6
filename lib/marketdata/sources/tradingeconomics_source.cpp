// Trading Economics (https://docs.tradingeconomics.com/): the symbol is
// country:indicator with '_' for spaces ("united_states:gdp"). Two answers,
// both `economic`, one call each (inside the 1 request/s limit):
//   historical (default) /historical/country/<country>/indicator/<indicator>
//     ?c=<key>&f=json: an array of {Country, Category, DateTime, Value,
//     Frequency, HistoricalDataSymbol, LastUpdate}, one row per period (per
//     docs.tradingeconomics.com/indicators/historical/); the newest
//     `observations` rows are kept. No units in it.
//   snapshot (`history = false`, for plans without historical data)
//     /country/<country>/indicator/<indicator>?c=<key>&f=json: an array of
//     {Country, Category, Title, LatestValue, LatestValueDate, PreviousValue,
//     PreviousValueDate, Unit, Frequency, ...}; `observations` holds the
//     previous and latest values.
// History ranges (the hub's history(), `nautilus data history`) come from
// the same endpoint with /<from>/<to> dates appended: one `economic` point
// per period, {series, title, frequency, date, value|null, ts_ns}.
// An empty array is an unknown pair. Guest access is gone: without a key the
// source is disabled, and a refused key (401/403, or a body saying so) is an
// auth error; {"Message":"No Access to this feature."} on the historical call
// says the plan lacks it.
#include <algorithm>
#include <string>

#include "marketdata/sources/http_adapters.h"

namespace nautilus::md::adapters {
namespace {

class TradingEconomicsSource final : public HttpSource {
 public:
  TradingEconomicsSource(const HttpProvider& p, HttpSourceConfig c) : HttpSource(p, std::move(c)) {}

 protected:
  FetchResult fetch_from_provider(std::string_view symbol, DataType type, std::int64_t now_ns) override {
    std::size_t colon = symbol.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == symbol.size()) {
      return FetchResult::failure(FetchError::kNotFound, "Trading Economics symbols are country:indicator");
    }
    Reply reply = call(config().base_url + (config().history ? "/historical" : "") + pair_path(symbol, colon) + query(), now_ns);
    if (auto f = rows_failure(reply, symbol)) return *f;
    return config().history ? historical(symbol, type, reply.json) : snapshot(symbol, type, reply.json[0]);
  }

  HistoryResult fetch_history_from_provider(const HistoryRequest& request, std::int64_t now_ns) override {
    HistoryResult out;
    auto fail = [&out](FetchError e, std::string why) {
      out.error = e;
      out.message = std::move(why);
      return out;
    };
    if (!config().history) return fail(FetchError::kUnsupported, "history = false: only the snapshot");
    const std::string_view symbol = request.symbol;
    std::size_t colon = symbol.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == symbol.size()) {
      return fail(FetchError::kNotFound, "Trading Economics symbols are country:indicator");
    }
    if (request.to_ns <= request.from_ns) return fail(FetchError::kNotFound, "empty range");
    // The provider's range is whole days, both ends included; the exact
    // half-open range is applied to the rows.
    const std::int64_t last_ns = request.to_ns == INT64_MAX ? now_ns : request.to_ns - 1;
    std::string url = config().base_url + "/historical" + pair_path(symbol, colon);
    if (request.from_ns > 0 || request.to_ns != INT64_MAX) {
      url += "/" + http_format::utc_date(std::max<std::int64_t>(request.from_ns, 0)) + "/" + http_format::utc_date(last_ns);
    }
    Reply reply = call(url + query(), now_ns);
    if (auto f = rows_failure(reply, symbol)) return fail(f->error, std::move(f->message));
    const std::vector<Row> series = rows(reply.json);
    const nlohmann::json& head = reply.json[0];
    std::size_t first = 0, end = 0;
    while (first < series.size() && series[first].ts_ns < request.from_ns) ++first;
    end = first;
    while (end < series.size() && series[end].ts_ns < request.to_ns) ++end;
    if (end - first > request.limit) first = end - request.limit;
    for (std::size_t i = first; i < end; ++i) {
      auto d = std::make_shared<DataPoint>();
      d->symbol = request.symbol;
      d->type = request.type;
      d->source = info().name;
      d->as_of_ns = series[i].ts_ns;
      d->payload = nlohmann::json{{"series", request.symbol},
                                  {"title", title(head)},
                                  {"frequency", string_or(head, "Frequency")},
                                  {"date", series[i].date},
                                  {"value", series[i].value},
                                  {"ts_ns", series[i].ts_ns}}
                       .dump();
      out.points.push_back(std::move(d));
    }
    if (out.points.empty()) return fail(FetchError::kNotFound, "Trading Economics has no " + request.symbol + " period in the range");
    out.answered_by = info().name;
    return out;
  }

 private:
  struct Row {
    std::string date;
    std::int64_t ts_ns = 0;
    nlohmann::json value;  // null: no value for the period
  };

  static std::string pair_path(std::string_view symbol, std::size_t colon) {
    return "/country/" + url_encode_component(spaces_for_underscores(symbol.substr(0, colon))) + "/indicator/" +
           url_encode_component(spaces_for_underscores(symbol.substr(colon + 1)));
  }
  std::string query() const { return "?c=" + url_encode_component(key()) + "&f=json"; }

  // The checks every answer passes: the provider's words, HTTP, a non-empty array.
  std::optional<FetchResult> rows_failure(const Reply& reply, std::string_view symbol) const {
    if (auto f = refused_by_provider(reply)) return f;
    if (auto f = generic_failure(reply, "indicator")) return f;
    if (!reply.json.is_array()) return FetchResult::failure(FetchError::kBadResponse, "answer is not an array");
    if (reply.json.empty()) return FetchResult::failure(FetchError::kNotFound, "Trading Economics has no " + std::string(symbol));
    return std::nullopt;
  }

  // The historical rows, oldest first whatever order they came in; a row
  // without a period says nothing and is dropped.
  static std::vector<Row> rows(const nlohmann::json& answer) {
    std::vector<Row> series;
    series.reserve(answer.size());
    for (const auto& r : answer) {
      std::string date = string_or(r, "DateTime").substr(0, 10);
      auto ts = http_format::utc_ns(date);
      if (!ts) continue;
      series.push_back({std::move(date), *ts, number_or_null(r, "Value")});
    }
    std::stable_sort(series.begin(), series.end(), [](const Row& a, const Row& b) { return a.ts_ns < b.ts_ns; });
    return series;
  }

  static std::string title(const nlohmann::json& row) {
    const std::string country = string_or(row, "Country"), category = string_or(row, "Category");
    return country.empty() || category.empty() ? country + category : country + " " + category;
  }

  // Trading Economics' own words: {"Message": "..."} (a refused key, a plan
  // without the feature), with any status.
  std::optional<FetchResult> refused_by_provider(const Reply& reply) const {
    const bool refused = !reply.failure || reply.failure->error == FetchError::kAuth;  // 429, 5xx, transport: as classified
    if (!refused || !reply.json.is_object() || !reply.json.contains("Message")) return reply.failure;
    const std::string msg = string_or(reply.json, "Message");
    if (msg.find("No Access") != std::string::npos && config().history) {
      return FetchResult::failure(FetchError::kAuth, "Trading Economics: " + msg +
                                                         " (the plan may not include historical data: set history = false)");
    }
    const bool auth = msg.find("credentials") != std::string::npos || msg.find("key") != std::string::npos ||
                      msg.find("No Access") != std::string::npos || reply.status == 401 || reply.status == 403;
    return FetchResult::failure(auth ? FetchError::kAuth : FetchError::kProviderError, "Trading Economics: " + msg);
  }

  FetchResult historical(std::string_view symbol, DataType type, const nlohmann::json& answer) const {
    const std::vector<Row> series = rows(answer);
    const auto kept = static_cast<std::size_t>(config().observations);
    const std::size_t first = series.size() > kept ? series.size() - kept : 0;
    nlohmann::json obs = nlohmann::json::array();
    nlohmann::json latest = nullptr;
    std::string latest_date;
    for (std::size_t i = first; i < series.size(); ++i) {
      obs.push_back({{"date", series[i].date}, {"value", series[i].value}});
      if (!series[i].value.is_null()) {
        latest = series[i].value;
        latest_date = series[i].date;
      }
    }
    if (latest.is_null()) return FetchResult::failure(FetchError::kNotFound, "Trading Economics has no value for " + std::string(symbol));
    const nlohmann::json& head = answer[0];
    const std::int64_t ts = http_format::utc_ns(latest_date).value_or(0);
    return data(symbol, type, ts,
                {{"series", symbol},
                 {"title", title(head)},
                 {"frequency", string_or(head, "Frequency")},
                 {"provider_symbol", string_or(head, "HistoricalDataSymbol")},
                 {"date", latest_date},
                 {"value", latest},
                 {"ts_ns", ts},
                 {"observations", obs}});
  }

  FetchResult snapshot(std::string_view symbol, DataType type, const nlohmann::json& e) const {
    nlohmann::json value = number_or_null(e, "LatestValue");
    if (value.is_null()) return FetchResult::failure(FetchError::kNotFound, "Trading Economics has no value for " + std::string(symbol));
    std::string date = string_or(e, "LatestValueDate").substr(0, 10);
    std::string prev_date = string_or(e, "PreviousValueDate").substr(0, 10);
    nlohmann::json obs = nlohmann::json::array();
    if (!prev_date.empty()) obs.push_back({{"date", prev_date}, {"value", number_or_null(e, "PreviousValue")}});
    obs.push_back({{"date", date}, {"value", value}});
    std::int64_t ts = http_format::utc_ns(date).value_or(0);
    return data(symbol, type, ts,
                {{"series", symbol},
                 {"title", string_or(e, "Title")},
                 {"units", string_or(e, "Unit")},
                 {"frequency", string_or(e, "Frequency")},
                 {"date", date},
                 {"value", value},
                 {"ts_ns", ts},
                 {"observations", obs}});
  }
};

}  // namespace

std::unique_ptr<HttpSource> make_tradingeconomics(const HttpProvider& p, HttpSourceConfig c) {
  return std::make_unique<TradingEconomicsSource>(p, std::move(c));
}

}  // namespace nautilus::md::adapters
