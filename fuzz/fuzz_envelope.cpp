// Feeds arbitrary bytes to both envelope decoders. A decoded message must
// re-encode and decode to the same message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/codec.h"

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
