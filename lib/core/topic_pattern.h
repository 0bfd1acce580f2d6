// Glob patterns over dot-separated topics, as in Redis PSUBSCRIBE: `*` matches
// any run of characters (dots included), `?` exactly one character; everything
// else matches itself. Caching of match results per topic is the bus's job.
#pragma once

#include <string_view>

#include "core/status.h"

namespace nautilus {

bool glob_match(std::string_view pattern, std::string_view topic);
bool is_literal_pattern(std::string_view pattern);  // no * or ?
Status validate_pattern(std::string_view pattern);

}  // namespace nautilus
