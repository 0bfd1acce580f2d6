// SEC EDGAR (https://www.sec.gov/search-filings/edgar-application-programming-interfaces):
// fundamentals from /api/xbrl/companyfacts/CIK##########.json and filings from
// /submissions/CIK##########.json (10-digit, zero-padded CIK), on data.sec.gov.
// A ticker becomes a CIK through www.sec.gov/files/company_tickers.json
// ({"0":{"cik_str":320193,"ticker":"AAPL","title":"Apple Inc."},...}), loaded
// once and kept for a day. filings.recent is columnar: parallel arrays
// (accessionNumber[], form[], filingDate[], ...). The SEC refuses requests
// without a User-Agent naming a contact, so the source stays disabled until
// `user_agent` is configured.
#include <algorithm>
#include <cctype>
#include <string>
#include <unordered_map>

#include "marketdata/sources/http_adapters.h"

namespace nautilus::md::adapters {
namespace {

constexpr std::int64_t kTickerMapTtlNs = 86'400'000'000'000;
constexpr std::size_t kFilingsKept = 20;

// The concepts a `fundamental` answer carries: (taxonomy, concept).
constexpr std::pair<const char*, const char*> kConcepts[] = {
    {"us-gaap", "Revenues"},
    {"us-gaap", "RevenueFromContractWithCustomerExcludingAssessedTax"},
    {"us-gaap", "NetIncomeLoss"},
    {"us-gaap", "OperatingIncomeLoss"},
    {"us-gaap", "EarningsPerShareBasic"},
    {"us-gaap", "EarningsPerShareDiluted"},
    {"us-gaap", "Assets"},
    {"us-gaap", "Liabilities"},
    {"us-gaap", "StockholdersEquity"},
    {"us-gaap", "CashAndCashEquivalentsAtCarryingValue"},
    {"us-gaap", "LongTermDebt"},
    {"dei", "EntityCommonStockSharesOutstanding"},
};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string pad_cik(std::string_view digits) {
  std::string out(digits);
  while (out.size() < 10) out.insert(out.begin(), '0');
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 10 && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

class EdgarSource final : public HttpSource {
 public:
  EdgarSource(const HttpProvider& p, HttpSourceConfig c) : HttpSource(p, std::move(c)) {}

 protected:
  FetchResult fetch_from_provider(std::string_view symbol, DataType type, std::int64_t now_ns) override {
    std::string cik;
    if (all_digits(symbol)) {
      cik = pad_cik(symbol);
    } else {
      if (auto f = load_tickers(now_ns)) return *f;
      auto it = cik_by_ticker_.find(upper(symbol));
      if (it == cik_by_ticker_.end()) return FetchResult::failure(FetchError::kNotFound, "EDGAR has no ticker " + std::string(symbol));
      cik = it->second;
    }
    const std::string path = type == DataType::kNews ? "/submissions/CIK" + cik + ".json" : "/api/xbrl/companyfacts/CIK" + cik + ".json";
    Reply reply = call(config().base_url + path, now_ns);
    if (auto f = generic_failure(reply, "CIK")) return *f;
    if (!reply.json.is_object()) return FetchResult::failure(FetchError::kBadResponse, "EDGAR answer is not an object");
    return type == DataType::kNews ? filings(symbol, cik, reply.json) : facts(symbol, cik, reply.json);
  }

 private:
  std::optional<FetchResult> load_tickers(std::int64_t now_ns) {
    if (!cik_by_ticker_.empty() && now_ns - tickers_loaded_ns_ < kTickerMapTtlNs) return std::nullopt;
    Reply reply = call(config().aux_url + "/files/company_tickers.json", now_ns);
    if (auto f = generic_failure(reply, "ticker map")) return f;
    if (!reply.json.is_object()) return FetchResult::failure(FetchError::kBadResponse, "company_tickers.json is not an object");
    std::unordered_map<std::string, std::string> map;
    for (const auto& [_, entry] : reply.json.items()) {
      if (!entry.is_object() || !entry.contains("ticker") || !entry.contains("cik_str")) continue;
      map[upper(string_or(entry, "ticker"))] = pad_cik(string_or(entry, "cik_str"));
    }
    if (map.empty()) return FetchResult::failure(FetchError::kBadResponse, "company_tickers.json has no tickers");
    cik_by_ticker_ = std::move(map);
    tickers_loaded_ns_ = now_ns;
    return std::nullopt;
  }

  FetchResult facts(std::string_view symbol, const std::string& cik, const nlohmann::json& j) const {
    const auto& all = j.value("facts", nlohmann::json::object());
    nlohmann::json out = nlohmann::json::object();
    std::string newest_filed;
    for (const auto& [taxonomy, concept_name] : kConcepts) {
      if (!all.contains(taxonomy) || !all[taxonomy].contains(concept_name)) continue;
      const auto& units = all[taxonomy][concept_name].value("units", nlohmann::json::object());
      const nlohmann::json* best = nullptr;
      std::string best_unit;
      for (const auto& [unit, list] : units.items()) {
        if (!list.is_array()) continue;
        for (const auto& f : list) {
          if (!f.is_object() || !f.contains("val") || !f["val"].is_number()) continue;
          // Latest period end; among equal ends the latest filing (restatements).
          if (best == nullptr || std::make_pair(string_or(f, "end"), string_or(f, "filed")) >
                                     std::make_pair(string_or(*best, "end"), string_or(*best, "filed"))) {
            best = &f;
            best_unit = unit;
          }
        }
      }
      if (best == nullptr) continue;
      nlohmann::json fp = best->contains("fp") ? (*best)["fp"] : nlohmann::json(nullptr);
      nlohmann::json fy = best->contains("fy") ? (*best)["fy"] : nlohmann::json(nullptr);
      out[concept_name] = {{"value", (*best)["val"].get<double>()}, {"unit", best_unit}, {"end", string_or(*best, "end")},
                      {"fy", fy}, {"fp", fp}, {"form", string_or(*best, "form")}, {"filed", string_or(*best, "filed")}};
      newest_filed = std::max(newest_filed, string_or(*best, "filed"));
    }
    if (out.empty()) return FetchResult::failure(FetchError::kNotFound, "EDGAR has none of the reported concepts for " + std::string(symbol));
    std::int64_t ts = http_format::utc_ns(newest_filed).value_or(0);
    return data(symbol, DataType::kFundamental, ts, {{"cik", cik}, {"entity", string_or(j, "entityName")}, {"facts", out}});
  }

  FetchResult filings(std::string_view symbol, const std::string& cik, const nlohmann::json& j) const {
    const nlohmann::json recent = j.contains("filings") ? j["filings"].value("recent", nlohmann::json::object()) : nlohmann::json::object();
    auto column = [&](const char* k) { return recent.value(k, nlohmann::json::array()); };
    const auto accession = column("accessionNumber"), form = column("form"), filed = column("filingDate"),
               report = column("reportDate"), document = column("primaryDocument");
    nlohmann::json list = nlohmann::json::array();
    const std::string cik_plain = std::to_string(std::stoll(cik));
    for (std::size_t i = 0; i < accession.size() && list.size() < kFilingsKept; ++i) {
      auto cell = [&](const nlohmann::json& col) { return i < col.size() && col[i].is_string() ? col[i].get<std::string>() : std::string(); };
      std::string acc = cell(accession), doc = cell(document);
      std::string folder = acc;
      folder.erase(std::remove(folder.begin(), folder.end(), '-'), folder.end());
      list.push_back({{"form", cell(form)}, {"filed", cell(filed)}, {"report_date", cell(report)}, {"accession", acc},
                      {"document", doc},
                      {"url", "https://www.sec.gov/Archives/edgar/data/" + cik_plain + "/" + folder + "/" + doc}});
    }
    if (list.empty()) return FetchResult::failure(FetchError::kNotFound, "EDGAR lists no recent filings for " + std::string(symbol));
    std::int64_t ts = http_format::utc_ns(list[0].value("filed", "")).value_or(0);
    return data(symbol, DataType::kNews, ts, {{"cik", cik}, {"entity", string_or(j, "name")}, {"filings", list}});
  }

  std::unordered_map<std::string, std::string> cik_by_ticker_;
  std::int64_t tickers_loaded_ns_ = 0;
};

}  // namespace

std::unique_ptr<HttpSource> make_edgar(const HttpProvider& p, HttpSourceConfig c) {
  return std::make_unique<EdgarSource>(p, std::move(c));
}

}  // namespace nautilus::md::adapters
