#include "engines/trade_fields.h"

#include <array>

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

}  // namespace

bool read_trade_fields(std::string_view payload, TradeFields& out) {
  out.price.reset();
  out.size.reset();
  out.ts_ns.reset();
  out.symbol = {};
  std::array<JsonField, kKeys.size()> f;
  const JsonFieldsResult r = read_json_fields(payload, kKeys, f);
  const JsonField& symbol = f[0];
  if (r == JsonFieldsResult::kUnsupported || (symbol.kind == JsonField::Kind::kString && symbol.escaped)) {
    return read_slow(payload, out);
  }
  if (r != JsonFieldsResult::kOk) return false;
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
