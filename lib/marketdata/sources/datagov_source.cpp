// data.gov: the catalog search API v4 behind api.data.gov (the CKAN
// package_search it replaced is retired). Format taken from data.gov's own
// documentation, https://resources.data.gov/catalog-api/ (the page source is
// GSA/resources.data.gov pages/catalog-api.md):
//   GET https://api.gsa.gov/technology/datagov/v4/search?q=...&org_slug=...&per_page=N
//   header X-Api-Key: <key>
//   200 {"sort":"relevance","after":"<cursor>","results":[{"title","description",
//        "identifier","slug","publisher","keyword":[...],"last_harvested_date",
//        "organization":{"name","slug",...},"dcat":{"modified","issued",
//        "landingPage","accrualPeriodicity","distribution":[{"title","format",
//        "mediaType","downloadURL"|"accessURL"}], ...}}, ...]}
//   errors: 403 {"error":{"code":"API_KEY_MISSING|API_KEY_INVALID|API_KEY_UNVERIFIED",
//           "message"}} from api.data.gov; 429 {"error":{"code":"OVER_RATE_LIMIT"}}
//           (the block lifts after an hour); 422 {"message":"Validation error",
//           "detail":{...}}; 404/500 {"error":"..."}.
// The catalog holds metadata about datasets, not their values, so the source
// serves `news`: the datasets a search finds, newest modification first (the
// regulatory chain EDGAR -> data.gov of SPEC 6). The symbol is the search,
// '_' for spaces, optionally prefixed by an organization slug and ':'
// ("bls:consumer_price_index"). Only the first page (kDatasetsKept) is read.
#include <algorithm>
#include <string>

#include "marketdata/sources/http_adapters.h"

