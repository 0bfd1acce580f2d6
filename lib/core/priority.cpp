#include "core/priority.h"

namespace nautilus {

std::string_view to_string(Priority p) {
  switch (p) {
    case Priority::kLow: return "low";
    case Priority::kNormal: return "normal";
    case Priority::kHigh: return "high";
    case Priority::kUrgent: return "urgent";
    case Priority::kFlashCrash: return "flash_crash";
  }
  return "normal";
}

std::optional<Priority> parse_priority(std::string_view text) {
  if (text == "low") return Priority::kLow;
  if (text == "normal") return Priority::kNormal;
  if (text == "high") return Priority::kHigh;
  if (text == "urgent" || text == "critical") return Priority::kUrgent;
  if (text == "flash_crash") return Priority::kFlashCrash;
  return std::nullopt;
}

}  // namespace nautilus
