// Feeds arbitrary bytes to both envelope decoders. A decoded message must
// re-encode and decode to the same message. The allocation-free JSON syntax
// check must agree with nlohmann's parser on every input it does not refuse
// for depth, and so must the allocation-free field reader (read_json_fields)
// and the price reader risk and the portfolio use on it (read_price_fields).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/codec.h"
#include "core/json_syntax.h"
#include "support/json_fields_reference.h"
#include "support/price_fields_reference.h"

using namespace nautilus;

namespace {

bool same(const Message& a, const Message& b) {
  return a.id == b.id && a.topic == b.topic && a.type == b.type && a.priority == b.priority &&
         a.source == b.source && a.timestamp_ns == b.timestamp_ns && a.origin_ns == b.origin_ns &&
         a.correlation_id == b.correlation_id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  JsonSyntax syntax = check_json_syntax(in, 200);
  // nlohmann stops reading at a NUL byte (and accepts "0\n\0junk"); the check
  // refuses NUL outside strings, so such inputs are left out of the comparison.
  if (!syntax.too_deep && in.find('\0') == std::string_view::npos && syntax.ok != nlohmann::json::accept(in)) {
    std::abort();
  }
  if (!nautilus::testing::compare_json_fields_with_nlohmann(std::string(in)).empty()) std::abort();
  if (!nautilus::testing::compare_price_fields_with_nlohmann(std::string(in)).empty()) std::abort();
  for (Encoding e : {Encoding::kJson, Encoding::kMsgpack}) {
    Message m;
    if (!decode(e, in, m)) continue;
    std::string out;
    (void)encode(e, m, out);
    Message again;
    if (!decode(e, out, again) || !same(m, again)) std::abort();
  }
  return 0;
}
