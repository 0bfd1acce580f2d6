// A data source behind the hub. Only the hub calls sources (SPEC section 2).
//
// The interface is shaped for the HTTP providers that come later (IBKR, Alpha
// Vantage, FRED, ...): a source names itself, declares its priority in the
// fallback chain, the types it serves and its documented rate limit, and says
// whether it needs an API key. fetch() is a blocking call made on the hub's
// thread; it never throws: every outcome is a FetchResult. A provider that
// reports an error inside a 200 response (Alpha Vantage's "Note"/"Error
// Message" bodies) returns kProviderError, which counts against its breaker,
// while kNotFound (the provider answered: no such symbol) does not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "marketdata/data_types.h"
#include "marketdata/rate_limiter.h"

namespace nautilus::md {

enum class FetchError : unsigned char {
  kNone,
  kNotFound,       // the source answered: it has no such symbol/type
  kUnsupported,    // the source does not serve this type
  kRateLimited,    // the provider (or our limiter) refused: try later
  kUnavailable,    // connection refused, 5xx, scripted outage
  kTimeout,
  kProviderError,  // an error delivered in a successful response
  kBadResponse,    // unparseable or inconsistent body
  kAuth,           // missing or rejected API key
};
std::string_view to_string(FetchError e);
// Does this outcome say the source is unhealthy (counts toward its breaker)?
bool counts_as_failure(FetchError e);

struct FetchResult {
  DataPtr data;                      // set when error == kNone
  FetchError error = FetchError::kNone;
  std::string message;               // why, for errors
  std::int64_t retry_after_ns = 0;   // for kRateLimited, when the provider says

  bool ok() const { return error == FetchError::kNone && data != nullptr; }
  static FetchResult success(DataPtr d) { return {std::move(d), FetchError::kNone, {}, 0}; }
  static FetchResult failure(FetchError e, std::string why) { return {nullptr, e, std::move(why), 0}; }
};

struct SourceInfo {
  std::string name;                 // unique within a hub: "synthetic", "alpha_vantage"
  std::string kind;                 // implementation: "synthetic", "replay", "http"
  int priority = 100;               // lower goes first in a fallback chain
  std::vector<DataType> types;      // what it serves
  RateLimit rate_limit;             // the provider's documented limit
  bool requires_api_key = false;
  // Non-empty: why the source is switched off (e.g. "no key"). The hub lists
  // it with health "disabled (<why>)" and leaves it out of every chain.
  std::string disabled;

  bool supports(DataType t) const;
};

// A range of history: the points of (symbol, type) with from_ns <= time <
// to_ns, oldest first; with more than `limit`, the newest `limit` of them.
struct HistoryRequest {
  std::string symbol;
  DataType type = DataType::kBar;
  std::int64_t from_ns = 0;
  std::int64_t to_ns = INT64_MAX;
  std::size_t limit = 10'000;
};

struct HistoryResult {
  std::vector<DataPtr> points;       // oldest first
  FetchError error = FetchError::kNone;
  std::string message;
  std::string answered_by;           // "store" or the source's name
  bool ok() const { return error == FetchError::kNone; }
};

class Source {
 public:
  virtual ~Source() = default;
  virtual const SourceInfo& info() const = 0;
  // The latest data for (symbol, type) as of `now_ns` on the hub's clock.
  virtual FetchResult fetch(std::string_view symbol, DataType type, std::int64_t now_ns) = 0;
  // History over a range, for sources that keep or can fetch one. The
  // default serves none (kUnsupported). Never throws.
  virtual HistoryResult fetch_history(const HistoryRequest& request, std::int64_t now_ns);
};

}  // namespace nautilus::md
