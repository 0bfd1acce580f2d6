// Trading Economics (https://docs.tradingeconomics.com/): the symbol is
// country:indicator with '_' for spaces ("united_states:gdp"), answered from
// /country/<country>/indicator/<indicator>?c=<key>&f=json: an array of
// {Country, Category, Title, LatestValue, LatestValueDate, PreviousValue,
// PreviousValueDate, Unit, Frequency, ...}; an empty array is an unknown
// pair. Guest access is gone: without a key the source is disabled, and a
// refused key (401/403, or a body saying so) is an auth error. Only the
// snapshot is fetched (one call per request, inside the 1 request/s limit):
// `observations` holds the previous and latest values.
#include <string>

#include "marketdata/sources/http_adapters.h"

namespace nautilus::md::adapters {
namespace {

std::string spaced(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c == '_') c = ' ';
  }
  return out;
}

class TradingEconomicsSource final : public HttpSource {
 public:
  TradingEconomicsSource(const HttpProvider& p, HttpSourceConfig c) : HttpSource(p, std::move(c)) {}

 protected:
  FetchResult fetch_from_provider(std::string_view symbol, DataType type, std::int64_t now_ns) override {
    std::size_t colon = symbol.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == symbol.size()) {
      return FetchResult::failure(FetchError::kNotFound, "Trading Economics symbols are country:indicator");
    }
    std::string url = config().base_url + "/country/" + url_encode_component(spaced(symbol.substr(0, colon))) + "/indicator/" +
                      url_encode_component(spaced(symbol.substr(colon + 1))) + "?c=" + url_encode_component(key()) + "&f=json";
    Reply reply = call(url, now_ns);
    if (reply.failure) return *reply.failure;
    if (reply.json.is_object() && reply.json.contains("Message")) {
      std::string msg = string_or(reply.json, "Message");
      const bool auth = msg.find("credentials") != std::string::npos || msg.find("key") != std::string::npos ||
                        msg.find("No Access") != std::string::npos;
      return FetchResult::failure(auth ? FetchError::kAuth : FetchError::kProviderError, "Trading Economics: " + msg);
    }
    if (auto f = generic_failure(reply, "indicator")) return *f;
    if (!reply.json.is_array()) return FetchResult::failure(FetchError::kBadResponse, "answer is not an array");
    if (reply.json.empty()) return FetchResult::failure(FetchError::kNotFound, "Trading Economics has no " + std::string(symbol));
    const nlohmann::json& e = reply.json[0];
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
