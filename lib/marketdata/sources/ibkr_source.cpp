// Interactive Brokers Client Portal Web API through the local gateway:
// /iserver/marketdata/snapshot?conids=..&fields=.. answers an array of objects
// keyed by field code, every value a string ("1,234.50"; a "C" prefix on 31
// means the prior close, the market being closed; "H" halted). The first
// snapshot for a conid is a "pre-flight" that carries no fields: asked again
// once at once, and if still empty the answer is "try later". A symbol that is
// not a conid is looked up once through /iserver/secdef/search. 401: the
// gateway session is not logged in.
#include <cctype>
#include <string>
#include <unordered_map>

#include "marketdata/sources/http_adapters.h"

namespace nautilus::md::adapters {
namespace {

constexpr const char* kFields = "31,84,85,86,88,70,71,82,83,87,7295,7741";
constexpr std::int64_t kWarmUpRetryMs = 1'000;
constexpr std::int64_t kNsPerMs = 1'000'000;

bool is_conid(std::string_view s) {
  if (s.empty() || s.size() > 12) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

class IbkrSource final : public HttpSource {
 public:
  IbkrSource(const HttpProvider& p, HttpSourceConfig c) : HttpSource(p, std::move(c)) {}

 protected:
  FetchResult fetch_from_provider(std::string_view symbol, DataType type, std::int64_t now_ns) override {
    std::string conid;
    if (is_conid(symbol)) {
      conid = std::string(symbol);
    } else if (auto it = conids_.find(std::string(symbol)); it != conids_.end()) {
      conid = it->second;
    } else {
      Reply r = call(config().base_url + "/iserver/secdef/search?symbol=" + url_encode_component(symbol), now_ns);
      if (auto f = generic_failure(r, "symbol")) return *f;
      for (const auto& e : r.json.is_array() ? r.json : nlohmann::json::array()) {
        conid = string_or(e, "conid");
        if (!conid.empty()) break;
      }
      if (conid.empty()) return FetchResult::failure(FetchError::kNotFound, "IBKR has no contract for " + std::string(symbol));
      conids_[std::string(symbol)] = conid;
    }
    const std::string url = config().base_url + "/iserver/marketdata/snapshot?conids=" + conid + "&fields=" + kFields;
    for (int attempt = 0; attempt < 2; ++attempt) {
      Reply r = call(url, now_ns);
      if (auto f = generic_failure(r, "conid")) return *f;
      if (!r.json.is_array()) return FetchResult::failure(FetchError::kBadResponse, "snapshot is not an array");
      if (r.json.empty()) return FetchResult::failure(FetchError::kNotFound, "IBKR has no snapshot for conid " + conid);
      const nlohmann::json& s = r.json[0];
      if (s.contains("31") || s.contains("84") || s.contains("86")) return snapshot(symbol, type, s);
    }
    FetchResult warming = FetchResult::failure(FetchError::kRateLimited, "IBKR snapshot still warming up (pre-flight answer)");
    warming.retry_after_ns = kWarmUpRetryMs * kNsPerMs;
    return warming;
  }

 private:
  FetchResult snapshot(std::string_view symbol, DataType type, const nlohmann::json& s) const {
    std::int64_t ts = s.contains("_updated") && s["_updated"].is_number_integer() ? s["_updated"].get<std::int64_t>() * kNsPerMs : 0;
    nlohmann::json last = number_or_null(s, "31");
    std::string raw_last = string_or(s, "31");
    if (type == DataType::kTick) {
      if (last.is_null()) return FetchResult::failure(FetchError::kNotFound, "IBKR snapshot has no last price");
      return data(symbol, type, ts, {{"ts_ns", ts}, {"price", last}});
    }
    return data(symbol, type, ts,
                {{"ts_ns", ts},
                 {"price", last},
                 {"bid", number_or_null(s, "84")},
                 {"ask", number_or_null(s, "86")},
                 {"bid_size", number_or_null(s, "88")},
                 {"ask_size", number_or_null(s, "85")},
                 {"open", number_or_null(s, "7295")},
                 {"high", number_or_null(s, "70")},
                 {"low", number_or_null(s, "71")},
                 {"change", number_or_null(s, "82")},
                 {"change_pct", number_or_null(s, "83")},
                 {"volume", number_or_null(s, "87")},
                 {"prev_close", number_or_null(s, "7741")},
                 {"closed", !raw_last.empty() && raw_last.front() == 'C'},
                 {"halted", !raw_last.empty() && raw_last.front() == 'H'}});
  }

  std::unordered_map<std::string, std::string> conids_;
};

}  // namespace

std::unique_ptr<HttpSource> make_ibkr(const HttpProvider& p, HttpSourceConfig c) {
  return std::make_unique<IbkrSource>(p, std::move(c));
}

}  // namespace nautilus::md::adapters
