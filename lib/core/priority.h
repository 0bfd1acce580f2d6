// Message priorities, highest first: flash_crash > urgent (alias critical) >
// high > normal > low. The numeric value doubles as the lane index of a queue.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nautilus {

enum class Priority : std::uint8_t { kLow = 0, kNormal = 1, kHigh = 2, kUrgent = 3, kFlashCrash = 4 };

inline constexpr std::size_t kPriorityCount = 5;
inline constexpr std::array<Priority, kPriorityCount> kAllPriorities = {
    Priority::kFlashCrash, Priority::kUrgent, Priority::kHigh, Priority::kNormal, Priority::kLow};

constexpr std::size_t lane_of(Priority p) { return static_cast<std::size_t>(p); }
// high and above are never dropped and never batched (SPEC section 4).
constexpr bool is_protected(Priority p) { return p >= Priority::kHigh; }

std::string_view to_string(Priority p);
// Accepts the canonical names and the alias "critical" (= urgent), case-sensitive.
std::optional<Priority> parse_priority(std::string_view text);

}  // namespace nautilus
