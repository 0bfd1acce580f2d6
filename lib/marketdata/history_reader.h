// Where the hub looks for history before it asks a source: the daemon's
// recorded history store (apps/nautilusd adapts lib/store to this), so a
// chart or a warm-up asks the providers only for what was never recorded.
#pragma once

#include <string>
#include <vector>

#include "marketdata/source.h"

namespace nautilus::md {

class HistoryReader {
 public:
  virtual ~HistoryReader() = default;
  virtual std::string describe() const = 0;
  // The recorded points of the request, oldest first (at most request.limit,
  // the newest ones). Throws std::exception when the store fails.
  virtual std::vector<DataPtr> read(const HistoryRequest& request) = 0;
};

}  // namespace nautilus::md
