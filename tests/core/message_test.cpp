#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "core/id_generator.h"
#include "core/message.h"
#include "core/message_pool.h"
#include "core/message_type.h"
#include "core/priority.h"

using namespace nautilus;

TEST_CASE("priorities parse, with critical as an alias of urgent", "[priority]") {
  CHECK(parse_priority("critical") == Priority::kUrgent);
  CHECK(parse_priority("flash_crash") == Priority::kFlashCrash);
  CHECK_FALSE(parse_priority("CRITICAL").has_value());
  CHECK_FALSE(parse_priority("").has_value());
  for (Priority p : kAllPriorities) CHECK(parse_priority(to_string(p)) == p);
  CHECK(Priority::kFlashCrash > Priority::kUrgent);
  CHECK(is_protected(Priority::kHigh));
  CHECK_FALSE(is_protected(Priority::kNormal));
}

TEST_CASE("every message type has a name and a bus", "[message_type]") {
  const std::set<std::string> marketdata = {"market_data", "tick",        "quote",    "trade", "bar",
                                            "level2",      "fundamental", "economic", "news"};
  REQUIRE(all_message_types().size() == kMessageTypeCount);
  for (MessageType t : all_message_types()) {
    auto name = std::string(to_string(t));
    INFO(name);
    CHECK(parse_message_type(name) == t);
    CHECK((bus_of(t) == BusKind::kMarketData) == (marketdata.count(name) == 1));
  }
  CHECK(bus_of(MessageType::kFlashCrashWarning) == BusKind::kEngine);
  CHECK_FALSE(parse_message_type("bogus").has_value());
  CHECK(parse_bus_kind("engine") == BusKind::kEngine);
  CHECK_FALSE(parse_bus_kind("both").has_value());
}

TEST_CASE("ids are unique and time-ordered across threads, in text too", "[id]") {
  SimulatedClock clock(1'700'000'000'000'000'000);  // a stalled clock: ids must still advance
  IdGenerator gen(clock, 42);
  std::vector<std::vector<MessageId>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&gen, &out] {
      for (int i = 0; i < 20000; ++i) out.push_back(gen.next());
    });
  }
  for (auto& t : threads) t.join();
  std::set<MessageId> all;
  for (auto& v : per_thread) {
    CHECK(std::is_sorted(v.begin(), v.end()));
    all.insert(v.begin(), v.end());
  }
  CHECK(all.size() == 80000);
  auto a = all.begin()->to_string();
  auto b = all.rbegin()->to_string();
  CHECK(a.size() == 32);
  CHECK(a < b);
  CHECK(MessageId::parse(a) == *all.begin());
  CHECK_FALSE(MessageId::parse("zz").has_value());
  CHECK_FALSE(MessageId::parse(std::string(32, 'g')).has_value());
  CHECK(gen.next().time > static_cast<std::uint64_t>(clock.now_ns()));
}

TEST_CASE("message pool reuses a message only after its readers let go", "[pool]") {
  MessagePool pool(2);
  auto a = pool.acquire();
  a->payload = std::string(200, 'x');
  a->correlation_id = "c";
  a->timestamp_ns = 5;
  MessagePtr reader = a;
  const Message* addr = a.get();
  a.reset();
  auto b = pool.acquire();  // slot 1: fresh
  CHECK(b.get() != addr);
  b.reset();
  auto c = pool.acquire();  // slot 0 is still held by `reader`
  CHECK(c.get() != addr);
  reader.reset();
  c.reset();
  std::shared_ptr<Message> d;
  for (int i = 0; i < 3 && (!d || d.get() != addr); ++i) d = pool.acquire();
  REQUIRE(d.get() == addr);
  CHECK(d->payload == "{}");
  CHECK(d->payload.capacity() >= 200);  // buffers kept
  CHECK(d->correlation_id.empty());
  CHECK(d->timestamp_ns == 0);
  CHECK(d->id.empty());
  CHECK(pool.reuses() >= 1);
}
