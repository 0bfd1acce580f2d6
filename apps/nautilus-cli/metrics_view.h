// How `engine status NAME` shows an engine's own metrics to a person: scalar
// metrics as "key: value" lines (nested objects flattened to dotted keys), and
// `metrics.symbols` (an object of per-symbol objects of scalars, the shape the
// vpin, features and ml engines report) as one table row per symbol with a
// column per field. `--json` bypasses this and prints the metrics as they are.
#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace nautilus::cli {

// A scalar for a table cell: integers as integers, other numbers to 6
// significant digits, booleans yes/no, null "-", strings as they are.
std::string metric_cell(const nlohmann::json& v);

void print_metrics(std::ostream& out, const nlohmann::json& metrics, bool color);

}  // namespace nautilus::cli
