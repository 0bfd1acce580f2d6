// End to end: `nautilus bench vpin-detector`, the real binary, briefly. The
// JSON report's structure and its internal consistency are checked, and that
// the default config's crash episodes are warned; the false-alarm rate and
// delays themselves are measured (docs/benchmarks.md), not tested here.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace {

const std::string kCli = std::string(NAUTILUS_BINARY_DIR) + "/apps/nautilus-cli/nautilus";

struct Run {
  int rc = -1;
  std::string out;
};

Run run_cli(const std::string& args, bool with_stderr = false) {
  Run r;
  FILE* p = ::popen((kCli + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace

TEST_CASE("bench vpin-detector: a JSON report whose figures add up", "[e2e][bench][vpin]") {
  // 8 calm minutes: past the default warm-up (300 one-second buckets).
  Run r = run_cli("--json bench vpin-detector --runs 2 --calm-minutes 8 --seed 5");
  INFO(r.out);
  REQUIRE((r.rc == 0 || r.rc == 1));
  const json j = json::parse(r.out);
  CHECK(j["scenario"] == "vpin-detector");
  CHECK(j["runs"] == 2);
  CHECK(j["interrupted"] == false);
  REQUIRE(j["symbols"].is_array());
  const auto symbols = j["symbols"].size();
  CHECK(symbols == 5);
  // The engine defaults are what ran.
  CHECK(j["vpin"]["bar_seconds"] == 1.0);
  CHECK(j["vpin"]["persistence_buckets"].get<int>() >= 1);
  CHECK(j["vpin"].contains("vpin_floor"));
  CHECK(j["vpin"].contains("warmup_buckets"));

  const auto& calm = j["calm"];
  CHECK(calm["symbol_hours"].get<double>() == Approx(2 * 5 * 8.0 / 60.0).epsilon(0.01));
  CHECK(calm["run_hours"].get<double>() == Approx(2 * 8.0 / 60.0));
  const auto false_warnings = calm["false_warnings"].get<std::uint64_t>();
  CHECK(calm["false_warnings_per_symbol_hour"].get<double>() ==
        Approx(static_cast<double>(false_warnings) / calm["symbol_hours"].get<double>()));
  CHECK(calm["runs_with_false_warning"].get<int>() <= 2);
  // The gating only removes warnings: never more than the CDF alone gives.
  CHECK(calm["ungated_false_warnings"].get<std::uint64_t>() >= false_warnings);
  CHECK(calm["vpin_max"].get<double>() > 0.0);
  CHECK(calm["vpin_max"].get<double>() <= 1.0);

  const auto& crash = j["crash"];
  CHECK(crash["episodes"] == 2 * symbols);
  CHECK(crash["caught"].get<int>() + crash["missed"].get<int>() == crash["episodes"].get<int>());
  CHECK(crash["within_goal"].get<int>() <= crash["caught"].get<int>());
  CHECK(crash["goal_s"] == 5.0);
  // A -10% crash on 5x volume is caught by the defaults (when, is measured).
  CHECK(crash["caught"] == crash["episodes"]);
  const auto& d = crash["delay_s"];
  REQUIRE(d["p50"].is_number());
  CHECK(d["p50"].get<double>() >= 0.0);
  CHECK(d["p50"].get<double>() <= d["p90"].get<double>());
  CHECK(d["p90"].get<double>() <= d["max"].get<double>());
  CHECK(d["max"].get<double>() <= crash["watch_s"].get<double>());
  REQUIRE(j["episodes"].size() == crash["episodes"].get<std::size_t>());
  for (const auto& e : j["episodes"]) {
    CHECK(e["delay_s"].is_number());
    CHECK(e["vpin"].get<double>() >= j["vpin"]["vpin_floor"].get<double>());
    CHECK(e["cdf"].get<double>() >= j["vpin"]["cdf_threshold"].get<double>());
  }

  const bool pass = j["goals"]["pass"].get<bool>();
  CHECK(pass == (j["goals"]["no_false_halt_in_calm_runs"].get<bool>() &&
                 j["goals"]["every_episode_within_goal"].get<bool>()));
  CHECK(j["goals"]["no_false_halt_in_calm_runs"] == (calm["runs_with_false_warning"] == 0));
  CHECK(j["goals"]["every_episode_within_goal"] == (crash["within_goal"] == crash["episodes"]));
  CHECK(r.rc == (pass ? 0 : 1));  // the exit code follows the goals
  // On feed time, not wall time: faster than real time.
  CHECK(j["feed_seconds"].get<double>() > j["elapsed_s"].get<double>());
}

TEST_CASE("bench vpin-detector: a bad --vpin section is a usage error naming the key", "[e2e][bench][vpin]") {
  Run r = run_cli("--json bench vpin-detector --runs 1 --calm-minutes 1 --vpin '{\"cdf_threshold\": 1.5}'", true);
  CHECK(r.rc == 2);
  CHECK(r.out.find("cdf_threshold: must be between 0 and 1 (got 1.5)") != std::string::npos);
  Run table = run_cli("bench vpin-detector --runs 1 --calm-minutes 6 --seed 9");
  CHECK((table.rc == 0 || table.rc == 1));
  CHECK(table.out.find("onset -> warning") != std::string::npos);
  CHECK(table.out.find("false warnings") != std::string::npos);
}
