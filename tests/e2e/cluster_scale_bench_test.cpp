// `nautilus bench scale` (the real CLI) against a real redis-server: a short
// paced run with 1, 2 and 3 consumers of one group. Only counts are asserted,
// never a rate: every acknowledged message delivered exactly once across the
// group, each consumer of a group took a share, and the JSON says so.
#include <catch2/catch.hpp>

#include <filesystem>
#include <numeric>

#include <nlohmann/json.hpp>

#include "bus/redis_fixture.h"
#include "support/daemon_process.h"

namespace nautilus::test {

TEST_CASE("bench scale: 1, 2 and 3 consumers of one group on Redis, each message delivered once", "[e2e][cluster][redis][bench]") {
  nautilus::testing::RedisServer redis;
  const std::string dir = make_temp_dir();
  constexpr int kCount = 3000;
  // Paced, with a little handler work, so every consumer of a group is
  // handed entries while the others are busy.
  auto r = run_command(kCliBinary + " --json bench scale --backend " + redis.url() +
                           " --consumers 1,2,3 --count " + std::to_string(kCount) + " --rate 10000 --work-us 50 --size 64",
                       dir);
  INFO(r.out << r.err);
  REQUIRE(r.rc == 0);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["scenario"] == "scale");
  REQUIRE(j["runs"].size() == 3);
  int expected_consumers = 1;
  for (const auto& run : j["runs"]) {
    INFO(run.dump());
    CHECK(run["consumers"] == expected_consumers);
    CHECK(run["published"] == kCount);
    CHECK(run["refused"] == 0);
    CHECK(run["confirmed"] == true);
    CHECK(run["delivered"] == kCount);
    CHECK(run["lost"] == 0);
    CHECK(run["duplicated"] == 0);
    CHECK(run["malformed"] == 0);
    const auto shares = run["per_consumer"].get<std::vector<std::uint64_t>>();
    REQUIRE(shares.size() == static_cast<std::size_t>(expected_consumers));
    // One group: the consumers' deliveries add up to the messages, once each.
    CHECK(std::accumulate(shares.begin(), shares.end(), std::uint64_t{0}) == static_cast<std::uint64_t>(kCount));
    for (auto n : shares) CHECK(n > 0);
    CHECK(run["msgs_per_s"].get<double>() > 0);
    ++expected_consumers;
  }
  REQUIRE(j["summary"].size() == 3);
  CHECK(j["summary"][2]["consumers"] == 3);

  // A bus without consumer groups is refused as a usage error.
  auto inproc = run_command(kCliBinary + " bench scale --backend inproc://", dir);
  CHECK(inproc.rc == 2);
  CHECK(inproc.err.find("consumer group") != std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace nautilus::test
