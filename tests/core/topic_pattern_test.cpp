#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "core/topic_pattern.h"

using namespace nautilus;

namespace {

// The oracle: textbook dynamic programming over (pattern prefix, topic prefix).
bool oracle(const std::string& p, const std::string& t) {
  std::vector<std::vector<bool>> dp(p.size() + 1, std::vector<bool>(t.size() + 1, false));
  dp[0][0] = true;
  for (std::size_t i = 1; i <= p.size(); ++i) {
    for (std::size_t j = 0; j <= t.size(); ++j) {
      if (p[i - 1] == '*') {
        dp[i][j] = dp[i - 1][j] || (j > 0 && dp[i][j - 1]);
      } else if (j > 0) {
        dp[i][j] = dp[i - 1][j - 1] && (p[i - 1] == '?' || p[i - 1] == t[j - 1]);
      }
    }
  }
  return dp[p.size()][t.size()];
}

}  // namespace

TEST_CASE("glob patterns as the seeds use them", "[pattern]") {
  struct Case {
    const char* pattern;
    const char* topic;
    bool match;
  };
  const std::vector<Case> cases = {
      {"risk.alert.*", "risk.alert.var_breach", true},
      {"risk.alert.*", "risk.alert.a.b", true},  // * crosses dots
      {"risk.alert.*", "risk.alerts", false},
      {"marketdata.real_time.*", "marketdata.real_time.quote.AAPL", true},
      {"marketdata.real_time.*.AAPL", "marketdata.real_time.quote.AAPL", true},
      {"marketdata.real_time.*.AAPL", "marketdata.real_time.quote.MSFT", false},
      {"vpin.?", "vpin.x", true},
      {"vpin.?", "vpin.xy", false},
      {"*", "anything.at.all", true},
      {"exact.topic", "exact.topic", true},
      {"exact.topic", "exact.topics", false},
      {"*.*", "a", false},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "aXXcYYb", false},
  };
  for (const auto& c : cases) {
    INFO(c.pattern << " vs " << c.topic);
    CHECK(glob_match(c.pattern, c.topic) == c.match);
  }
}

TEST_CASE("glob matcher agrees with a brute-force oracle on random inputs", "[pattern]") {
  std::mt19937 rng(12345);
  const std::string topic_chars = "ab.";
  const std::string pattern_chars = "ab.*?";
  int matches = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string t, p;
    auto tl = rng() % 10, pl = rng() % 8;
    for (unsigned k = 0; k < tl; ++k) t += topic_chars[rng() % topic_chars.size()];
    for (unsigned k = 0; k < pl; ++k) p += pattern_chars[rng() % pattern_chars.size()];
    bool expected = oracle(p, t);
    matches += expected;
    INFO("pattern '" << p << "' topic '" << t << "'");
    REQUIRE(glob_match(p, t) == expected);
  }
  CHECK(matches > 1000);  // the sample exercises both outcomes
}

TEST_CASE("pattern validation", "[pattern]") {
  CHECK(validate_pattern("risk.*").is_ok());
  CHECK_FALSE(validate_pattern("").is_ok());
  CHECK_FALSE(validate_pattern("a b").is_ok());
  CHECK(is_literal_pattern("a.b"));
  CHECK_FALSE(is_literal_pattern("a.?"));
}
