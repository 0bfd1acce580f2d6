// Internal: the per-provider factories make_http_source() dispatches to, one
// per file (<provider>_source.cpp). Use make_http_source(), not these.
#pragma once

#include <memory>

#include "marketdata/sources/http_source.h"

namespace nautilus::md::adapters {

std::unique_ptr<HttpSource> make_alphavantage(const HttpProvider& p, HttpSourceConfig c);
std::unique_ptr<HttpSource> make_yahoo(const HttpProvider& p, HttpSourceConfig c);
std::unique_ptr<HttpSource> make_fred(const HttpProvider& p, HttpSourceConfig c);
std::unique_ptr<HttpSource> make_edgar(const HttpProvider& p, HttpSourceConfig c);
std::unique_ptr<HttpSource> make_ibkr(const HttpProvider& p, HttpSourceConfig c);
std::unique_ptr<HttpSource> make_dbnomics(const HttpProvider& p, HttpSourceConfig c);
std::unique_ptr<HttpSource> make_tradingeconomics(const HttpProvider& p, HttpSourceConfig c);
std::unique_ptr<HttpSource> make_datagov(const HttpProvider& p, HttpSourceConfig c);

// nlohmann helpers the adapters share: a string or number field as a double
// (providers send numbers as strings), null when missing.
nlohmann::json number_or_null(const nlohmann::json& object, const char* key);
std::string string_or(const nlohmann::json& object, const char* key, std::string fallback = {});
// Symbols cannot hold spaces: "united_states" -> "united states".
std::string spaces_for_underscores(std::string_view symbol);

}  // namespace nautilus::md::adapters
