// What the engines take from a trade's payload: price, size (`size`, else
// `quantity`, else `volume`: the first present), market time (`ts_ns`, else
// `timestamp_ns`, when written as integers) and the payload's own symbol.
// Read without a parse tree on the common path (core/json_fields.h), with
// nlohmann for what that reader declines; both paths give the same answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nautilus {

struct TradeFields {
  std::optional<double> price;        // present and a number
  std::optional<double> size;         // the first present of size/quantity/volume, if a number
  std::optional<std::int64_t> ts_ns;  // ts_ns, else timestamp_ns, if an integer
  std::string_view symbol;            // the payload's "symbol" if a non-empty string (into the payload or `storage`)
  std::string storage;                // holds a symbol that had escapes to decode
};

// False when the payload is not a JSON object (or not JSON); `out` is reset first.
bool read_trade_fields(std::string_view payload, TradeFields& out);

}  // namespace nautilus
