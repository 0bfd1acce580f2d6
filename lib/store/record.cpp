#include "store/record.h"

namespace nautilus::store {

std::string_view symbol_of_topic(std::string_view topic) {
  constexpr std::string_view kPrefix = "marketdata.real_time.";
  if (!topic.starts_with(kPrefix)) return {};
  std::string_view rest = topic.substr(kPrefix.size());  // <type>.<symbol>
  auto dot = rest.find('.');
  if (dot == std::string_view::npos || dot + 1 >= rest.size()) return {};
  return rest.substr(dot + 1);
}

void to_record(const Message& m, Record& out) {
  out.ts_ns = m.timestamp_ns;
  out.topic.assign(m.topic);
  out.bus = m.bus();
  out.type = m.type;
  out.priority = m.priority;
  out.source.assign(m.source);
  out.origin_ns = m.origin_ns;
  out.correlation_id.assign(m.correlation_id);
  out.id.clear();
  if (!m.id.empty()) m.id.append_to(out.id);
  out.symbol.assign(symbol_of_topic(m.topic));
  out.payload.assign(m.payload);
}

Record to_record(const Message& m) {
  Record r;
  to_record(m, r);
  return r;
}

}  // namespace nautilus::store
