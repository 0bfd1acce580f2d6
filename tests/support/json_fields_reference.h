// The field reader's oracle: what nlohmann::json::parse makes of a text,
// compared field by field with read_json_fields. Shared by the unit test and
// the fuzzer so both hold the reader to the same definition.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/json_fields.h"

namespace nautilus::testing {

// The trade's fields (VPIN, features) and the quote's and bar's (risk, portfolio).
inline constexpr std::array<std::string_view, 8> kJsonFieldKeys = {"symbol", "price", "size", "ts_ns",
                                                                   "side",   "bid",   "ask",  "close"};

// What nlohmann makes of `text`, in the reader's terms; "" when they agree,
// else what differs. kUnsupported agrees with anything nlohmann accepts.
inline std::string compare_json_fields_with_nlohmann(const std::string& text) {
  std::array<nautilus::JsonField, kJsonFieldKeys.size()> got;
  const nautilus::JsonFieldsResult r = read_json_fields(text, kJsonFieldKeys, got);
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (r == nautilus::JsonFieldsResult::kUnsupported) return "";
  if (j.is_discarded()) return r == nautilus::JsonFieldsResult::kInvalid ? "" : "accepted what nlohmann refuses";
  if (!j.is_object()) return r == nautilus::JsonFieldsResult::kNotObject ? "" : "not an object, not said";
  if (r != nautilus::JsonFieldsResult::kOk) return "an object refused";
  for (std::size_t i = 0; i < kJsonFieldKeys.size(); ++i) {
    const std::string key(kJsonFieldKeys[i]);
    const nautilus::JsonField& f = got[i];
    auto it = j.find(key);
    if (it == j.end()) {
      if (f.kind != nautilus::JsonField::Kind::kMissing) return key + ": found, absent for nlohmann";
    } else if (it->is_number()) {
      if (f.kind != nautilus::JsonField::Kind::kNumber) return key + ": not read as a number";
      if (f.number != it->get<double>()) return key + ": number differs";
      if (std::signbit(f.number) != std::signbit(it->get<double>())) return key + ": sign of zero differs";
      if (f.integer != it->is_number_integer()) return key + ": integer-ness differs";
      if (f.integer && f.as_int64 != it->get<std::int64_t>()) return key + ": int64 differs";
    } else if (it->is_string()) {
      if (f.kind != nautilus::JsonField::Kind::kString) return key + ": not read as a string";
      if (!f.escaped && std::string(f.text) != it->get<std::string>()) return key + ": string differs";
      if (f.escaped && f.text.find('\\') == std::string_view::npos) return key + ": escaped without a backslash";
    } else if (f.kind != nautilus::JsonField::Kind::kOther) {
      return key + ": other kind not said";
    }
  }
  return "";
}

}  // namespace nautilus::testing
