// The one JSON shape of a latency summary, shared by /api/v1/stats, engine
// health and `nautilus top`: count, p50/p90/p99/p99.9, max and mean, in ns.
#pragma once

#include <nlohmann/json.hpp>

#include "core/histogram.h"

namespace nautilus {

nlohmann::json latency_summary_json(const HistogramSnapshot& h);

}  // namespace nautilus
