#include "marketdata/sources/http_source.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "marketdata/sources/http_adapters.h"

namespace nautilus::md {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerS = 1'000'000'000;
constexpr std::int64_t kDefaultRetryAfterMs = 5'000;  // a 429 that does not say how long

using Tp = DataType;
const std::vector<HttpProvider>& providers() {
  // Limits are the providers' documented ones (or, where none is published,
  // conservative); see nautilusd.conf(5).
  static const std::vector<HttpProvider> kProviders = {
      {"ibkr", "NAUTILUS_IBKR_KEY", "https://localhost:5000/v1/api", "", 10, {10.0, 10.0}, false,
       {Tp::kQuote, Tp::kTick}, "265598", Tp::kQuote, "10 requests/s through the Client Portal gateway"},
      {"alphavantage", "NAUTILUS_ALPHAVANTAGE_KEY", "https://www.alphavantage.co", "", 20, {25.0 / 86'400.0, 1.0}, true,
       {Tp::kQuote, Tp::kTick, Tp::kBar}, "IBM", Tp::kQuote, "free plan: 25 requests/day"},
      {"yahoo", "NAUTILUS_YAHOO_KEY", "https://query1.finance.yahoo.com", "", 30, {0.5, 2.0}, false,
       {Tp::kQuote, Tp::kTick, Tp::kBar}, "AAPL", Tp::kQuote, "unpublished: 1 request/2 s kept"},
      {"fred", "NAUTILUS_FRED_KEY", "https://api.stlouisfed.org", "", 10, {2.0, 2.0}, true, {Tp::kEconomic}, "DGS10",
       Tp::kEconomic, "120 requests/min"},
      {"tradingeconomics", "NAUTILUS_TRADINGECONOMICS_KEY", "https://api.tradingeconomics.com", "", 20, {1.0, 1.0},
       true, {Tp::kEconomic}, "united_states:gdp", Tp::kEconomic, "1 request/s"},
      {"dbnomics", "NAUTILUS_DBNOMICS_KEY", "https://api.db.nomics.world/v22", "", 30, {1.0, 3.0}, false,
       {Tp::kEconomic}, "AMECO/ZUTN/EA19.1.0.0.0.ZUTN", Tp::kEconomic, "unpublished: 1 request/s kept"},
      {"edgar", "NAUTILUS_EDGAR_KEY", "https://data.sec.gov", "https://www.sec.gov", 10, {5.0, 5.0}, false,
       {Tp::kFundamental, Tp::kNews}, "AAPL", Tp::kFundamental, "SEC fair access: under 10 requests/s"},
      {"datagov", "NAUTILUS_DATAGOV_KEY", "https://api.gsa.gov/technology/datagov/v4", "", 20, {1000.0 / 3600.0, 5.0},
       true, {Tp::kNews}, "consumer_price_index", Tp::kNews, "api.data.gov key: 1,000 requests/hour"},
  };
  return kProviders;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  int year = 0;
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > s.size()) return false;
  auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return ec == std::errc() && end == s.data() + pos + len;
}

std::optional<Civil> parse_civil(std::string_view s) {
  s = trim(s);
  Civil c;
  int y = 0, mo = 0, d = 0;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !read_int(s, 0, 4, y) || !read_int(s, 5, 2, mo) ||
      !read_int(s, 8, 2, d) || mo < 1 || mo > 12 || d < 1 || d > 31) {
    return std::nullopt;
  }
  c.year = y;
  c.month = static_cast<unsigned>(mo);
  c.day = static_cast<unsigned>(d);
  if (s.size() > 10) {
    int h = 0, mi = 0, se = 0;
    if ((s[10] != ' ' && s[10] != 'T') || s.size() < 16 || !read_int(s, 11, 2, h) || s[13] != ':' ||
        !read_int(s, 14, 2, mi)) {
      return std::nullopt;
    }
    if (s.size() >= 19 && s[16] == ':' && !read_int(s, 17, 2, se)) return std::nullopt;
    if (h > 23 || mi > 59 || se > 60) return std::nullopt;
    c.hour = static_cast<unsigned>(h);
    c.minute = static_cast<unsigned>(mi);
    c.second = static_cast<unsigned>(se);
  }
  return c;
}

