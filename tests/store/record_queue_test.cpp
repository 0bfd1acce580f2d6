#include <catch2/catch.hpp>

#include "store/record_queue.h"

using namespace nautilus;
using namespace nautilus::store;

namespace {

MessagePtr msg(Priority p, int n) {
  return make_message("t.n" + std::to_string(n), MessageType::kRiskAlert, "{}", p);
}

std::string names(const std::vector<MessagePtr>& v) {
  std::string out;
  for (const auto& m : v) out += (out.empty() ? "" : " ") + m->topic.substr(2) + ":" + std::string(to_string(m->priority));
  return out;
}

}  // namespace

TEST_CASE("record queue: when full, the lowest priority goes first", "[store][queue]") {
  using P = Priority;
  struct Case {
    const char* name;
    std::vector<P> pushes;   // pushed in order, n = index
    std::size_t capacity;
    std::string kept;        // pop order: highest first, oldest first
    std::array<std::uint64_t, kPriorityCount> dropped;  // by lane (low .. flash_crash)
  };
  std::vector<Case> cases = {
      {"room for all", {P::kLow, P::kHigh}, 4, "n1:high n0:low", {0, 0, 0, 0, 0}},
      {"full of low: the oldest low goes", {P::kLow, P::kLow, P::kLow}, 2, "n1:low n2:low", {1, 0, 0, 0, 0}},
      {"a high evicts a low", {P::kLow, P::kNormal, P::kHigh}, 2, "n2:high n1:normal", {1, 0, 0, 0, 0}},
      {"a low is refused when all queued outrank it", {P::kHigh, P::kUrgent, P::kLow}, 2, "n1:urgent n0:high",
       {1, 0, 0, 0, 0}},
      {"equal priorities: the oldest goes", {P::kHigh, P::kHigh, P::kHigh}, 2, "n1:high n2:high", {0, 0, 1, 0, 0}},
      {"flash_crash evicts normal before high", {P::kHigh, P::kNormal, P::kFlashCrash}, 2, "n2:flash_crash n0:high",
       {0, 1, 0, 0, 0}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    RecordQueue q(c.capacity);
    for (std::size_t i = 0; i < c.pushes.size(); ++i) q.push(msg(c.pushes[i], static_cast<int>(i)));
    CHECK(q.dropped() == c.dropped);
    std::vector<MessagePtr> out;
    std::size_t popped = q.pop(out, 100);
    CHECK(popped == out.size());
    CHECK(names(out) == c.kept);
    CHECK(q.size() == 0);
  }
}

TEST_CASE("record queue: pop takes at most max and keeps the rest in order", "[store][queue]") {
  RecordQueue q(10);
  for (int i = 0; i < 6; ++i) q.push(msg(Priority::kNormal, i));
  std::vector<MessagePtr> out;
  CHECK(q.pop(out, 4) == 4);
  CHECK(q.size() == 2);
  CHECK(q.pop(out, 4) == 2);
  CHECK(names(out) == "n0:normal n1:normal n2:normal n3:normal n4:normal n5:normal");
  CHECK(q.dropped_total() == 0);
}