namespace nautilus::md::adapters {
namespace {

constexpr std::size_t kDatasetsKept = 20;
constexpr std::size_t kDownloadsKept = 10;
constexpr std::size_t kDescriptionChars = 500;
constexpr std::int64_t kOverRateLimitBlockMs = 3'600'000;  // "the block lifts automatically after one hour"

const nlohmann::json& member(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// The api.data.gov error code ("API_KEY_INVALID") or the catalog's message.
std::string error_words(const nlohmann::json& body) {
  const nlohmann::json& e = member(body, "error");
  if (e.is_object()) {
    std::string code = string_or(e, "code"), msg = string_or(e, "message");
    return code.empty() ? msg : (msg.empty() ? code : code + ": " + msg);
  }
  if (e.is_string()) return e.get<std::string>();
  return string_or(body, "message");
}

nlohmann::json strings(const nlohmann::json& list) {
  nlohmann::json out = nlohmann::json::array();
  if (!list.is_array()) return out;
  for (const auto& v : list) {
    if (v.is_string()) out.push_back(v);
  }
  return out;
}

nlohmann::json dataset(const nlohmann::json& r) {
  const nlohmann::json& dcat = member(r, "dcat");
  const nlohmann::json& org = member(r, "organization");
  const std::string modified = string_or(dcat, "modified");
  auto modified_ns = http_format::utc_ns(modified);
  std::string url = string_or(dcat, "landingPage");
  if (url.empty() && !string_or(r, "slug").empty()) url = "https://catalog.data.gov/dataset/" + string_or(r, "slug");
  nlohmann::json downloads = nlohmann::json::array();
  const nlohmann::json& dist = member(dcat, "distribution");
  if (dist.is_array()) {
    for (const auto& d : dist) {
      if (downloads.size() == kDownloadsKept) break;
      std::string link = string_or(d, "downloadURL", string_or(d, "accessURL"));
      if (link.empty()) continue;  // the summary form lists distributions as bare strings
      downloads.push_back({{"title", string_or(d, "title")}, {"format", string_or(d, "format", string_or(d, "mediaType"))}, {"url", link}});
    }
  }
  std::string description = string_or(r, "description", string_or(dcat, "description"));
  if (description.size() > kDescriptionChars) description = description.substr(0, kDescriptionChars - 3) + "...";
  return {{"title", string_or(r, "title", string_or(dcat, "title"))},
          {"description", description},
          {"publisher", string_or(r, "publisher", string_or(member(dcat, "publisher"), "name"))},
          {"organization", string_or(org, "name")},
          {"identifier", string_or(r, "identifier", string_or(dcat, "identifier"))},
          {"modified", modified},
          {"modified_ns", modified_ns ? nlohmann::json(*modified_ns) : nlohmann::json(nullptr)},
          {"issued", string_or(dcat, "issued")},
          {"periodicity", string_or(dcat, "accrualPeriodicity")},
          {"url", url},
          {"keywords", strings(member(r, "keyword"))},
          {"downloads", downloads}};
}

class DatagovSource final : public HttpSource {
 public:
  DatagovSource(const HttpProvider& p, HttpSourceConfig c) : HttpSource(p, std::move(c)) {}

 protected:
  std::int64_t default_retry_after_ms() const override { return kOverRateLimitBlockMs; }

  FetchResult fetch_from_provider(std::string_view symbol, DataType type, std::int64_t now_ns) override {
    std::string_view query = symbol, organization;
    if (std::size_t colon = symbol.find(':'); colon != std::string_view::npos) {
      organization = symbol.substr(0, colon);
      query = symbol.substr(colon + 1);
    }
    if (query.empty() && organization.empty()) return FetchResult::failure(FetchError::kNotFound, "empty data.gov search");
    std::string url = config().base_url + "/search?q=" + url_encode_component(spaces_for_underscores(query)) +
                      "&per_page=" + std::to_string(kDatasetsKept);
    if (!organization.empty()) url += "&org_slug=" + url_encode_component(organization);
    Reply reply = call(url, now_ns, {"X-Api-Key: " + key(), "Accept: application/json"});
    if (reply.failure) {
      const std::string words = error_words(reply.json);
      if (words.empty()) return *reply.failure;
      FetchResult f = *reply.failure;
      f.message = "data.gov: " + words;
      return f;
    }
    if (reply.status == 422) return FetchResult::failure(FetchError::kProviderError, "data.gov refused the search: " + reply.json.dump());
    if (reply.status == 404) {
      return FetchResult::failure(FetchError::kNotFound, "data.gov: " + (error_words(reply.json).empty() ? "not found" : error_words(reply.json)));
    }
    if (auto f = generic_failure(reply, "search")) return *f;
    const nlohmann::json& results = member(reply.json, "results");
    if (!results.is_array()) return FetchResult::failure(FetchError::kBadResponse, "data.gov answer has no results array");
    if (results.empty()) return FetchResult::failure(FetchError::kNotFound, "data.gov has no dataset matching " + std::string(symbol));
    nlohmann::json datasets = nlohmann::json::array();
    for (const auto& r : results) {
      if (r.is_object()) datasets.push_back(dataset(r));
    }
    if (datasets.empty()) return FetchResult::failure(FetchError::kBadResponse, "data.gov results hold no dataset objects");
    // Newest modification first; undated ones keep the provider's (relevance) order at the end.
    std::stable_sort(datasets.begin(), datasets.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
      const auto& ma = a["modified_ns"];
      const auto& mb = b["modified_ns"];
      if (ma.is_null() || mb.is_null()) return !ma.is_null() && mb.is_null();
      return ma.get<std::int64_t>() > mb.get<std::int64_t>();
    });
    const auto& newest = datasets.front()["modified_ns"];
    const std::int64_t as_of = newest.is_null() ? now_ns : newest.get<std::int64_t>();
    return data(symbol, type, as_of,
                {{"query", spaces_for_underscores(query)}, {"organization", std::string(organization)}, {"datasets", datasets}});
  }
};

}  // namespace

std::unique_ptr<HttpSource> make_datagov(const HttpProvider& p, HttpSourceConfig c) {
  return std::make_unique<DatagovSource>(p, std::move(c));
}

}  // namespace nautilus::md::adapters