std::int64_t civil_seconds(const Civil& c) {
  return days_from_civil(c.year, c.month, c.day) * 86'400 + c.hour * 3600 + c.minute * 60 + c.second;
}

// Day of month of the n-th Sunday (n >= 1) of a month.
unsigned nth_sunday(int year, unsigned month, unsigned n) {
  const std::int64_t first = days_from_civil(year, month, 1);
  const auto weekday = static_cast<unsigned>(((first % 7) + 11) % 7);  // 1970-01-01 was a Thursday; 0 = Sunday
  return 1 + (7 - weekday) % 7 + 7 * (n - 1);
}

}  // namespace

std::span<const HttpProvider> http_providers() { return providers(); }

const HttpProvider* find_http_provider(std::string_view kind) {
  for (const auto& p : providers()) {
    if (p.kind == kind) return &p;
  }
  return nullptr;
}

namespace http_format {

std::optional<double> number(std::string_view text) {
  text = trim(text);
  if (!text.empty() && (text.front() == 'C' || text.front() == 'H')) text.remove_prefix(1);  // IBKR prefixes
  double scale = 1.0;
  if (!text.empty()) {
    switch (text.back()) {
      case '%': text.remove_suffix(1); break;
      case 'K': scale = 1e3; text.remove_suffix(1); break;
      case 'M': scale = 1e6; text.remove_suffix(1); break;
      case 'B': scale = 1e9; text.remove_suffix(1); break;
      default: break;
    }
  }
  std::string digits;
  digits.reserve(text.size());
  for (char c : text) {
    if (c != ',') digits += c;
  }
  if (digits.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return v * scale;
}

std::optional<std::int64_t> utc_ns(std::string_view text) {
  auto c = parse_civil(text);
  if (!c) return std::nullopt;
  return civil_seconds(*c) * kNsPerS;
}

std::string utc_date(std::int64_t ns) {
  // Floor division: a time before 1970 belongs to the day it falls in.
  std::int64_t z = (ns >= 0 ? ns / kNsPerS : -((-ns + kNsPerS - 1) / kNsPerS));
  z = (z >= 0 ? z / 86'400 : -((-z + 86'399) / 86'400)) + 719468;  // H. Hinnant's civil_from_days
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2);
  char out[32];
  std::snprintf(out, sizeof out, "%04lld-%02u-%02u", static_cast<long long>(year), month, day);
  return out;
}

std::optional<std::int64_t> us_eastern_ns(std::string_view text) {
  auto c = parse_civil(text);
  if (!c) return std::nullopt;
  // US rules since 2007: EDT from the second Sunday of March 02:00 local to
  // the first Sunday of November 02:00 local.
  const std::int64_t local = civil_seconds(*c);
  const std::int64_t dst_start = civil_seconds({c->year, 3, nth_sunday(c->year, 3, 2), 2, 0, 0});
  const std::int64_t dst_end = civil_seconds({c->year, 11, nth_sunday(c->year, 11, 1), 2, 0, 0});
  const bool dst = local >= dst_start && local < dst_end;
  return (local + (dst ? 4 : 5) * 3600) * kNsPerS;
}

}  // namespace http_format

namespace adapters {

nlohmann::json number_or_null(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end()) return nullptr;
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    auto v = http_format::number(it->get_ref<const std::string&>());
    if (v) return *v;
  }
  return nullptr;
}

std::string string_or(const nlohmann::json& object, const char* key, std::string fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  return fallback;
}

std::string spaces_for_underscores(std::string_view symbol) {
  std::string out(symbol);
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

}  // namespace adapters

