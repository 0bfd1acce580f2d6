#include "core/histogram_json.h"

namespace nautilus {

nlohmann::json latency_summary_json(const HistogramSnapshot& h) {
  return {{"count", h.count()},
          {"p50_ns", h.percentile(0.50)},
          {"p90_ns", h.percentile(0.90)},
          {"p99_ns", h.percentile(0.99)},
          {"p999_ns", h.percentile(0.999)},
          {"max_ns", h.max()},
          {"mean_ns", static_cast<std::uint64_t>(h.mean())}};
}

}  // namespace nautilus
