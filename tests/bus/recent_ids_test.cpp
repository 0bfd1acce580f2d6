// The Redis consumer's duplicate filter against a reference model: it must
// remember exactly the last `capacity` distinct ids, through many evictions
// (which shift probe runs back in the open-addressing table).
#include <catch2/catch.hpp>

#include <deque>
#include <random>
#include <set>

#include "bus/recent_ids.h"

using nautilus::MessageId;
using nautilus::redis::RecentIds;

TEST_CASE("RecentIds remembers exactly the last N distinct ids", "[bus][redis-ids]") {
  for (std::size_t capacity : {1u, 7u, 64u, 1000u}) {
    INFO("capacity " << capacity);
    RecentIds ids(capacity);
    std::deque<MessageId> order;
    std::set<MessageId> model;
    std::mt19937_64 rng(capacity);
    // A small id space so re-inserts, hits and colliding probe runs are common.
    std::uniform_int_distribution<std::uint64_t> pick(1, capacity * 3);
    for (int step = 0; step < 20000; ++step) {
      MessageId id{pick(rng), pick(rng) % 4};
      REQUIRE(ids.contains(id) == (model.count(id) == 1));
      if (step % 3 == 0) continue;  // lookups only
      ids.insert(id);
      if (model.insert(id).second) {
        order.push_back(id);
        if (order.size() > capacity) {
          model.erase(order.front());
          order.pop_front();
        }
      }
    }
    for (const auto& id : order) CHECK(ids.contains(id));
  }
}

TEST_CASE("RecentIds ignores the empty id", "[bus][redis-ids]") {
  RecentIds ids(4);
  ids.insert(MessageId{});
  CHECK_FALSE(ids.contains(MessageId{}));
}
