#include "marketdata/source.h"

#include <algorithm>

namespace nautilus::md {

std::string_view to_string(FetchError e) {
  switch (e) {
    case FetchError::kNone: return "ok";
    case FetchError::kNotFound: return "not_found";
    case FetchError::kUnsupported: return "unsupported";
    case FetchError::kRateLimited: return "rate_limited";
    case FetchError::kUnavailable: return "unavailable";
    case FetchError::kTimeout: return "timeout";
    case FetchError::kProviderError: return "provider_error";
    case FetchError::kBadResponse: return "bad_response";
    case FetchError::kAuth: return "auth";
  }
  return "unknown";
}

bool counts_as_failure(FetchError e) {
  switch (e) {
    case FetchError::kUnavailable:
    case FetchError::kTimeout:
    case FetchError::kProviderError:
    case FetchError::kBadResponse:
    case FetchError::kAuth:
      return true;
    default:
      return false;
  }
}

bool SourceInfo::supports(DataType t) const { return std::find(types.begin(), types.end(), t) != types.end(); }

HistoryResult Source::fetch_history(const HistoryRequest& request, std::int64_t) {
  HistoryResult r;
  r.error = FetchError::kUnsupported;
  r.message = info().name + " keeps no " + std::string(to_string(request.type)) + " history";
  return r;
}

}  // namespace nautilus::md
