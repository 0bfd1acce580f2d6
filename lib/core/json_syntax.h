// A JSON syntax check (RFC 8259, as strict as nlohmann's parser: UTF-8
// validated, surrogate pairs matched, numbers that overflow a double refused)
// that builds nothing and allocates nothing. Every payload on the data plane
// passes through it, so it must cost about a memchr, not a parse.
#pragma once

#include <cstddef>
#include <string_view>

namespace nautilus {

struct JsonSyntax {
  bool ok = false;
  bool too_deep = false;     // objects/arrays nested deeper than max_depth
  std::size_t error_pos = 0; // byte offset of the first offending byte
};

JsonSyntax check_json_syntax(std::string_view text, int max_depth);

}  // namespace nautilus