HttpSource::HttpSource(const HttpProvider& provider, HttpSourceConfig config)
    : provider_(provider), config_(std::move(config)), client_(config_.http) {
  info_.name = config_.name;
  info_.kind = std::string(provider_.kind);
  info_.priority = config_.priority.value_or(provider_.priority);
  info_.types = provider_.types;
  info_.rate_limit = config_.rate_limit.value_or(provider_.rate_limit);
  info_.requires_api_key = provider_.needs_key;
  if (provider_.needs_key && config_.key.empty()) info_.disabled = "no key";
  if (provider_.kind == "edgar" && !config_.user_agent_set) info_.disabled = "no user_agent";
}

std::uint64_t HttpSource::http_requests() const {
  std::lock_guard lock(mu_);
  return http_requests_;
}

std::int64_t HttpSource::blocked_until_ns() const {
  std::lock_guard lock(mu_);
  return blocked_until_ns_;
}

std::optional<FetchResult> HttpSource::refusal(std::string_view symbol, DataType type, std::int64_t now_ns) const {
  if (!info_.disabled.empty()) return FetchResult::failure(FetchError::kAuth, info_.name + " is disabled (" + info_.disabled + ")");
  if (!info_.supports(type)) {
    return FetchResult::failure(FetchError::kUnsupported, info_.name + " does not serve " + std::string(to_string(type)));
  }
  if (!valid_symbol(symbol)) return FetchResult::failure(FetchError::kNotFound, "invalid symbol");
  if (now_ns < blocked_until_ns_) {
    FetchResult r = FetchResult::failure(FetchError::kRateLimited, "the provider asked us to wait (Retry-After)");
    r.retry_after_ns = blocked_until_ns_ - now_ns;
    return r;
  }
  return std::nullopt;
}

FetchResult HttpSource::fetch(std::string_view symbol, DataType type, std::int64_t now_ns) {
  std::lock_guard lock(mu_);
  if (auto refused = refusal(symbol, type, now_ns)) return *refused;
  return fetch_from_provider(symbol, type, now_ns);
}

HistoryResult HttpSource::fetch_history(const HistoryRequest& request, std::int64_t now_ns) {
  std::lock_guard lock(mu_);
  if (auto refused = refusal(request.symbol, request.type, now_ns)) {
    HistoryResult r;
    r.error = refused->error;
    r.message = std::move(refused->message);
    return r;
  }
  return fetch_history_from_provider(request, now_ns);
}

HistoryResult HttpSource::fetch_history_from_provider(const HistoryRequest& request, std::int64_t now_ns) {
  return Source::fetch_history(request, now_ns);  // none: kUnsupported
}

std::int64_t HttpSource::default_retry_after_ms() const { return kDefaultRetryAfterMs; }

FetchResult HttpSource::rate_limited(std::int64_t now_ns, std::int64_t retry_after_ms, std::string why) {
  const std::int64_t wait_ns = (retry_after_ms >= 0 ? retry_after_ms : default_retry_after_ms()) * kNsPerMs;
  blocked_until_ns_ = std::max(blocked_until_ns_, now_ns + wait_ns);
  FetchResult r = FetchResult::failure(FetchError::kRateLimited, std::move(why));
  r.retry_after_ns = blocked_until_ns_ - now_ns;
  return r;
}

