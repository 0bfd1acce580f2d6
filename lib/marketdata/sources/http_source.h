// The HTTP market-data sources behind the hub (SPEC section 6): one class per
// provider on a shared base that owns the libcurl client, the key, the
// provider's Retry-After and the classification of HTTP failures.
//
// Normalised schema (every provider maps onto it; the `payload` JSON):
//   times     `ts_ns`/`as_of_ns` are UTC nanoseconds since the epoch. A date
//             without a time ("2024-01-05") is that day's 00:00 UTC; Alpha
//             Vantage's intraday times are US/Eastern and are converted.
//   numbers   JSON numbers (providers' strings, "1,234", "C168.40", "1.2M"
//             are parsed); a missing value is JSON null, never 0.
//   quote     {ts_ns, price, bid?, ask?, bid_size?, ask_size?, open, high, low,
//              prev_close, change, change_pct (percent), volume, currency?,
//              closed? (IBKR: the price is the prior close)}
//   tick      {ts_ns, price}
//   bar       {start_ns, interval_s, open, high, low, close, volume}: the latest
//             complete bar with a close
//   economic  {series, title?, units?, frequency?, date, value, ts_ns,
//              observations: [{date, value|null}, ...] oldest first}; `value`
//              is the latest non-missing observation. Trading Economics sends
//              its historical series (no units) unless `history = false`,
//              then its snapshot (units, the previous and latest values).
//   fundamental {cik, entity, facts: {<concept>: {value, unit, end, fy, fp,
//              form, filed}}}: the latest reported value per concept
//   news      EDGAR, regulatory filings: {cik, entity, filings: [{form, filed,
//              report_date, accession, document, url}] newest first}.
//             data.gov, government datasets matching a search (its catalog
//             holds metadata, not series): {query, organization, datasets:
//              [{title, description, publisher, organization, identifier,
//              modified, modified_ns|null, issued, periodicity, url, keywords,
//              downloads: [{title, format, url}]}] newest `modified` first}
//
// Errors: HTTP 401/403 and "no key" -> kAuth; 404 and the providers' "no such
// series/symbol" bodies -> kNotFound; 429 and throttle bodies (Alpha Vantage's
// "Note"/"Information") -> kRateLimited with retry_after_ns (the source then
// refuses to call until that time); 5xx and refused connections ->
// kUnavailable; timeouts -> kTimeout; unparseable, truncated or oversized
// bodies -> kBadResponse; other error bodies -> kProviderError. A 429
// without Retry-After waits the provider's default (5 s; data.gov one hour,
// its documented block).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "marketdata/source.h"
#include "marketdata/sources/http_client.h"

namespace nautilus::md {

// What a provider is by default: its URL, its place in the SPEC 6 fallback
// chains, its documented rate limit, whether it needs a key, what it serves,
// and the call `nautilus data sources --probe` makes.
struct HttpProvider {
  std::string_view kind;          // config `kind`: "alphavantage", "fred", ...
  std::string_view key_env;       // NAUTILUS_<KIND>_KEY
  std::string_view base_url;
  std::string_view aux_url;       // a second host (EDGAR's ticker map), or empty
  int priority;
  RateLimit rate_limit;
  bool needs_key;
  std::vector<DataType> types;
  std::string_view probe_symbol;
  DataType probe_type;
  std::string_view limit_note;    // the documented limit, in words
};
std::span<const HttpProvider> http_providers();
const HttpProvider* find_http_provider(std::string_view kind);

struct HttpSourceConfig {
  std::string kind;               // one of http_providers()
  std::string name;               // default: kind
  std::string base_url;           // default: the provider's
  std::string aux_url;            // default: the provider's
  std::string key;                // never logged, never in status or /api output
  std::optional<int> priority;
  std::optional<RateLimit> rate_limit;
  HttpClientConfig http;
  bool user_agent_set = false;    // EDGAR refuses requests without a contact User-Agent
  std::int64_t observations = 100;  // economic series: observations kept (newest)
  std::string bar_interval;       // provider's bar interval ("5min" / "5m"); empty: its default
  bool history = true;            // Trading Economics: the historical series; false: the snapshot only
};

class HttpSource : public Source {
 public:
  const SourceInfo& info() const override { return info_; }
  // Serialised per source (one connection); never throws.
  FetchResult fetch(std::string_view symbol, DataType type, std::int64_t now_ns) final;
  // A range of history from providers that serve one (Trading Economics);
  // the others answer kUnsupported. Serialised with fetch(); never throws.
  HistoryResult fetch_history(const HistoryRequest& request, std::int64_t now_ns) final;

