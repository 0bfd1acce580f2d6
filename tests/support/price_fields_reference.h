// The oracle of read_price_fields (engines/trade_fields.h): what the risk and
// portfolio handlers took from a payload when they parsed it with nlohmann,
// written out here over a parse tree and compared field by field. Shared by
// the unit test and the fuzzer so both hold the reader to the same definition.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engines/trade_fields.h"

namespace nautilus::testing {

// "" when read_price_fields agrees with nlohmann on `text`, else what differs.
inline std::string compare_price_fields_with_nlohmann(const std::string& text) {
  nautilus::PriceFields got;
  got.price = -1.0;  // the reader resets what it does not find
  got.symbol = "stale";
  const bool object = read_price_fields(text, got);
  const auto j = nlohmann::json::parse(text, nullptr, false);
  const bool want_object = !j.is_discarded() && j.is_object();
  if (object != want_object) return object ? "an object where nlohmann sees none" : "an object not read";
  if (!object) return "";
  auto finite = [&j](const char* key) -> std::optional<double> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number() || !std::isfinite(it->get<double>())) return std::nullopt;
    return it->get<double>();
  };
  auto same = [](const std::optional<double>& a, const std::optional<double>& b) {
    return a.has_value() == b.has_value() && (!a || (*a == *b && std::signbit(*a) == std::signbit(*b)));
  };
  if (!same(got.bid, finite("bid"))) return "bid differs";
  if (!same(got.ask, finite("ask"))) return "ask differs";
  if (!same(got.price, finite("price"))) return "price differs";
  if (!same(got.close, finite("close"))) return "close differs";
  std::optional<std::int64_t> ts;
  if (auto t = j.find("ts_ns"); t != j.end() && t->is_number_integer()) ts = t->get<std::int64_t>();
  if (got.ts_ns != ts) return "ts_ns differs";
  std::optional<std::string> symbol;
  if (auto s = j.find("symbol"); s != j.end() && s->is_string()) symbol = s->get<std::string>();
  if (got.symbol.has_value() != symbol.has_value()) return "symbol presence differs";
  if (symbol && std::string(*got.symbol) != *symbol) return "symbol differs";
  return "";
}

}  // namespace nautilus::testing