HttpSource::Reply HttpSource::call(const std::string& url, std::int64_t now_ns, const std::vector<std::string>& headers) {
  Reply reply;
  ++http_requests_;
  HttpResponse r = client_.get(url, headers);
  reply.status = r.status;
  switch (r.outcome) {
    case HttpOutcome::kOk: break;
    case HttpOutcome::kTimeout:
      reply.failure = FetchResult::failure(FetchError::kTimeout, "timed out after " + std::to_string(config_.http.timeout_ms) + " ms");
      return reply;
    case HttpOutcome::kConnect:
      reply.failure = FetchResult::failure(FetchError::kUnavailable, "cannot connect: " + r.error);
      return reply;
    case HttpOutcome::kTooLarge:
      reply.failure = FetchResult::failure(FetchError::kBadResponse, r.error);
      return reply;
    case HttpOutcome::kTransfer:
      reply.failure = FetchResult::failure(FetchError::kBadResponse, "broken response: " + r.error);
      return reply;
  }
  // Parsed before the status checks: adapters read the provider's words
  // (data.gov's API_KEY_INVALID, Trading Economics' "No Access") beside them.
  reply.json = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  reply.body = std::move(r.body);
  if (r.status == 429) {
    reply.failure = rate_limited(now_ns, r.retry_after_ms, "HTTP 429 Too Many Requests");
    return reply;
  }
  if (r.status == 401 || r.status == 403) {
    reply.failure = FetchResult::failure(FetchError::kAuth, "HTTP " + std::to_string(r.status) + ": key or session refused");
    return reply;
  }
  if (r.status >= 500) {
    if (r.status == 503 && r.retry_after_ms >= 0) {
      const std::int64_t wait_ns = r.retry_after_ms * kNsPerMs;
      blocked_until_ns_ = std::max(blocked_until_ns_, now_ns + wait_ns);
    }
    reply.failure = FetchResult::failure(FetchError::kUnavailable, "HTTP " + std::to_string(r.status) + " from the provider");
    return reply;
  }
  return reply;
}

std::optional<FetchResult> HttpSource::generic_failure(const Reply& reply, std::string_view what) {
  if (reply.failure) return reply.failure;
  if (reply.status == 404) return FetchResult::failure(FetchError::kNotFound, "no such " + std::string(what) + " (HTTP 404)");
  if (reply.status >= 400) {
    return FetchResult::failure(FetchError::kProviderError, "HTTP " + std::to_string(reply.status) + " for " + std::string(what));
  }
  if (reply.json.is_discarded()) {
    return FetchResult::failure(FetchError::kBadResponse, "malformed JSON (" + std::to_string(reply.body.size()) + " bytes)");
  }
  return std::nullopt;
}

FetchResult HttpSource::data(std::string_view symbol, DataType type, std::int64_t as_of_ns, const nlohmann::json& payload) const {
  auto d = std::make_shared<DataPoint>();
  d->symbol = std::string(symbol);
  d->type = type;
  d->source = info_.name;
  d->as_of_ns = as_of_ns;
  d->payload = payload.dump();
  return FetchResult::success(std::move(d));
}

std::unique_ptr<HttpSource> make_http_source(HttpSourceConfig config) {
  const HttpProvider* p = find_http_provider(config.kind);
  if (p == nullptr) throw std::invalid_argument("unknown HTTP source kind '" + config.kind + "'");
  if (config.name.empty()) config.name = std::string(p->kind);
  if (config.base_url.empty()) config.base_url = std::string(p->base_url);
  if (config.aux_url.empty()) config.aux_url = std::string(p->aux_url);
  while (!config.base_url.empty() && config.base_url.back() == '/') config.base_url.pop_back();
  while (!config.aux_url.empty() && config.aux_url.back() == '/') config.aux_url.pop_back();
  if (config.key.empty()) {
    if (const char* env = std::getenv(std::string(p->key_env).c_str()); env != nullptr) config.key = env;
  }
  const std::string_view k = p->kind;
  if (k == "alphavantage") return adapters::make_alphavantage(*p, std::move(config));
  if (k == "yahoo") return adapters::make_yahoo(*p, std::move(config));
  if (k == "fred") return adapters::make_fred(*p, std::move(config));
  if (k == "edgar") return adapters::make_edgar(*p, std::move(config));
  if (k == "ibkr") return adapters::make_ibkr(*p, std::move(config));
  if (k == "dbnomics") return adapters::make_dbnomics(*p, std::move(config));
  if (k == "datagov") return adapters::make_datagov(*p, std::move(config));
  return adapters::make_tradingeconomics(*p, std::move(config));
}

}  // namespace nautilus::md
