// What the engines take from a market data payload, read without a parse tree
// on the common path (core/json_fields.h), with nlohmann for what that reader
// declines (an escaped key or symbol, deep nesting); both paths give the same
// answer.
//   - TradeFields (VPIN, features): price, size (`size`, else `quantity`, else
//     `volume`: the first present), market time (`ts_ns`, else
//     `timestamp_ns`, when written as integers) and the payload's own symbol.
//   - PriceFields (risk, portfolio): the prices a quote, trade or bar carries
//     (bid, ask, price, close), `ts_ns` and the symbol, as their handlers read
//     them with nlohmann before: a number only if finite, the symbol if a
//     string (even empty: each engine decides what an empty one means).
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

struct PriceFields {
  std::optional<double> bid, ask, price, close;  // each present, a number and finite
  std::optional<std::int64_t> ts_ns;              // if an integer
  std::optional<std::string_view> symbol;         // if a string (into the payload or `storage`)
  std::string storage;                            // holds a symbol that had escapes to decode
};

// False when the payload is not a JSON object (or not JSON); `out` is reset first.
bool read_price_fields(std::string_view payload, PriceFields& out);

}  // namespace nautilus
