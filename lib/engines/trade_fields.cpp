#include "engines/trade_fields.h"

#include <array>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/json_fields.h"

namespace nautilus {
namespace {

constexpr std::array<std::string_view, 7> kKeys = {"symbol", "price", "size", "quantity", "volume", "ts_ns", "timestamp_ns"};

// The same rules over a parse tree, for payloads the field reader declines.
bool read_slow(std::string_view payload, TradeFields& out) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  if (auto s = j.find("symbol"); s != j.end() && s->is_string() && !s->get_ref<const std::string&>().empty()) {
    out.storage = s->get<std::string>();
    out.symbol = out.storage;
  }
  if (auto p = j.find("price"); p != j.end() && p->is_number()) out.price = p->get<double>();
  for (const char* key : {"size", "quantity", "volume"}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (it->is_number()) out.size = it->get<double>();
    break;
  }
  for (const char* key : {"ts_ns", "timestamp_ns"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_number_integer()) {
      out.ts_ns = it->get<std::int64_t>();
      break;
    }
  }
  return true;
}

constexpr std::array<std::string_view, 6> kPriceKeys = {"symbol", "bid", "ask", "price", "close", "ts_ns"};

std::optional<double> finite(double v) { return std::isfinite(v) ? std::optional<double>(v) : std::nullopt; }

bool read_prices_slow(std::string_view payload, PriceFields& out) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  if (auto s = j.find("symbol"); s != j.end() && s->is_string()) {
    out.storage = s->get<std::string>();
    out.symbol = out.storage;
  }
  for (auto [key, field] : {std::pair{"bid", &PriceFields::bid}, std::pair{"ask", &PriceFields::ask},
                            std::pair{"price", &PriceFields::price}, std::pair{"close", &PriceFields::close}}) {
    if (auto it = j.find(key); it != j.end() && it->is_number()) out.*field = finite(it->get<double>());
  }
  if (auto t = j.find("ts_ns"); t != j.end() && t->is_number_integer()) out.ts_ns = t->get<std::int64_t>();
  return true;
}

// Which path answers: the field reader's values, nlohmann's tree (what the
// reader declines, and a symbol with escapes to decode), or none (not an object).
enum class Path { kFields, kTree, kNone };
Path path_for(JsonFieldsResult r, const JsonField& symbol) {
  if (r == JsonFieldsResult::kUnsupported || (symbol.kind == JsonField::Kind::kString && symbol.escaped)) {
    return Path::kTree;
  }
  return r == JsonFieldsResult::kOk ? Path::kFields : Path::kNone;
}

}  // namespace

bool read_price_fields(std::string_view payload, PriceFields& out) {
  out.bid.reset();
  out.ask.reset();
  out.price.reset();
  out.close.reset();
  out.ts_ns.reset();
  out.symbol.reset();
  std::array<JsonField, kPriceKeys.size()> f;
  const JsonField& symbol = f[0];
  switch (path_for(read_json_fields(payload, kPriceKeys, f), symbol)) {
    case Path::kTree: return read_prices_slow(payload, out);
    case Path::kNone: return false;
    case Path::kFields: break;
  }
  if (symbol.kind == JsonField::Kind::kString) out.symbol = symbol.text;
  std::optional<double>* prices[] = {&out.bid, &out.ask, &out.price, &out.close};
  for (std::size_t i = 0; i < 4; ++i) {
    if (f[i + 1].kind == JsonField::Kind::kNumber) *prices[i] = finite(f[i + 1].number);
  }
  if (f[5].kind == JsonField::Kind::kNumber && f[5].integer) out.ts_ns = f[5].as_int64;
  return true;
}

bool read_trade_fields(std::string_view payload, TradeFields& out) {
  out.price.reset();
  out.size.reset();
  out.ts_ns.reset();
  out.symbol = {};
  std::array<JsonField, kKeys.size()> f;
  const JsonField& symbol = f[0];
  switch (path_for(read_json_fields(payload, kKeys, f), symbol)) {
    case Path::kTree: return read_slow(payload, out);
    case Path::kNone: return false;
    case Path::kFields: break;
  }
  if (symbol.kind == JsonField::Kind::kString && !symbol.text.empty()) out.symbol = symbol.text;
  if (f[1].kind == JsonField::Kind::kNumber) out.price = f[1].number;
  for (std::size_t i = 2; i <= 4; ++i) {
    if (f[i].kind == JsonField::Kind::kMissing) continue;
    if (f[i].kind == JsonField::Kind::kNumber) out.size = f[i].number;
    break;
  }
  for (std::size_t i = 5; i <= 6; ++i) {
    if (f[i].kind == JsonField::Kind::kNumber && f[i].integer) {
      out.ts_ns = f[i].as_int64;
      break;
    }
  }
  return true;
}

}  // namespace nautilus
