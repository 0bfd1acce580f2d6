// Reading an engine's JSON payload fields without exceptions: a number only if
// it is one and finite, a string only if it is one. What every engine's
// handlers need before they trust an input (bad input is counted, never thrown).
#pragma once

#include <cmath>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace nautilus::payload {

inline std::optional<double> finite_number(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

inline std::string text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace nautilus::payload