  const HttpProvider& provider() const { return provider_; }
  std::uint64_t http_requests() const;  // requests sent upstream (pre-flights and lookups included)
  // The provider's Retry-After: until this time (hub clock) no call goes out.
  std::int64_t blocked_until_ns() const;

 protected:
  HttpSource(const HttpProvider& provider, HttpSourceConfig config);

  virtual FetchResult fetch_from_provider(std::string_view symbol, DataType type, std::int64_t now_ns) = 0;
  // Default: none (kUnsupported).
  virtual HistoryResult fetch_history_from_provider(const HistoryRequest& request, std::int64_t now_ns);
  // How long a 429 without Retry-After blocks the source.
  virtual std::int64_t default_retry_after_ms() const;

  struct Reply {
    std::optional<FetchResult> failure;  // transport, 401/403, 429, 5xx: already classified
    long status = 0;
    nlohmann::json json;                 // discarded when the body is not JSON (also set beside a 401/403/429/5xx failure)
    std::string body;
  };
  // GET base + path (path starts with '/'; query values already encoded).
  Reply call(const std::string& url, std::int64_t now_ns, const std::vector<std::string>& headers = {});
  // After the provider-specific checks: 404 -> not found, other 4xx ->
  // provider error, non-JSON -> bad response. nullopt: the reply is usable.
  static std::optional<FetchResult> generic_failure(const Reply& reply, std::string_view what);
  FetchResult rate_limited(std::int64_t now_ns, std::int64_t retry_after_ms, std::string why);
  FetchResult data(std::string_view symbol, DataType type, std::int64_t as_of_ns, const nlohmann::json& payload) const;

  const HttpSourceConfig& config() const { return config_; }
  const std::string& key() const { return config_.key; }

 private:
  // Disabled, unsupported type, invalid symbol, or the provider's wait not
  // over: the answer without a call. Called under mu_.
  std::optional<FetchResult> refusal(std::string_view symbol, DataType type, std::int64_t now_ns) const;

  const HttpProvider& provider_;
  HttpSourceConfig config_;
  SourceInfo info_;
  HttpClient client_;
  mutable std::mutex mu_;
  std::int64_t blocked_until_ns_ = 0;
  std::uint64_t http_requests_ = 0;
};

// Builds the source for config.kind, filling the provider's defaults (and the
// key from NAUTILUS_<KIND>_KEY when the config has none). A provider that
// needs a key and has none is built disabled ("no key"). Throws
// std::invalid_argument for an unknown kind.
std::unique_ptr<HttpSource> make_http_source(HttpSourceConfig config);

// Shared parsing of providers' number and time formats (exposed for tests).
namespace http_format {
// "1,234.5", "C168.40" (prior close), "H12" (halted), "1.2M", "0.52%", "-":
// the number, or nullopt for an empty or non-numeric string.
std::optional<double> number(std::string_view text);
// "2024-01-05" -> that day 00:00 UTC; "2024-01-05 15:30:00" likewise as UTC.
std::optional<std::int64_t> utc_ns(std::string_view text);
// UTC nanoseconds -> "2024-01-05" (the day they fall in).
std::string utc_date(std::int64_t ns);
// "2024-01-05 15:30:00" read as US/Eastern wall time (EST/EDT by the US rules).
std::optional<std::int64_t> us_eastern_ns(std::string_view text);
}  // namespace http_format

}  // namespace nautilus::md
